import type { z } from 'zod';
import { Coalescer, type Settled } from '../../platform/coalescer.js';
import type { BatchStatement, Executor } from '../../platform/db/database.js';
import type { Condition } from '../../platform/db/statements.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { applyCustomFields } from './custom-fields.js';
import type { OrgSettings } from './settings.cache.js';
import { findCategory } from './settings.repository.js';
import { assigneeProblem, NO_CHANGE, planAssignment } from './ticket-changes.js';
import {
  changingTicket,
  changingTickets,
  type MessageMail,
  presentContext,
  recordTicketChanges,
  type TicketsContext,
  type TimelineChange,
  viewerOf,
  visibleTicket,
} from './tickets.context.js';
import { canSee, isAgent, requirePermission, type Viewer } from './tickets.policy.js';
import {
  eventsSeenBy,
  presentAttachment,
  presentEvent,
  presentMessage,
  presentTicket,
  userRefs,
} from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { CollisionGuard, CreateTicketBody, EventListQuery, UpdateTicketBody } from './tickets.schema.js';
import { NO_MATCHES } from './views.counts.js';

/** Format of ticket numbers: TKT-YYYYMMDD-NNNNN (the day in UTC; five digits, more past 99,999). */
export function formatTicketNumber(day: string, sequence: number): string {
  return `TKT-${day.replaceAll('-', '')}-${String(sequence).padStart(5, '0')}`;
}

/** A ticket in a few fields, for other modules' lists. */
export type TicketSummary = Pick<
  repo.TicketRow,
  'id' | 'number' | 'title' | 'status' | 'priority' | 'teamId' | 'assigneeId' | 'requesterId' | 'createdAt'
>;

/** Ticket fields only agents see; a change to them is an internal timeline event. */
const AGENT_ONLY_FIELDS = new Set(['tags']);

type Changes = Record<string, { from: unknown; to: unknown }>;

/** Most colliding events a 409 lists. */
const MAX_COLLISIONS = 20;

/** Most new tickets one transaction writes. */
const MAX_CREATE_BATCH = 32;

interface CreateRequest {
  actor: Actor;
  input: z.output<typeof CreateTicketBody>;
}

export type PresentedTicket = ReturnType<typeof presentTicket>;
type Routed = NonNullable<Awaited<ReturnType<NonNullable<TicketsContext['router']>['route']>>>;
type Names = Awaited<ReturnType<typeof directory.names>>;

/** Use cases on single tickets: open, read, edit, delete, timeline. */
export class TicketsService {
  constructor(private readonly context: TicketsContext) {}

  /**
   * New tickets are written in groups (group commit): the creates that arrive while a
   * group of their organisation is being written wait and go together in the next one —
   * one number batch, one transaction, one timeline statement for all of them. An idle
   * organisation's create goes alone, after one turn of the event loop.
   */
  private readonly creations = new Coalescer<CreateRequest, PresentedTicket>({
    maxBatch: MAX_CREATE_BATCH,
    concurrency: 1,
    run: (orgId, requests) => this.createGroup(orgId, requests),
  });

  /**
   * Takes the next `count` ticket numbers in a transaction of their own, so the counter row
   * is locked only for one statement however long the tickets' own transaction runs. A
   * rolled-back create leaves a gap in the day's numbers, never a duplicate.
   */
  async nextNumbers(orgId: string, count: number, now = new Date()): Promise<string[]> {
    const [numbers] = await this.context.database.withOrgBatch(
      orgId,
      [this.numbersStatement(orgId, count, { now })],
      { asyncCommit: true },
    );
    return numbers;
  }

  /**
   * The statement that takes the next `count` numbers, for a batch of reads that comes before
   * a ticket's transaction (`Database.withOrgBatch`), run with `asyncCommit`: the counter row
   * stays locked until the batch's commit is on disk, and waiting for the flush there would
   * serialise every create behind one fsync. Safe without it: the ticket's own (synchronous)
   * commit comes later and flushes the log past this one, so a ticket that survives a crash
   * never has a number that did not. With `unless` (a condition in SQL, e.g. "this mail is
   * known already") no number is taken when it holds, and the result is empty.
   */
  numbersStatement(
    orgId: string,
    count: number,
    options: { now?: Date; unless?: Condition } = {},
  ): BatchStatement<string[]> {
    const day = (options.now ?? new Date()).toISOString().slice(0, 10);
    return {
      ...repo.nextTicketSequenceStatement(orgId, day, count, options.unless),
      read: (rows) => {
        if (rows.length === 0) return [];
        const last = Number(rows[0]!.last_value);
        return Array.from({ length: count }, (_, index) => formatTicketNumber(day, last - count + 1 + index));
      },
    };
  }

