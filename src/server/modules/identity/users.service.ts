import type { z } from 'zod';
import type { BatchStatement, Executor } from '../../platform/db/database.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type PageQuery, paginate, toOffset } from '../../platform/http/pagination.js';
import type { ApiTokenAuthenticator } from './api-tokens.service.js';
import { type IdentityContext, originOf, requireKnownIds, sameIds } from './identity.context.js';
import { UserCreated, UserDeactivated, UserReactivated, UserUpdated } from './identity.events.js';
import { type Actor, hasPermission, type Role } from './identity.policy.js';
import { presentUser } from './identity.presenter.js';
import * as repo from './identity.repository.js';
import type { CreateUserBody, UpdateUserBody, UserListQuery } from './identity.schema.js';
import type { ProfileCache } from './me.service.js';
import { hashPassword } from './passwords.js';

function assertAdmin(actor: Actor): void {
  if (!hasPermission(actor, 'admin:users'))
    throw new AppError('FORBIDDEN', 'Managing users needs admin:users');
}

/** Admin use cases on users: list, create, update role/teams/password, (de)activate. */
export class UsersService {
  constructor(
    private readonly context: IdentityContext,
    private readonly apiTokens: ApiTokenAuthenticator,
    private readonly profiles: ProfileCache,
  ) {}

  async list(actor: Actor, query: z.output<typeof UserListQuery>, url: string) {
    assertAdmin(actor);
    const page: PageQuery = { page: query.page, limit: query.limit };
    const filter = {
      role: query.role,
      active: query.active === undefined ? undefined : query.active === 'true',
      teamId: query.teamId,
      q: query.q,
    };
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const { rows, total } = await repo.listUsers(tx, actor.orgId, filter, toOffset(page));
      const teamIds = await repo.teamIdsOfUsers(
        tx,
        actor.orgId,
        rows.map((row) => row.id),
      );
      const data = rows.map((row) => presentUser(row, teamIds.get(row.id) ?? []));
      return paginate(data, total, page, url);
    });
  }

  async get(actor: Actor, userId: string) {
    assertAdmin(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const user = await repo.findUser(tx, actor.orgId, userId);
      if (!user) throw notFound('User');
      const teamIds = await repo.teamIdsOfUsers(tx, actor.orgId, [user.id]);
      return presentUser(user, teamIds.get(user.id) ?? []);
    });
  }

  async create(actor: Actor, input: z.output<typeof CreateUserBody>) {
    assertAdmin(actor);
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.context.database.withOrg(actor.orgId, async (tx) => {
        if (await repo.findUserByEmail(tx, actor.orgId, input.email)) {
          throw new AppError('EMAIL_TAKEN', `A user with e-mail ${input.email} exists`);
        }
        const teamIds = await this.checkTeams(tx, actor.orgId, input.teamIds);
        const user = await repo.insertUser(tx, {
          orgId: actor.orgId,
          email: input.email,
          name: input.name,
          role: input.role,
          passwordHash,
          company: input.company ?? null,
          isVip: input.isVip,
        });
        await repo.addMemberships(
          tx,
          actor.orgId,
          teamIds.map((teamId) => ({ teamId, userId: user.id })),
        );
        await recordEvent(tx, UserCreated, originOf(actor), user.id, {
          email: user.email,
          role: user.role,
          teamIds,
        });
        return presentUser(user, teamIds);
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw new AppError('EMAIL_TAKEN', `A user with e-mail ${input.email} exists`);
      throw error;
    }
  }

  async update(actor: Actor, userId: string, input: z.output<typeof UpdateUserBody>) {
    assertAdmin(actor);
    const passwordHash = input.password ? await hashPassword(input.password) : undefined;
    const result = await this.context.database.withOrg(actor.orgId, async (tx) => {
      const user = await repo.findUser(tx, actor.orgId, userId);
      if (!user) throw notFound('User');
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (input.role && input.role !== user.role) {
        if (user.role === 'admin' && user.isActive) await this.keepAnAdmin(tx, actor.orgId);
        changes.role = { from: user.role, to: input.role };
      }
      if (input.name && input.name !== user.name) changes.name = { from: user.name, to: input.name };
      if (passwordHash) changes.password = { from: '(hidden)', to: '(changed)' };
      if (input.company !== undefined && input.company !== user.company)
        changes.company = { from: user.company, to: input.company };
      if (input.isVip !== undefined && input.isVip !== user.isVip)
        changes.isVip = { from: user.isVip, to: input.isVip };
      const updated =
        (await repo.updateUser(tx, actor.orgId, userId, {
          ...(input.name ? { name: input.name } : {}),
          ...(input.role ? { role: input.role } : {}),
          ...(passwordHash ? { passwordHash } : {}),
          ...(input.company !== undefined ? { company: input.company } : {}),
          ...(input.isVip !== undefined ? { isVip: input.isVip } : {}),
        })) ?? user;
      const before = (await repo.teamIdsOfUsers(tx, actor.orgId, [userId])).get(userId) ?? [];
      let teamIds = before;
      if (input.teamIds) {
        teamIds = await this.checkTeams(tx, actor.orgId, input.teamIds);
        await repo.removeUserMemberships(tx, actor.orgId, userId, teamIds);
        await repo.addMemberships(
          tx,
          actor.orgId,
          teamIds.map((teamId) => ({ teamId, userId })),
        );
        if (!sameIds(before, teamIds)) changes.teamIds = { from: before, to: teamIds };
      }
      if (Object.keys(changes).length > 0) {
        await recordEvent(tx, UserUpdated, originOf(actor), userId, { changes });
      }
      return { user: presentUser(updated, teamIds), revoke: Boolean(changes.role || changes.password) };
    });
    // Tokens carry the role; a new role or password must not leave old tokens working.
    if (result.revoke) await this.revokeEverything(actor.orgId, userId);
    await this.profiles.invalidate(userId);
    return result.user;
  }

  async deactivate(actor: Actor, userId: string) {
    assertAdmin(actor);
    if (userId === actor.userId) throw new AppError('UNPROCESSABLE', 'You cannot deactivate yourself');
    const user = await this.context.database.withOrg(actor.orgId, async (tx) => {
      const existing = await repo.findUser(tx, actor.orgId, userId);
      if (!existing) throw notFound('User');
      if (!existing.isActive) return existing;
      if (existing.role === 'admin') await this.keepAnAdmin(tx, actor.orgId);
      const updated = await repo.updateUser(tx, actor.orgId, userId, {
        isActive: false,
        deactivatedAt: new Date(),
      });
      await recordEvent(tx, UserDeactivated, originOf(actor), userId, { email: existing.email });
      return updated!;
    });
    await this.revokeEverything(actor.orgId, userId);
    await this.profiles.invalidate(userId);
    return this.get(actor, user.id);
  }

  async reactivate(actor: Actor, userId: string) {
    assertAdmin(actor);
    await this.context.database.withOrg(actor.orgId, async (tx) => {
      const existing = await repo.findUser(tx, actor.orgId, userId);
      if (!existing) throw notFound('User');
      if (existing.isActive) return;
      await repo.updateUser(tx, actor.orgId, userId, { isActive: true, deactivatedAt: null });
      await recordEvent(tx, UserReactivated, originOf(actor), userId, { email: existing.email });
    });
    await this.profiles.invalidate(userId);
    return this.get(actor, userId);
  }

  /** Refresh tokens, API tokens and live access tokens of the user stop working. */
  private async revokeEverything(orgId: string, userId: string): Promise<void> {
    const { database, revocations } = this.context;
    const tokenHashes = await database.withOrg(orgId, async (tx) => {
      await repo.revokeUserRefreshTokens(tx, orgId, userId);
      return repo.revokeUserApiTokens(tx, orgId, userId);
    });
    await revocations.revokeUserTokens(userId);
    await this.apiTokens.invalidate(tokenHashes);
  }

  private async keepAnAdmin(tx: Executor, orgId: string): Promise<void> {
    if ((await repo.countActiveAdmins(tx, orgId)) <= 1) {
      throw new AppError('LAST_ADMIN', 'The organisation must keep at least one active admin');
    }
  }

  private async checkTeams(tx: Executor, orgId: string, teamIds: string[]): Promise<string[]> {
    return requireKnownIds('teamIds', teamIds, await repo.existingTeamIds(tx, orgId, [...new Set(teamIds)]));
  }
}

