import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  gt,
  gte,
  inArray,
  isNull,
  notInArray,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import { type BatchStatement, type Executor, mapRow, selectList } from '../../platform/db/database.js';
import { rowsOf } from '../../platform/db/migrations.js';
import { type Condition, type Statement, statement } from '../../platform/db/statements.js';
import type { withOutbox } from '../../platform/events/events.js';
import { DONE_STATUSES } from './ticket-status.js';
import type { TimelineEventType } from './tickets.events.js';
import {
  ticketAttachments,
  ticketEvents,
  ticketFollowers,
  ticketLinks,
  ticketMessages,
  tickets,
  ticketTimeEntries,
} from './tickets.table.js';

/** Queries of the tickets module. Every function takes the executor; none opens a transaction. */

export type TicketRow = Omit<typeof tickets.$inferSelect, 'searchVector'>;
export type TicketInsert = typeof tickets.$inferInsert;
export type MessageRow = Omit<typeof ticketMessages.$inferSelect, 'searchVector'>;
export type TicketEventRow = typeof ticketEvents.$inferSelect;
export type AttachmentRow = typeof ticketAttachments.$inferSelect;

// Everything but the generated search vector, which no response needs.
const { searchVector: _ticketVector, ...ticketColumns } = getTableColumns(tickets);
const { searchVector: _messageVector, ...messageColumns } = getTableColumns(ticketMessages);

export { ticketColumns };

/**
 * The statement that takes the next `count` numbers of the day for an organisation, for a
 * batch (`Database.withOrgBatch`: the counter row stays locked only while PostgreSQL runs
 * it). Its one row is `{ last_value }`, the last number taken. With `unless` (a condition in
 * SQL) it takes none, and returns no row, when the condition holds.
 */
export function nextTicketSequenceStatement(
  orgId: string,
  day: string,
  count = 1,
  unless?: Condition,
): Statement {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`ticket numbers: bad count ${count}`);
  return statement((param) => {
    const taken = param(count);
    return `insert into ticket_number_counters (org_id, day, last_value)
    select ${param(orgId)}::uuid, ${param(day)}::date, ${taken}::int${unless ? ` where not (${unless(param)})` : ''}
    on conflict (org_id, day) do update set last_value = ticket_number_counters.last_value + ${taken}::int
    returning last_value`;
  });
}

export async function insertTicket(tx: Executor, values: TicketInsert): Promise<TicketRow> {
  const [row] = await tx.insert(tickets).values(values).returning(ticketColumns);
  return row!;
}

/** New tickets in one statement (rows come back in no promised order). */
export async function insertTickets(tx: Executor, values: readonly TicketInsert[]): Promise<TicketRow[]> {
  if (values.length === 0) return [];
  return tx
    .insert(tickets)
    .values([...values])
    .returning(ticketColumns);
}