  /** The next ticket number (see `nextNumbers`). */
  async nextNumber(orgId: string, now = new Date()): Promise<string> {
    const [number] = await this.nextNumbers(orgId, 1, now);
    return number!;
  }

  async create(actor: Actor, input: z.output<typeof CreateTicketBody>): Promise<PresentedTicket> {
    requirePermission(actor, 'ticket:create', 'Opening a ticket');
    if (!isAgent(actor)) {
      const agentFields = (['teamId', 'assigneeId', 'requesterId'] as const).filter(
        (key) => input[key] != null,
      );
      if (input.tags.length > 0) agentFields.push('tags' as never);
      if (agentFields.length > 0)
        throw new AppError('FORBIDDEN', `Only agents may set ${agentFields.join(', ')}`);
    }
    if (input.assigneeId) requirePermission(actor, 'ticket:assign', 'Assigning a ticket');
    return this.creations.submit(actor.orgId, { actor, input });
  }

  /**
   * Writes a group of new tickets of one organisation. A request's own problem (an unknown
   * requester, an invalid custom field) fails that request alone; anything that rolls the
   * transaction back makes each request of the group run again on its own, so a failure
   * reaches only the request that caused it.
   */
  private async createGroup(
    orgId: string,
    requests: CreateRequest[],
  ): Promise<Array<Settled<PresentedTicket>>> {
    const numbers = await this.nextNumbers(orgId, requests.length);
    try {
      return await this.context.database.withOrg(
        orgId,
        (tx) => this.writeGroup(tx, orgId, requests, numbers),
        changingTickets(this.context, orgId),
      );
    } catch (error) {
      if (requests.length === 1) return [{ ok: false, error }];
      const results: Array<Settled<PresentedTicket>> = [];
      for (const request of requests) results.push(...(await this.createGroup(orgId, [request])));
      return results;
    }
  }

  private async writeGroup(
    tx: Executor,
    orgId: string,
    requests: readonly CreateRequest[],
    numbers: readonly string[],
  ): Promise<Array<Settled<PresentedTicket>>> {
    const settings = await this.context.orgSettings.of(tx, orgId);
    // One lookup checks every requester, assignee and team and names them in the responses.
    const userIds = new Set<string>();
    const teamIds = new Set<string>();
    for (const { actor, input } of requests) {
      userIds.add(input.requesterId ?? actor.userId);
      if (input.assigneeId) userIds.add(input.assigneeId);
      if (input.teamId) teamIds.add(input.teamId);
    }
    const names = await directory.names(tx, orgId, [...userIds], [...teamIds]);
    // Every request gets one settlement: its error below, or its ticket at the end.
    const results = new Array<Settled<PresentedTicket>>(requests.length);
    const written: Array<{ index: number; ticket: repo.TicketRow; routed: Routed | null }> = [];
    const unrouted: Array<{ index: number; values: repo.TicketInsert }> = [];
    for (const [index, request] of requests.entries()) {
      let values: repo.TicketInsert;
      try {
        values = await this.newTicketValues(tx, request, settings, names, numbers[index]!);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        results[index] = { ok: false, error };
        continue;
      }
      const routed =
        values.assigneeId || !values.teamId || !this.context.router
          ? null
          : await this.context.router.route(tx, {
              orgId,
              teamId: values.teamId,
              categoryId: values.categoryId ?? null,
              priority: values.priority ?? 'medium',
            });
      if (routed) {
        // Routing counts the agents' open tickets: this one is written before the next is routed.
        const ticket = await repo.insertTicket(tx, { ...values, assigneeId: routed.assigneeId });
        written.push({ index, ticket, routed });
      } else unrouted.push({ index, values });
    }
    const rows = await repo.insertTickets(
      tx,
      unrouted.map((entry) => entry.values),
    );
    const byNumber = new Map(rows.map((row) => [row.number, row]));
    for (const { index, values } of unrouted)
      written.push({ index, ticket: byNumber.get(values.number)!, routed: null });
    if (written.length === 0) return results;
    written.sort((a, b) => a.index - b.index);
    await recordTicketChanges(
      this.context,
      tx,
      null,
      written.flatMap(({ index, ticket, routed }) => {
        const origin = requests[index]!.actor;
        const created = {
          ticket,
          origin,
          change: { type: 'created' as const, data: { channel: ticket.channel, number: ticket.number } },
        };
        if (!routed) return [created];
        const assigned = {
          ticket,
          origin,
          change: {
            type: 'assigned' as const,
            changes: { assigneeId: { from: null, to: routed.assigneeId } },
            data: { automatic: true, mode: routed.mode },
          },
        };
        return [created, assigned];
      }),
      orgId,
    );
    await this.context.viewCounts.settle(
      tx,
      orgId,
      written.map((entry) => entry.ticket.id),
      NO_MATCHES,
    );
    const unnamed = written.flatMap(({ routed }) =>
      routed && !names.users.has(routed.assigneeId) ? [routed.assigneeId] : [],
    );
    if (unnamed.length > 0) {
      const assignees = await directory.names(tx, orgId, [...new Set(unnamed)], []);
      for (const [id, user] of assignees.users) names.users.set(id, user);
    }
    for (const { index, ticket } of written)
      results[index] = {
        ok: true,
        value: presentTicket(ticket, {
          ...names,
          agent: isAgent(requests[index]!.actor),
          fields: settings.fields,
        }),
      };
    return results;
  }

