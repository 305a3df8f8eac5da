import type { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import {
  assignment,
  combine,
  NO_CHANGE,
  type PlannedChange,
  planFields,
  planStatus,
  planTags,
} from './ticket-changes.js';
import {
  recordTicketChanges,
  type TicketsContext,
  type TimelineChange,
  viewerOf,
} from './tickets.context.js';
import { canSee, needsReassign, requirePermission } from './tickets.policy.js';
import * as repo from './tickets.repository.js';
import type { BulkBody } from './tickets.schema.js';

type BulkInput = z.output<typeof BulkBody>;
type Outcome =
  | { id: string; ok: true; version: number }
  | { id: string; ok: false; error: { code: string; message: string } };

/**
 * Bulk updates of up to 500 tickets in one transaction and a constant number of
 * statements: lock the visible tickets, decide each one in memory (a ticket that may not
 * change fails alone and the rest go ahead), write all new states with one UPDATE and the
 * timeline and outbox rows with one INSERT each.
 */
export class BulkService {
  constructor(private readonly context: TicketsContext) {}

  async update(actor: Actor, input: BulkInput) {
    requirePermission(actor, 'ticket:reply', 'Bulk updates');
    const { changes } = input;
    if (changes.assigneeId !== undefined) requirePermission(actor, 'ticket:assign', 'Assigning tickets');
    const ids = [...new Set(input.ticketIds)];
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      if (changes.assigneeId) {
        const assignee = await directory.user(tx, actor.orgId, changes.assigneeId);
        if (!assignee?.isActive || assignee.role === 'requester')
          throw new AppError('UNPROCESSABLE', 'Invalid assignee', {
            details: {
              assigneeId: assignee ? 'requesters cannot be assignees' : 'no active user with this id',
            },
          });
      }
      const locked = await repo.findTickets(tx, actor.orgId, ids, true);
      const followed = await repo.followedAmong(tx, actor.userId, ids);
      const visible = new Map(
        locked
          .filter((ticket) => canSee(viewer, ticket, followed.has(ticket.id)))
          .map((ticket) => [ticket.id, ticket]),
      );
      const memberOf = await this.assigneeTeams(tx, actor.orgId, changes.assigneeId ?? null, [
        ...visible.values(),
      ]);

      const outcomes = new Map<string, Outcome>();
      const planned: Array<{ row: repo.BulkRow; timeline: TimelineChange[] }> = [];
      const now = new Date();
      for (const id of ids) {
        const ticket = visible.get(id);
        if (!ticket) {
          outcomes.set(id, { id, ok: false, error: { code: 'NOT_FOUND', message: 'Ticket not found' } });
          continue;
        }
        const decided = decide(actor, ticket, changes, memberOf, now);
        if ('error' in decided) outcomes.set(id, { id, ok: false, error: decided.error });
        else if (decided.timeline.length > 0) planned.push(decided);
        else outcomes.set(id, { id, ok: true, version: ticket.version });
      }

      const changedIds = planned.map((plan) => plan.row.id);
      const before = await this.context.viewCounts.matching(tx, actor.orgId, changedIds);
      const updated = await repo.updateTicketsInBulk(
        tx,
        actor.orgId,
        planned.map((plan) => plan.row),
      );
      const byId = new Map(updated.map((ticket) => [ticket.id, ticket]));
      await recordTicketChanges(
        this.context,
        tx,
        actor,
        planned.flatMap((plan) =>
          plan.timeline.map((change) => ({
            ticket: byId.get(plan.row.id)!,
            change: { ...change, data: { ...change.data, bulk: true } },
          })),
        ),
      );
      await this.context.viewCounts.settle(tx, actor.orgId, changedIds, before);
      for (const ticket of updated)
        outcomes.set(ticket.id, { id: ticket.id, ok: true, version: ticket.version });
      const results = ids.map((id) => outcomes.get(id)!);
      const failed = results.filter((result) => !result.ok).length;
      return { updated: updated.length, failed, results };
    });
  }

  /** Ids of the tickets' teams the new assignee belongs to (assignees stay within the team). */
  private async assigneeTeams(
    tx: Parameters<typeof directory.teamIdsOf>[0],
    orgId: string,
    assigneeId: string | null,
    tickets: readonly repo.TicketRow[],
  ): Promise<ReadonlySet<string>> {
    if (!assigneeId || tickets.every((ticket) => ticket.teamId === null)) return new Set();
    return new Set(await directory.teamIdsOf(tx, orgId, assigneeId));
  }
}

/** What the bulk changes do to one ticket, or why they cannot. */
function decide(
  actor: Actor,
  ticket: repo.TicketRow,
  changes: BulkInput['changes'],
  assigneeTeams: ReadonlySet<string>,
  now: Date,
): { row: repo.BulkRow; timeline: TimelineChange[] } | { error: { code: string; message: string } } {
  let planned: PlannedChange;
  try {
    planned = combine(
      changes.status ? planStatus(ticket, changes.status, now) : NO_CHANGE,
      planFields(ticket, { priority: changes.priority }),
      changes.assigneeId === undefined
        ? NO_CHANGE
        : bulkAssignment(actor, ticket, changes.assigneeId, assigneeTeams),
      planTags(ticket, changes.addTags, changes.removeTags),
    );
  } catch (error) {
    if (error instanceof AppError) return { error: { code: error.code, message: error.message } };
    throw error;
  }
  const next = { ...ticket, ...planned.set } as repo.TicketRow;
  return {
    row: {
      id: ticket.id,
      status: next.status,
      priority: next.priority,
      assignee_id: next.assigneeId,
      tags: next.tags,
      resolved_at: next.resolvedAt?.toISOString() ?? null,
      closed_at: next.closedAt?.toISOString() ?? null,
      last_activity_at: next.lastActivityAt.toISOString(),
    },
    timeline: planned.timeline,
  };
}

/**
 * planAssignment's rules for one ticket of many, with team membership loaded once for
 * the whole batch (the assignee itself was checked before the loop).
 */
function bulkAssignment(
  actor: Actor,
  ticket: repo.TicketRow,
  assigneeId: string | null,
  assigneeTeams: ReadonlySet<string>,
): PlannedChange {
  if (assigneeId === ticket.assigneeId) return NO_CHANGE;
  if (needsReassign(actor, ticket.assigneeId, assigneeId) && !hasPermission(actor, 'ticket:reassign'))
    throw new AppError('FORBIDDEN', "Reassigning someone else's ticket needs ticket:reassign");
  if (assigneeId && ticket.teamId && !assigneeTeams.has(ticket.teamId))
    throw new AppError('UNPROCESSABLE', "The assignee is not a member of the ticket's team");
  return assignment(ticket, assigneeId, ticket.teamId);
}
