import type { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { IdentityContext } from './identity.context.js';
import { type Actor, permissionList } from './identity.policy.js';
import * as repo from './identity.repository.js';
import type { MeResponse } from './identity.schema.js';

type Profile = Omit<z.output<typeof MeResponse>, 'role' | 'permissions' | 'authenticatedWith'>;

const CHANNEL = 'profile-invalidated';
const TTL_MS = 60_000;

/**
 * Per-process cache of what `/me` shows (name, organisation, teams). Changes evict the
 * entry in every process through pub/sub; the TTL bounds staleness if a message is lost.
 */
export class ProfileCache {
  private readonly entries = new Map<string, { profile: Profile; expiresAt: number }>();

  constructor(private readonly pubsub: PubSub) {}

  async start(): Promise<void> {
    await this.pubsub.subscribe(CHANNEL, (userId) => this.entries.delete(userId));
  }

  get(userId: string): Profile | undefined {
    const entry = this.entries.get(userId);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.profile;
    this.entries.delete(userId);
    return undefined;
  }

  set(userId: string, profile: Profile): void {
    if (this.entries.size > 50_000) this.entries.clear();
    this.entries.set(userId, { profile, expiresAt: Date.now() + TTL_MS });
  }

  async invalidate(...userIds: string[]): Promise<void> {
    for (const userId of userIds) {
      this.entries.delete(userId);
      await this.pubsub.publish(CHANNEL, userId);
    }
  }
}

/** `GET /me`: who the caller is, in which organisation, with which permissions. */
export class MeService {
  constructor(
    private readonly context: IdentityContext,
    private readonly profiles: ProfileCache,
  ) {}

  async me(actor: Actor): Promise<z.output<typeof MeResponse>> {
    let profile = this.profiles.get(actor.userId);
    if (!profile) {
      profile = await this.context.database.withOrg(actor.orgId, async (tx) => {
        const user = await repo.findUser(tx, actor.orgId, actor.userId);
        const org = await repo.findOrganization(tx, actor.orgId);
        const teams = await repo.teamsOfUser(tx, actor.orgId, actor.userId);
        if (!user?.isActive || !org) throw new AppError('TOKEN_REVOKED', 'The account is no longer active');
        return {
          user: { id: user.id, email: user.email, name: user.name },
          organization: { id: org.id, name: org.name, slug: org.slug },
          teams,
        };
      });
      this.profiles.set(actor.userId, profile);
    }
    return {
      ...profile,
      role: actor.role,
      permissions: permissionList(actor.permissions),
      authenticatedWith: actor.apiTokenId ? 'api_token' : 'session',
    };
  }
}