  /** A request's new ticket, checked against the organisation: 422 for what does not exist. */
  private async newTicketValues(
    tx: Executor,
    { actor, input }: CreateRequest,
    settings: OrgSettings,
    names: Names,
    number: string,
  ): Promise<repo.TicketInsert> {
    const agent = isAgent(actor);
    const requesterId = input.requesterId ?? actor.userId;
    const problems: Record<string, string> = {};
    if (!names.users.get(requesterId)?.isActive) problems.requesterId = 'no active user with this id';
    if (input.teamId && !names.teams.has(input.teamId)) problems.teamId = 'no team with this id';
    if (input.categoryId && !settings.categories.some((category) => category.id === input.categoryId))
      problems.categoryId = 'no category with this id';
    if (input.assigneeId) {
      const problem = await assigneeProblem(tx, actor.orgId, input.assigneeId, input.teamId ?? null);
      if (problem) problems.assigneeId = problem;
    }
    if (Object.keys(problems).length > 0)
      throw new AppError('UNPROCESSABLE', 'Invalid ticket', { details: problems });
    const definitions = settings.fields;
    const visible = agent ? definitions : definitions.filter((definition) => definition.visibleToRequester);
    if (!agent) {
      const hidden = Object.keys(input.customFields).filter((key) => !visible.some((d) => d.key === key));
      if (hidden.length > 0)
        throw new AppError('UNPROCESSABLE', 'Invalid custom field values', {
          details: {
            customFields: Object.fromEntries(
              hidden.map((key) => [key, 'is not a custom field of this organisation']),
            ),
          },
        });
    }
    return {
      orgId: actor.orgId,
      number,
      title: input.title,
      description: input.description,
      priority: input.priority,
      categoryId: input.categoryId ?? null,
      tags: input.tags,
      teamId: input.teamId ?? null,
      assigneeId: input.assigneeId ?? null,
      requesterId,
      createdById: actor.userId,
      channel: input.channel,
      customFields: applyCustomFields(visible, {}, input.customFields, { requireAll: true }),
    };
  }

