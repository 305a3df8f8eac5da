import type { z } from 'zod';
import { recordEvent } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/app-error.js';
import type { AuthService } from './auth.service.js';
import type { ClientInfo, IdentityContext } from './identity.context.js';
import { OrganizationCreated, UserCreated } from './identity.events.js';
import { presentOrganization, presentUser } from './identity.presenter.js';
import * as repo from './identity.repository.js';
import type { SignupBody } from './identity.schema.js';
import { hashPassword } from './passwords.js';

/** Slug from a name: ASCII, lower case, dashes, at most 48 characters. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'org';
}

/** Organisation sign-up: the organisation, its first admin and a session, in one transaction. */
export class OrganizationsService {
  constructor(
    private readonly context: IdentityContext,
    private readonly auth: AuthService,
  ) {}

  async signup(input: z.output<typeof SignupBody>, client: ClientInfo) {
    if (!this.context.config.allowSignup)
      throw new AppError('SIGNUP_DISABLED', 'Sign-up is disabled on this server');
    const passwordHash = await hashPassword(input.adminPassword);
    await this.context.tokens.prepare();
    return this.context.database.transaction(async (tx) => {
      const slug = input.slug ?? (await this.freeSlug(tx, slugify(input.name)));
      if (input.slug && (await repo.slugExists(tx, input.slug))) {
        throw new AppError('NAME_TAKEN', `Organisation slug "${input.slug}" is taken`);
      }
      const org = await repo.insertOrganization(tx, { name: input.name, slug });
      const admin = await repo.insertUser(tx, {
        orgId: org.id,
        email: input.adminEmail,
        name: input.adminName ?? input.adminEmail.split('@')[0]!,
        role: 'admin',
        passwordHash,
      });
      const origin = { orgId: org.id, actorId: admin.id, requestId: client.requestId };
      await recordEvent(tx, OrganizationCreated, origin, org.id, {
        name: org.name,
        slug,
        adminUserId: admin.id,
      });
      await recordEvent(tx, UserCreated, origin, admin.id, {
        email: admin.email,
        role: admin.role,
        teamIds: [],
      });
      const tokens = await this.auth.startSession(tx, admin, client);
      return { ...tokens, organization: presentOrganization(org), user: presentUser(admin, []) };
    });
  }

  private async freeSlug(tx: Parameters<typeof repo.slugExists>[0], base: string): Promise<string> {
    if (!(await repo.slugExists(tx, base))) return base;
    for (let suffix = 2; suffix < 1000; suffix += 1) {
      const candidate = `${base}-${suffix}`;
      if (!(await repo.slugExists(tx, candidate))) return candidate;
    }
    throw new AppError('NAME_TAKEN', 'Could not find a free slug for this name; send one');
  }
}
