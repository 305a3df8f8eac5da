import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type PageQuery, paginate, toOffset } from '../../platform/http/pagination.js';
import { type IdentityContext, originOf, requireKnownIds, sameIds } from './identity.context.js';
import { TeamCreated, TeamDeleted, TeamUpdated } from './identity.events.js';
import { type Actor, hasPermission } from './identity.policy.js';
import { presentTeam } from './identity.presenter.js';
import * as repo from './identity.repository.js';
import type { CreateTeamBody, UpdateTeamBody } from './identity.schema.js';
import type { ProfileCache } from './me.service.js';

function assertAdmin(actor: Actor): void {
  if (!hasPermission(actor, 'admin:teams'))
    throw new AppError('FORBIDDEN', 'Managing teams needs admin:teams');
}

const nameTaken = (name: string) => new AppError('NAME_TAKEN', `A team named "${name}" exists`);

/** Admin use cases on teams and their members. */
export class TeamsService {
  constructor(
    private readonly context: IdentityContext,
    private readonly profiles: ProfileCache,
  ) {}

  async list(actor: Actor, page: PageQuery, url: string) {
    assertAdmin(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const { rows, total } = await repo.listTeams(tx, actor.orgId, toOffset(page));
      return paginate(
        rows.map((row) => presentTeam(row.team, row.memberCount)),
        total,
        page,
        url,
      );
    });
  }

  async get(actor: Actor, teamId: string) {
    assertAdmin(actor);
    return this.context.database.withOrg(actor.orgId, (tx) => this.detail(tx, actor.orgId, teamId));
  }

  async create(actor: Actor, input: z.output<typeof CreateTeamBody>) {
    assertAdmin(actor);
    try {
      const result = await this.context.database.withOrg(actor.orgId, async (tx) => {
        if (await repo.findTeamByName(tx, actor.orgId, input.name)) throw nameTaken(input.name);
        const memberIds = await this.checkUsers(tx, actor.orgId, input.memberIds);
        const team = await repo.insertTeam(tx, {
          orgId: actor.orgId,
          name: input.name,
          description: input.description,
        });
        await repo.addMemberships(
          tx,
          actor.orgId,
          memberIds.map((userId) => ({ teamId: team.id, userId })),
        );
        await recordEvent(tx, TeamCreated, originOf(actor), team.id, { name: team.name, memberIds });
        return { detail: await this.detail(tx, actor.orgId, team.id), memberIds };
      });
      await this.profiles.invalidate(...result.memberIds);
      return result.detail;
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name);
      throw error;
    }
  }

  async update(actor: Actor, teamId: string, input: z.output<typeof UpdateTeamBody>) {
    assertAdmin(actor);
    try {
      const result = await this.context.database.withOrg(actor.orgId, async (tx) => {
        const team = await repo.findTeam(tx, actor.orgId, teamId);
        if (!team) throw notFound('Team');
        const changes: Record<string, { from: unknown; to: unknown }> = {};
        if (input.name !== undefined && input.name !== team.name) {
          const clash = await repo.findTeamByName(tx, actor.orgId, input.name);
          if (clash && clash.id !== teamId) throw nameTaken(input.name);
          changes.name = { from: team.name, to: input.name };
        }
        if (input.description !== undefined && input.description !== team.description) {
          changes.description = { from: team.description, to: input.description };
        }
        await repo.updateTeam(tx, actor.orgId, teamId, {
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
        });
        const before = (await repo.membersOfTeam(tx, actor.orgId, teamId)).map((member) => member.id);
        let memberIds = before;
        if (input.memberIds) {
          memberIds = await this.checkUsers(tx, actor.orgId, input.memberIds);
          await repo.removeTeamMemberships(tx, actor.orgId, teamId, memberIds);
          await repo.addMemberships(
            tx,
            actor.orgId,
            memberIds.map((userId) => ({ teamId, userId })),
          );
          if (!sameIds(before, memberIds)) changes.memberIds = { from: before, to: memberIds };
        }
        if (Object.keys(changes).length > 0)
          await recordEvent(tx, TeamUpdated, originOf(actor), teamId, { changes });
        return {
          detail: await this.detail(tx, actor.orgId, teamId),
          // Profiles list team names: members before and after a rename or a move are stale.
          touched: changes.name || changes.memberIds ? [...new Set([...before, ...memberIds])] : [],
        };
      });
      await this.profiles.invalidate(...result.touched);
      return result.detail;
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(input.name ?? '');
      throw error;
    }
  }

  /** Soft delete: the team disappears from lists and memberships; history keeps its id. */
  async remove(actor: Actor, teamId: string): Promise<void> {
    assertAdmin(actor);
    const members = await this.context.database.withOrg(actor.orgId, async (tx) => {
      const team = await repo.findTeam(tx, actor.orgId, teamId);
      if (!team) throw notFound('Team');
      const memberIds = (await repo.membersOfTeam(tx, actor.orgId, teamId)).map((member) => member.id);
      await repo.updateTeam(tx, actor.orgId, teamId, { deletedAt: new Date() });
      await repo.removeTeamMemberships(tx, actor.orgId, teamId, []);
      await recordEvent(tx, TeamDeleted, originOf(actor), teamId, { name: team.name });
      return memberIds;
    });
    await this.profiles.invalidate(...members);
  }

  private async detail(tx: Executor, orgId: string, teamId: string) {
    const team = await repo.findTeam(tx, orgId, teamId);
    if (!team) throw notFound('Team');
    const members = await repo.membersOfTeam(tx, orgId, teamId);
    return { ...presentTeam(team, members.length), members };
  }

  private async checkUsers(tx: Executor, orgId: string, userIds: string[]): Promise<string[]> {
    return requireKnownIds('userIds', userIds, await repo.existingUserIds(tx, orgId, [...new Set(userIds)]));
  }
}