  /**
   * The tickets among `ticketIds` the actor may see, as short summaries in the order asked:
   * what other modules' boards show next to their own rows.
   */
  async summaries(actor: Actor, ticketIds: readonly string[]): Promise<TicketSummary[]> {
    if (ticketIds.length === 0) return [];
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const rows = await repo.findTickets(tx, actor.orgId, ticketIds);
      const followed = await repo.followedAmong(
        tx,
        actor.userId,
        rows.filter((row) => !canSee(viewer, row, false)).map((row) => row.id),
      );
      const byId = new Map(
        rows.filter((row) => canSee(viewer, row, followed.has(row.id))).map((row) => [row.id, row]),
      );
      return ticketIds.flatMap((id) => {
        const row = byId.get(id);
        if (!row) return [];
        const { number, title, status, priority, teamId, assigneeId, requesterId, createdAt } = row;
        return [{ id, number, title, status, priority, teamId, assigneeId, requesterId, createdAt }];
      });
    });
  }

  /** A ticket with its conversation; requesters get public messages only. */
  async get(actor: Actor, ticketId: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      return this.detail(tx, viewer, ticket);
    });
  }

  async detail(tx: Executor, viewer: Viewer, ticket: repo.TicketRow) {
    const agent = isAgent(viewer.actor);
    const messages = await repo.listMessages(tx, ticket.id, agent);
    const around = await repo.ticketSurroundings(tx, ticket.id, agent);
    const followers = around.followerIds;
    const mailIds = messages.flatMap((message) => (message.emailMessageId ? [message.emailMessageId] : []));
    const context = await presentContext(this.context, tx, viewer, {
      tickets: [ticket],
      messages,
      userIds: followers,
    });
    // One statement for the whole conversation, none when nothing came by mail.
    const mail =
      mailIds.length > 0 && this.context.mail
        ? await this.context.mail.receivedMail(tx, ticket.orgId, mailIds)
        : new Map<string, MessageMail>();
    const mailView = { agent, viewerId: viewer.actor.userId, mail };
    return {
      ...presentTicket(ticket, context),
      messages: messages.map((message) =>
        presentMessage(
          message,
          around.attachments.filter((attachment) => attachment.messageId === message.id),
          { ...context, mailView },
        ),
      ),
      links: around.links,
      followers: userRefs(context.users, followers),
      ...(around.totalMinutes === undefined ? {} : { timeSpentMinutes: around.totalMinutes }),
    };
  }

  /**
   * Edits ticket fields (agents). `expectedVersion` (If-Match or body `version`) makes the
   * edit conditional: a stale version is a 409 carrying the current one.
   */
  async update(
    actor: Actor,
    ticketId: string,
    input: z.output<typeof UpdateTicketBody>,
    expectedVersion: number | undefined,
  ) {
    requirePermission(actor, 'ticket:reply', 'Editing a ticket');
    return this.context.database.withOrg(
      actor.orgId,
      async (tx) => {
        const viewer = await viewerOf(this.context, tx, actor);
        const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
        assertVersion(ticket, expectedVersion ?? input.version);
        const changes: Changes = {};
        const next: Partial<repo.TicketInsert> = {};
        const problems: Record<string, string> = {};
        for (const key of ['title', 'description', 'priority', 'channel'] as const) {
          const value = input[key];
          if (value !== undefined && value !== ticket[key]) {
            changes[key] = { from: ticket[key], to: value };
            Object.assign(next, { [key]: value });
          }
        }
        if (input.tags !== undefined && !sameList(input.tags, ticket.tags)) {
          changes.tags = { from: ticket.tags, to: input.tags };
          next.tags = input.tags;
        }
        if (input.categoryId !== undefined && input.categoryId !== ticket.categoryId) {
          if (input.categoryId && !(await findCategory(tx, actor.orgId, input.categoryId)))
            problems.categoryId = 'no category with this id';
          changes.categoryId = { from: ticket.categoryId, to: input.categoryId };
          next.categoryId = input.categoryId;
        }
        if (Object.keys(problems).length > 0)
          throw new AppError('UNPROCESSABLE', 'Invalid ticket', { details: problems });
        // A team move is an assignment: same checks, same timeline entry as POST /assign.
        const moved =
          input.teamId !== undefined
            ? await planAssignment(tx, actor, ticket, { teamId: input.teamId })
            : NO_CHANGE;
        Object.assign(next, moved.set);
        const definitions = (await this.context.orgSettings.of(tx, actor.orgId)).fields;
        const publicFieldChanges: Changes = {};
        const internalFieldChanges: Changes = {};
        if (input.customFields) {
          const customFields = applyCustomFields(definitions, ticket.customFields, input.customFields, {
            requireAll: false,
          });
          for (const key of new Set([...Object.keys(ticket.customFields), ...Object.keys(customFields)])) {
            const from = ticket.customFields[key] ?? null;
            const to = customFields[key] ?? null;
            if (JSON.stringify(from) === JSON.stringify(to)) continue;
            const visible = definitions.some((d) => d.key === key && d.visibleToRequester);
            (visible ? publicFieldChanges : internalFieldChanges)[`customFields.${key}`] = { from, to };
          }
          if (Object.keys(publicFieldChanges).length + Object.keys(internalFieldChanges).length > 0)
            next.customFields = customFields;
        }
        if (Object.keys(next).length === 0) return this.detail(tx, viewer, ticket);

        const before = await this.context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
        const updated = await repo.updateTicket(tx, actor.orgId, ticket.id, next);
        const publicChanges: Changes = { ...publicFieldChanges };
        const internalChanges: Changes = { ...internalFieldChanges };
        for (const [key, change] of Object.entries(changes)) {
          (AGENT_ONLY_FIELDS.has(key) ? internalChanges : publicChanges)[key] = change;
        }
        const entries: Array<{ ticket: repo.TicketRow; change: TimelineChange }> = moved.timeline.map(
          (change) => ({
            ticket: updated,
            change,
          }),
        );
        if (Object.keys(publicChanges).length > 0)
          entries.push({ ticket: updated, change: { type: 'updated', changes: publicChanges } });
        if (Object.keys(internalChanges).length > 0)
          entries.push({
            ticket: updated,
            change: { type: 'updated', changes: internalChanges, isInternal: true },
          });
        await recordTicketChanges(this.context, tx, actor, entries);
        await this.context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
        return this.detail(tx, viewer, updated);
      },
      changingTicket(this.context, actor.orgId, ticketId),
    );
  }

  /** Soft delete (admins): the ticket leaves every list; its rows stay for audit. */
  async remove(actor: Actor, ticketId: string): Promise<void> {
    requirePermission(actor, 'ticket:delete', 'Deleting a ticket');
    await this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
      const before = await this.context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
      const deleted = await repo.updateTicket(tx, actor.orgId, ticket.id, { deletedAt: new Date() });
      await recordTicketChanges(this.context, tx, actor, [
        { ticket: deleted, change: { type: 'deleted', isInternal: true } },
      ]);
      await this.context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
    });
  }

  /** The timeline, oldest first; `after` resumes from an event id (client catch-up). */
  async events(actor: Actor, ticketId: string, query: z.output<typeof EventListQuery>) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      const rows = await repo.listTimeline(tx, ticket.id, {
        includeInternal: isAgent(actor),
        after: query.after,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      const agent = isAgent(actor);
      const shown = eventsSeenBy(page, agent);
      const users = await directory.users(
        tx,
        actor.orgId,
        shown.flatMap((row) => (row.actorId ? [row.actorId] : [])),
      );
      return {
        data: shown.map((row) => presentEvent(row, { users, agent })),
        meta: { limit: query.limit, nextCursor: rows.length > query.limit ? page.at(-1)!.id : null },
      };
    });
  }

  /** Attachment metadata and bytes, for anyone who may see the ticket it belongs to. */
  async attachment(actor: Actor, attachmentId: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const attachment = await repo.findAttachment(tx, actor.orgId, attachmentId);
      if (!attachment) throw new AppError('NOT_FOUND', 'Attachment not found');
      if (attachment.ticketId === null || attachment.messageId === null) {
        if (attachment.uploaderId !== actor.userId) throw new AppError('NOT_FOUND', 'Attachment not found');
      } else {
        const viewer = await viewerOf(this.context, tx, actor);
        await visibleTicket(tx, viewer, attachment.ticketId);
        const message = await repo.findMessage(tx, actor.orgId, attachment.ticketId, attachment.messageId);
        // An internal note's files are as private as the note.
        if (!message || (message.isInternal && !isAgent(actor)))
          throw new AppError('NOT_FOUND', 'Attachment not found');
      }
      return { ...presentAttachment(attachment), storageKey: attachment.storageKey };
    });
  }
}