/** A live (not deleted) ticket of the organisation; `lock` takes a row lock for the change. */
export async function findTicket(
  tx: Executor,
  orgId: string,
  ticketId: string,
  options: { lock?: boolean } = {},
): Promise<TicketRow | undefined> {
  const query = tx
    .select(ticketColumns)
    .from(tickets)
    .where(and(eq(tickets.orgId, orgId), eq(tickets.id, ticketId), isNull(tickets.deletedAt)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

const ticketSelectList = selectList(ticketColumns);

/**
 * `findTicket` as a statement for a batch or the ahead statements of a transaction, for
 * readers that save its round trip.
 */
export function ticketStatement(
  orgId: string,
  ticketId: string,
  options: { lock?: boolean } = {},
): BatchStatement<TicketRow | undefined> {
  return {
    ...statement(
      (param) => `select ${ticketSelectList} from tickets
      where org_id = ${param(orgId)} and id = ${param(ticketId)} and deleted_at is null${options.lock ? ' for update' : ''}`,
    ),
    read: (rows) => (rows[0] ? mapRow<TicketRow>(ticketColumns, rows[0]) : undefined),
  };
}

export async function findTickets(tx: Executor, orgId: string, ticketIds: readonly string[], lock = false) {
  if (ticketIds.length === 0) return [];
  const query = tx
    .select(ticketColumns)
    .from(tickets)
    .where(and(eq(tickets.orgId, orgId), inArray(tickets.id, [...ticketIds]), isNull(tickets.deletedAt)))
    .orderBy(asc(tickets.id));
  return lock ? query.for('update') : query;
}

/** Applies changes and bumps the version; returns the new row. */
export async function updateTicket(
  tx: Executor,
  orgId: string,
  ticketId: string,
  changes: Partial<TicketInsert>,
): Promise<TicketRow> {
  const [row] = await tx
    .update(tickets)
    .set({ ...changes, version: sql`${tickets.version} + 1`, updatedAt: new Date() })
    .where(and(eq(tickets.orgId, orgId), eq(tickets.id, ticketId)))
    .returning(ticketColumns);
  return row!;
}

/** Assigns an unassigned ticket in one statement: of concurrent claims exactly one matches. */
export async function claimTicket(tx: Executor, orgId: string, ticketId: string, userId: string) {
  const [row] = await tx
    .update(tickets)
    .set({ assigneeId: userId, version: sql`${tickets.version} + 1`, updatedAt: new Date() })
    .where(
      and(
        eq(tickets.orgId, orgId),
        eq(tickets.id, ticketId),
        isNull(tickets.assigneeId),
        isNull(tickets.deletedAt),
      ),
    )
    .returning(ticketColumns);
  return row;
}

export async function isFollower(tx: Executor, ticketId: string, userId: string): Promise<boolean> {
  const rows = await tx
    .select({ one: sql<number>`1` })
    .from(ticketFollowers)
    .where(and(eq(ticketFollowers.ticketId, ticketId), eq(ticketFollowers.userId, userId)))
    .limit(1);
  return rows.length > 0;
}

export async function followerIds(tx: Executor, ticketId: string): Promise<string[]> {
  const rows = await tx
    .select({ userId: ticketFollowers.userId })
    .from(ticketFollowers)
    .where(eq(ticketFollowers.ticketId, ticketId))
    .orderBy(asc(ticketFollowers.createdAt));
  return rows.map((row) => row.userId);
}

export async function addFollowers(
  tx: Executor,
  orgId: string,
  ticketId: string,
  userIds: readonly string[],
) {
  if (userIds.length === 0) return [];
  const rows = await tx
    .insert(ticketFollowers)
    .values(userIds.map((userId) => ({ orgId, ticketId, userId })))
    .onConflictDoNothing()
    .returning({ userId: ticketFollowers.userId });
  return rows.map((row) => row.userId);
}

export async function removeFollower(tx: Executor, ticketId: string, userId: string): Promise<boolean> {
  const rows = await tx
    .delete(ticketFollowers)
    .where(and(eq(ticketFollowers.ticketId, ticketId), eq(ticketFollowers.userId, userId)))
    .returning({ userId: ticketFollowers.userId });
  return rows.length > 0;
}

export async function insertMessage(tx: Executor, values: typeof ticketMessages.$inferInsert) {
  const [row] = await tx.insert(ticketMessages).values(values).returning(messageColumns);
  return row!;
}

export async function findMessage(tx: Executor, orgId: string, ticketId: string, messageId: string) {
  const [row] = await tx
    .select(messageColumns)
    .from(ticketMessages)
    .where(
      and(
        eq(ticketMessages.orgId, orgId),
        eq(ticketMessages.ticketId, ticketId),
        eq(ticketMessages.id, messageId),
      ),
    );
  return row;
}

export async function markMessageSplit(tx: Executor, messageId: string, newTicketId: string) {
  await tx
    .update(ticketMessages)
    .set({ splitToTicketId: newTicketId })
    .where(eq(ticketMessages.id, messageId));
}

/** A ticket's conversation, oldest first; internal notes only when asked for. */
export async function listMessages(tx: Executor, ticketId: string, includeInternal: boolean) {
  return tx
    .select(messageColumns)
    .from(ticketMessages)
    .where(
      and(
        eq(ticketMessages.ticketId, ticketId),
        includeInternal ? undefined : eq(ticketMessages.isInternal, false),
      ),
    )
    .orderBy(asc(ticketMessages.createdAt), asc(ticketMessages.id));
}

export async function attachmentsOfMessages(tx: Executor, messageIds: readonly string[]) {
  if (messageIds.length === 0) return [];
  return tx
    .select()
    .from(ticketAttachments)
    .where(inArray(ticketAttachments.messageId, [...messageIds]))
    .orderBy(asc(ticketAttachments.createdAt));
}

/** Unattached uploads of a user, claimed by the message being written. */
export async function attachToMessage(
  tx: Executor,
  orgId: string,
  uploaderId: string,
  attachmentIds: readonly string[],
  target: { ticketId: string; messageId: string },
): Promise<number> {
  if (attachmentIds.length === 0) return 0;
  const rows = await tx
    .update(ticketAttachments)
    .set(target)
    .where(
      and(
        eq(ticketAttachments.orgId, orgId),
        eq(ticketAttachments.uploaderId, uploaderId),
        inArray(ticketAttachments.id, [...attachmentIds]),
        isNull(ticketAttachments.messageId),
      ),
    )
    .returning({ id: ticketAttachments.id });
  return rows.length;
}

export async function insertAttachment(tx: Executor, values: typeof ticketAttachments.$inferInsert) {
  const [row] = await tx.insert(ticketAttachments).values(values).returning();
  return row!;
}

export async function findAttachment(tx: Executor, orgId: string, attachmentId: string) {
  const [row] = await tx
    .select()
    .from(ticketAttachments)
    .where(and(eq(ticketAttachments.orgId, orgId), eq(ticketAttachments.id, attachmentId)));
  return row;
}

export interface TimelineEntry {
  /** Set by the caller when events must name the row before it is written. */
  id?: string;
  orgId: string;
  ticketId: string;
  actorId: string | null;
  type: TimelineEventType;
  changes?: Record<string, { from: unknown; to: unknown }>;
  data?: Record<string, unknown>;
  isInternal?: boolean;
}

/**
 * Appends timeline rows; with `companion` (a data-modifying CTE such as `withOutbox`) in the
 * same statement.
 */
export async function insertTimeline(
  tx: Executor,
  entries: readonly TimelineEntry[],
  companion?: ReturnType<typeof withOutbox>,
) {
  if (entries.length === 0) return [];
  const rows = entries.map((entry) => ({ ...entry }));
  return (companion ? tx.with(companion) : tx).insert(ticketEvents).values(rows).returning();
}

/** A ticket's timeline in order; requesters' reads leave internal events out. */
export async function listTimeline(
  tx: Executor,
  ticketId: string,
  options: { includeInternal: boolean; after?: string | undefined; limit: number },
) {
  return tx
    .select()
    .from(ticketEvents)
    .where(
      and(
        eq(ticketEvents.ticketId, ticketId),
        options.includeInternal ? undefined : eq(ticketEvents.isInternal, false),
        options.after ? gt(ticketEvents.id, options.after) : undefined,
      ),
    )
    .orderBy(asc(ticketEvents.id))
    .limit(options.limit);
}

/** Timeline rows by id (the live feed); requesters' reads leave internal events out. */
export async function findTimelineEvents(
  tx: Executor,
  orgId: string,
  eventIds: readonly string[],
  includeInternal: boolean,
) {
  if (eventIds.length === 0) return [];
  return tx
    .select()
    .from(ticketEvents)
    .where(
      and(
        eq(ticketEvents.orgId, orgId),
        inArray(ticketEvents.id, [...eventIds]),
        includeInternal ? undefined : eq(ticketEvents.isInternal, false),
      ),
    )
    .orderBy(asc(ticketEvents.id));
}

/**
 * Timeline rows after `after` on the tickets `visible` admits (undefined: all), oldest
 * first: what a reconnecting client missed.
 */
export async function timelineAfter(
  tx: Executor,
  orgId: string,
  visible: SQL | undefined,
  options: { includeInternal: boolean; after: string; limit: number },
) {
  return tx
    .select(getTableColumns(ticketEvents))
    .from(ticketEvents)
    .innerJoin(tickets, eq(tickets.id, ticketEvents.ticketId))
    .where(
      and(
        eq(ticketEvents.orgId, orgId),
        gt(ticketEvents.id, options.after),
        options.includeInternal ? undefined : eq(ticketEvents.isInternal, false),
        visible,
      ),
    )
    .orderBy(asc(ticketEvents.id))
    .limit(options.limit);
}

/**
 * Public replies, assignments and status changes on a ticket after `after` by anyone but
 * `userId` (the system included): what a reply or change written from an older view of
 * the ticket would collide with.
 */
export async function collidingEvents(
  tx: Executor,
  ticketId: string,
  after: string,
  userId: string,
  limit: number,
) {
  const types: TimelineEventType[] = ['comment_added', 'assigned', 'status_changed'];
  return tx
    .select()
    .from(ticketEvents)
    .where(
      and(
        eq(ticketEvents.ticketId, ticketId),
        gt(ticketEvents.id, after),
        inArray(ticketEvents.type, types),
        eq(ticketEvents.isInternal, false),
        sql`${ticketEvents.actorId} is distinct from ${userId}::uuid`,
      ),
    )
    .orderBy(asc(ticketEvents.id))
    .limit(limit);
}

/** Messages by id, of any ticket of the organisation. */
export async function findMessages(tx: Executor, orgId: string, messageIds: readonly string[]) {
  if (messageIds.length === 0) return [];
  return tx
    .select(messageColumns)
    .from(ticketMessages)
    .where(and(eq(ticketMessages.orgId, orgId), inArray(ticketMessages.id, [...messageIds])));
}

/** Moves a merged ticket's messages, events and attachments to the target ticket. */
export async function moveConversation(tx: Executor, fromTicketId: string, toTicketId: string) {
  const moved = await tx
    .update(ticketMessages)
    .set({ ticketId: toTicketId })
    .where(eq(ticketMessages.ticketId, fromTicketId))
    .returning({ id: ticketMessages.id });
  await tx
    .update(ticketAttachments)
    .set({ ticketId: toTicketId })
    .where(eq(ticketAttachments.ticketId, fromTicketId));
  const events = await tx
    .update(ticketEvents)
    .set({ ticketId: toTicketId })
    .where(eq(ticketEvents.ticketId, fromTicketId))
    .returning({ id: ticketEvents.id });
  return { messages: moved.length, events: events.length };
}

const orderedPair = (a: string, b: string) => (a < b ? [a, b] : [b, a]) as [string, string];

export async function insertLink(
  tx: Executor,
  orgId: string,
  a: string,
  b: string,
  createdById: string | null,
) {
  const [ticketId, relatedId] = orderedPair(a, b);
  const rows = await tx
    .insert(ticketLinks)
    .values({ orgId, ticketId, relatedId, createdById })
    .onConflictDoNothing()
    .returning({ ticketId: ticketLinks.ticketId });
  return rows.length > 0;
}

export async function deleteLink(tx: Executor, a: string, b: string): Promise<boolean> {
  const [ticketId, relatedId] = orderedPair(a, b);
  const rows = await tx
    .delete(ticketLinks)
    .where(and(eq(ticketLinks.ticketId, ticketId), eq(ticketLinks.relatedId, relatedId)))
    .returning({ ticketId: ticketLinks.ticketId });
  return rows.length > 0;
}

/** Live tickets linked to a ticket, either way round. */
export async function linkedTickets(tx: Executor, ticketId: string) {
  return tx
    .select({ id: tickets.id, number: tickets.number, title: tickets.title, status: tickets.status })
    .from(ticketLinks)
    .innerJoin(
      tickets,
      or(
        and(eq(ticketLinks.ticketId, ticketId), eq(tickets.id, ticketLinks.relatedId)),
        and(eq(ticketLinks.relatedId, ticketId), eq(tickets.id, ticketLinks.ticketId)),
      ),
    )
    .where(
      and(
        or(eq(ticketLinks.ticketId, ticketId), eq(ticketLinks.relatedId, ticketId)),
        isNull(tickets.deletedAt),
      ),
    )
    .orderBy(asc(tickets.number));
}

export async function insertTimeEntry(tx: Executor, values: typeof ticketTimeEntries.$inferInsert) {
  const [row] = await tx.insert(ticketTimeEntries).values(values).returning();
  return row!;
}

export async function listTimeEntries(tx: Executor, ticketId: string) {
  return tx
    .select()
    .from(ticketTimeEntries)
    .where(eq(ticketTimeEntries.ticketId, ticketId))
    .orderBy(desc(ticketTimeEntries.createdAt));
}

/** What a ticket's detail shows besides its row and messages. */
export interface TicketSurroundings {
  followerIds: string[];
  /** Agents only; empty for others. */
  links: Array<{ id: string; number: string; title: string; status: TicketRow['status'] }>;
  /** Agents only. */
  totalMinutes: number | undefined;
  /** Attachments of the ticket's messages, oldest first (callers keep the visible messages'). */
  attachments: Array<
    Pick<
      AttachmentRow,
      'id' | 'messageId' | 'fileName' | 'contentType' | 'sizeBytes' | 'sha256' | 'createdAt'
    >
  >;
}

/**
 * Followers, linked tickets, time total and attachments of one ticket in one statement
 * (four lookups that each cost less than their round trip).
 */
export async function ticketSurroundings(
  tx: Executor,
  ticketId: string,
  agent: boolean,
): Promise<TicketSurroundings> {
  const links = agent
    ? sql`(select coalesce(json_agg(json_build_object('id', t.id, 'number', t.number, 'title', t.title, 'status', t.status) order by t.number), '[]'::json)
          from ${ticketLinks} l join ${tickets} t
            on (l.ticket_id = ${ticketId} and t.id = l.related_id) or (l.related_id = ${ticketId} and t.id = l.ticket_id)
         where (l.ticket_id = ${ticketId} or l.related_id = ${ticketId}) and t.deleted_at is null)`
    : sql`'[]'::json`;
  const minutes = agent
    ? sql`(select coalesce(sum(e.minutes), 0)::int from ${ticketTimeEntries} e where e.ticket_id = ${ticketId})`
    : sql`null::int`;
  const [row] = rowsOf<{
    follower_ids: string[];
    links: TicketSurroundings['links'];
    minutes: number | null;
    attachments: Array<Omit<TicketSurroundings['attachments'][number], 'createdAt'> & { createdAt: string }>;
  }>(
    await tx.execute(sql`select
      (select coalesce(array_agg(f.user_id::text order by f.created_at), '{}'::text[])
         from ${ticketFollowers} f where f.ticket_id = ${ticketId}) as follower_ids,
      ${links} as links,
      ${minutes} as minutes,
      (select coalesce(json_agg(json_build_object('id', a.id, 'messageId', a.message_id, 'fileName', a.file_name,
                'contentType', a.content_type, 'sizeBytes', a.size_bytes, 'sha256', a.sha256,
                'createdAt', a.created_at) order by a.created_at), '[]'::json)
         from ${ticketAttachments} a where a.ticket_id = ${ticketId} and a.message_id is not null) as attachments`),
  );
  return {
    followerIds: row!.follower_ids,
    links: row!.links,
    totalMinutes: row!.minutes ?? undefined,
    attachments: row!.attachments.map((attachment) => ({
      ...attachment,
      createdAt: new Date(attachment.createdAt),
    })),
  };
}

/** The new state of one ticket in a bulk update. */
export interface BulkRow {
  id: string;
  status: TicketRow['status'];
  priority: TicketRow['priority'];
  assignee_id: string | null;
  tags: string[];
  resolved_at: string | null;
  closed_at: string | null;
  last_activity_at: string;
}

/** Writes many tickets' new states in one statement (bulk updates of up to 500). */
export async function updateTicketsInBulk(tx: Executor, orgId: string, rows: readonly BulkRow[]) {
  if (rows.length === 0) return [];
  return tx
    .update(tickets)
    .set({
      status: sql`v.status`,
      priority: sql`v.priority`,
      assigneeId: sql`v.assignee_id`,
      tags: sql`v.tags`,
      resolvedAt: sql`v.resolved_at`,
      closedAt: sql`v.closed_at`,
      lastActivityAt: sql`v.last_activity_at`,
      version: sql`${tickets.version} + 1`,
      updatedAt: new Date(),
    })
    .from(
      sql`jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as v(id uuid, status text, priority text, assignee_id uuid, tags text[], resolved_at timestamptz, closed_at timestamptz, last_activity_at timestamptz)`,
    )
    .where(and(eq(tickets.orgId, orgId), sql`${tickets.id} = v.id`))
    .returning(ticketColumns);
}

/** Followers among `userId` for many tickets at once (visibility checks in bulk). */
export async function followedAmong(tx: Executor, userId: string, ticketIds: readonly string[]) {
  if (ticketIds.length === 0) return new Set<string>();
  const rows = await tx
    .select({ ticketId: ticketFollowers.ticketId })
    .from(ticketFollowers)
    .where(and(eq(ticketFollowers.userId, userId), inArray(ticketFollowers.ticketId, [...ticketIds])));
  return new Set(rows.map((row) => row.ticketId));
}

/** Open (not resolved or closed) tickets held by each of `userIds`. */
export async function openTicketCounts(
  tx: Executor,
  orgId: string,
  userIds: readonly string[],
): Promise<Map<string, number>> {
  const counts = new Map(userIds.map((id) => [id, 0]));
  if (userIds.length === 0) return counts;
  const rows = await tx
    .select({ assigneeId: tickets.assigneeId, open: count() })
    .from(tickets)
    .where(
      and(
        eq(tickets.orgId, orgId),
        inArray(tickets.assigneeId, [...userIds]),
        notInArray(tickets.status, [...DONE_STATUSES]),
        isNull(tickets.deletedAt),
      ),
    )
    .groupBy(tickets.assigneeId);
  for (const row of rows) if (row.assigneeId) counts.set(row.assigneeId, row.open);
  return counts;
}

/** A ticket and the moments of its life that SLA clocks react to. */
export interface TicketHistory {
  ticket: TicketRow;
  /** Status changes: when, and the status entered. */
  statuses: Array<{ at: Date; to: string }>;
  /** Public messages: when, and whether an agent wrote it. */
  replies: Array<{ at: Date; byAgent: boolean }>;
}

/** Tickets created since `since`, oldest first, with their status changes and public replies in order. */
export async function ticketHistories(
  tx: Executor,
  orgId: string,
  since: Date,
  limit: number,
): Promise<TicketHistory[]> {
  const rows = await tx
    .select(ticketColumns)
    .from(tickets)
    .where(and(eq(tickets.orgId, orgId), gte(tickets.createdAt, since), isNull(tickets.deletedAt)))
    .orderBy(asc(tickets.createdAt))
    .limit(limit);
  if (rows.length === 0) return [];
  const ids = rows.map((row) => row.id);
  const statusRows = await tx
    .select({ ticketId: ticketEvents.ticketId, at: ticketEvents.createdAt, changes: ticketEvents.changes })
    .from(ticketEvents)
    .where(and(inArray(ticketEvents.ticketId, ids), eq(ticketEvents.type, 'status_changed')))
    .orderBy(asc(ticketEvents.createdAt), asc(ticketEvents.id));
  const messageRows = await tx
    .select({
      ticketId: ticketMessages.ticketId,
      at: ticketMessages.createdAt,
      byAgent: ticketMessages.byAgent,
    })
    .from(ticketMessages)
    .where(and(inArray(ticketMessages.ticketId, ids), eq(ticketMessages.isInternal, false)))
    .orderBy(asc(ticketMessages.createdAt), asc(ticketMessages.id));
  const history = new Map<string, TicketHistory>(
    rows.map((ticket) => [ticket.id, { ticket, statuses: [], replies: [] }]),
  );
  for (const row of statusRows)
    history.get(row.ticketId)?.statuses.push({ at: row.at, to: String(row.changes.status?.to) });
  for (const row of messageRows)
    history.get(row.ticketId)?.replies.push({ at: row.at, byAgent: row.byAgent });
  return [...history.values()];
}

/** A team's unassigned open tickets, oldest first, locked (skipping ones locked elsewhere). */
export function teamQueue(tx: Executor, orgId: string, teamId: string, limit: number) {
  return tx
    .select(ticketColumns)
    .from(tickets)
    .where(
      and(
        eq(tickets.orgId, orgId),
        eq(tickets.teamId, teamId),
        isNull(tickets.assigneeId),
        notInArray(tickets.status, [...DONE_STATUSES]),
        isNull(tickets.deletedAt),
      ),
    )
    .orderBy(asc(tickets.createdAt), asc(tickets.id))
    .limit(limit)
    .for('update', { skipLocked: true });
}

/** A live ticket by its human number (`TKT-…`), for mail that names it in the subject. */
export async function findTicketByNumber(tx: Executor, orgId: string, number: string) {
  const [row] = await tx
    .select(ticketColumns)
    .from(tickets)
    .where(and(eq(tickets.orgId, orgId), eq(tickets.number, number), isNull(tickets.deletedAt)));
  return row;
}

/** Whether `userId` wrote any message (reply or note) on the ticket. */
export async function hasWrittenOn(tx: Executor, ticketId: string, userId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: ticketMessages.id })
    .from(ticketMessages)
    .where(and(eq(ticketMessages.ticketId, ticketId), eq(ticketMessages.authorId, userId)))
    .limit(1);
  return rows.length > 0;
}

/**
 * The Message-ID of the mail that opened a ticket (its `created` event says so), the first
 * one when merges brought several; undefined for tickets that did not come by mail.
 */
export async function openingMailId(
  tx: Executor,
  orgId: string,
  ticketId: string,
): Promise<string | undefined> {
  const [row] = await tx
    .select({ messageId: sql<string>`${ticketEvents.data}->>'messageId'` })
    .from(ticketEvents)
    .where(
      and(
        eq(ticketEvents.orgId, orgId),
        eq(ticketEvents.ticketId, ticketId),
        eq(ticketEvents.type, 'created'),
        sql`${ticketEvents.data} ? 'messageId'`,
      ),
    )
    .orderBy(asc(ticketEvents.id))
    .limit(1);
  return row?.messageId;
}