/**
 * The organisation's user with this e-mail address, or a new requester without a password
 * (inbound mail from a stranger), in the caller's transaction. Race-safe: a concurrent
 * insert of the same address wins and its row is returned. `known` is the user as a batch
 * read it before the transaction (`senderStatement`; null: no such user then), which saves
 * the lookup here. Users are never deleted; one created since is found by the insert's
 * conflict and returned.
 */
export async function ensureRequester(
  tx: Executor,
  orgId: string,
  email: string,
  name: string,
  known?: repo.KnownUser | null,
): Promise<{ id: string; role: Role; isActive: boolean; created: boolean }> {
  const address = email.trim().toLowerCase();
  const existing = known === undefined ? await repo.findUserByEmail(tx, orgId, address) : known;
  if (existing) return { id: existing.id, role: existing.role, isActive: existing.isActive, created: false };
  const inserted = await repo.insertUserIfAbsent(tx, {
    orgId,
    email: address,
    name: name.trim().slice(0, 200) || address,
    role: 'requester',
    passwordHash: null,
  });
  if (!inserted) {
    const winner = (await repo.findUserByEmail(tx, orgId, address))!;
    return { id: winner.id, role: winner.role, isActive: winner.isActive, created: false };
  }
  await recordEvent(tx, UserCreated, { orgId, actorId: null }, inserted.id, {
    email: inserted.email,
    role: inserted.role,
    teamIds: [],
  });
  return { id: inserted.id, role: inserted.role, isActive: inserted.isActive, created: true };
}

/**
 * The batch statement (`Database.withOrgBatch`) that reads the user at a mail's sender
 * address ahead of the transaction that writes its ticket: the `known` of `ensureRequester`.
 */
export function senderStatement(orgId: string, email: string): BatchStatement<repo.KnownUser | null> {
  return repo.userAtStatement(orgId, email.trim().toLowerCase());
}