export function assertVersion(ticket: repo.TicketRow, expected: number | undefined): void {
  if (expected !== undefined && expected !== ticket.version) {
    throw new AppError(
      'CONFLICT',
      `The ticket changed since version ${expected}; it is now at ${ticket.version}`,
      {
        details: { currentVersion: ticket.version },
      },
    );
  }
}

/**
 * The collision check of replies, notes, assignments and status changes: when the author
 * names the last event they saw, a public reply, assignment or status change someone else
 * (or the system) made since is a 409 listing those events as the author may see them,
 * unless the author confirms with `force`. Runs on the locked ticket.
 */
export async function assertNoCollision(
  tx: Executor,
  actor: Actor,
  ticket: repo.TicketRow,
  guard: z.output<typeof CollisionGuard>,
): Promise<void> {
  if (!guard.lastSeenEventId || guard.force) return;
  const agent = isAgent(actor);
  // Only what the author may see can collide: a requester is not stopped by a team move.
  const rows = eventsSeenBy(
    await repo.collidingEvents(tx, ticket.id, guard.lastSeenEventId, actor.userId, MAX_COLLISIONS),
    agent,
  );
  if (rows.length === 0) return;
  const users = await directory.users(
    tx,
    ticket.orgId,
    rows.flatMap((row) => (row.actorId ? [row.actorId] : [])),
  );
  const events = rows.map((row) => presentEvent(row, { users, agent }));
  const what = [...new Set(rows.map((row) => row.type.replace('_', ' ')))].join(', ');
  throw new AppError(
    'CONFLICT',
    `The ticket changed since you last saw it (${what}); send again with "force": true to go ahead`,
    { details: { lastEventId: rows.at(-1)!.id, events } },
  );
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}
