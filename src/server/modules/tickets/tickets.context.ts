import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { aheadOf, type Database, type Executor } from '../../platform/db/database.js';
import { withOutbox } from '../../platform/events/events.js';
import { notFound } from '../../platform/http/app-error.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import { type Actor, directory } from '../identity/index.js';
import type { SearchMonths } from './search-months.js';
import type { OrgSettingsCache } from './settings.cache.js';
import { TIMELINE_EVENTS } from './tickets.events.js';
import { canSee, isAgent, type Viewer } from './tickets.policy.js';
import { type PresentContext, referencedIds } from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { ViewCounts } from './views.counts.js';

/** What the ticket services need from the platform. */
export interface TicketsContext {
  database: Database;
  storage: FileStorage;
  logger: Logger;
  /** Keeps saved-view counts in step with ticket changes (inside the same transaction). */
  viewCounts: ViewCounts;
  /** Categories and custom field definitions per organisation (cached). */
  orgSettings: OrgSettingsCache;
  /** The per-month full-text indexes search reads first (cached list, upkeep job). */
  searchMonths: SearchMonths;
  /** Ids of the live teams an agent belongs to (cached by the identity module). */
  teamIdsOf: (tx: Executor, actor: Actor) => Promise<string[]>;
  /** Other modules' reactions to ticket changes, run inside the changing transaction. */
  changeHooks: TicketChangeHook[];
  /** Picks an assignee for a new ticket that names none (automatic assignment). */
  router: TicketRouter | undefined;
  /** The email module's records of received mail (sender, threading decision, raw .eml). */
  mail: MessageMailSource | undefined;
}

/** What the email module kept of a mail a ticket message came from. */
export interface MessageMail {
  messageId: string;
  from: string | null;
  /** Why the mail landed on this ticket ("matched In-Reply-To <id>", "new ticket", …). */
  decision: string;
  /** Storage key of the original .eml, when it was kept as a file. */
  rawStorageKey: string | null;
  /** Kept in the database (small mail): `readStoredRaw` reads the original. */
  rawInDatabase: boolean;
  /** Not kept (a metadata-only mailbox): `readFromMailbox` fetches the original. */
  inMailbox: boolean;
}

export interface MessageMailSource {
  /** The records of received mail by Message-ID, in one statement (unknown ids left out). */
  receivedMail(tx: Executor, orgId: string, messageIds: readonly string[]): Promise<Map<string, MessageMail>>;
  /** The original of a mail kept in the database (`rawInDatabase`), if it was. */
  readStoredRaw(tx: Executor, orgId: string, messageId: string): Promise<Buffer | undefined>;
  /** The original of a mail kept only in its mailbox, read from there and not stored. */
  readFromMailbox(orgId: string, messageId: string): Promise<Buffer>;
}

/** Who made a change: a user, or the system (automatic assignment, SLA escalation). */
export interface ChangeOrigin {
  orgId: string;
  userId: string | null;
  requestId?: string | undefined;
}

/** A recorded ticket change as hooks see it: the ticket after the change and the timeline row. */
export interface RecordedChange {
  ticket: repo.TicketRow;
  change: TimelineChange;
  /** Who made this change (new tickets written together may come from several users). */
  origin: ChangeOrigin | null;
  eventId: string;
  at: Date;
}

/**
 * Runs in the transaction of every recorded ticket change (SLA clocks follow status,
 * priority and replies this way, exactly in step with the ticket). A hook that throws
 * rolls the change back.
 */
export type TicketChangeHook = (
  tx: Executor,
  origin: ChangeOrigin | null,
  changes: readonly RecordedChange[],
) => Promise<void>;

/** What automatic assignment knows of a ticket about to be created. */
export interface TicketDraft {
  orgId: string;
  teamId: string | null;
  categoryId: string | null;
  priority: string;
}

export interface TicketRouter {
  /**
   * The agent a new ticket goes to, or null to leave it in its team's queue. Runs in the
   * creating transaction and may lock rows until it commits.
   */
  route(tx: Executor, draft: TicketDraft): Promise<{ assigneeId: string; mode: string } | null>;
}

/**
 * `Database.withOrg` options for a transaction that changes tickets: it takes the saved
 * views' lock and reads them in the round trip of its BEGIN (`ViewCounts.lockAhead`).
 */
export function changingTickets(context: Pick<TicketsContext, 'viewCounts'>, orgId: string) {
  return { ahead: [context.viewCounts.lockAhead(orgId)] };
}

/** Tickets read and locked in a transaction's BEGIN round trip (`changingTicket`), by transaction. */
const lockedAhead = new WeakMap<Executor, Map<string, repo.TicketRow | undefined>>();

/**
 * `Database.withOrg` options for a transaction that changes one ticket: as `changingTickets`,
 * and the ticket read and locked in the same round trip (after the views' lock, the order
 * every ticket change takes them in), for its first `lockedTicket` (or `visibleTicket` with `lock`).
 */
export function changingTicket(context: Pick<TicketsContext, 'viewCounts'>, orgId: string, ticketId: string) {
  const read = aheadOf(repo.ticketStatement(orgId, ticketId, { lock: true }), (row, tx) =>
    lockedAhead.set(tx, new Map([[ticketId, row]])),
  );
  return { ahead: [context.viewCounts.lockAhead(orgId), read] };
}

/**
 * A live ticket locked for a change: the row `changingTicket` read ahead for this transaction,
 * once (later reads see the transaction's own writes), or else a locking read of its own.
 */
export async function lockedTicket(
  tx: Executor,
  orgId: string,
  ticketId: string,
): Promise<repo.TicketRow | undefined> {
  const rows = lockedAhead.get(tx);
  if (!rows?.has(ticketId)) return repo.findTicket(tx, orgId, ticketId, { lock: true });
  const row = rows.get(ticketId);
  rows.delete(ticketId);
  return row;
}

export async function viewerOf(
  context: Pick<TicketsContext, 'teamIdsOf'>,
  tx: Executor,
  actor: Actor,
): Promise<Viewer> {
  return { actor, teamIds: isAgent(actor) ? await context.teamIdsOf(tx, actor) : [] };
}

/**
 * A live ticket the viewer may see, or 404 — the same answer for a missing ticket, a
 * deleted one, another organisation's and one the viewer may not see.
 */
export async function visibleTicket(
  tx: Executor,
  viewer: Viewer,
  ticketId: string,
  options: { lock?: boolean } = {},
): Promise<repo.TicketRow> {
  const orgId = viewer.actor.orgId;
  const ticket = options.lock
    ? await lockedTicket(tx, orgId, ticketId)
    : await repo.findTicket(tx, orgId, ticketId);
  if (!ticket) throw notFound('Ticket');
  // Following matters only to a viewer who could not see the ticket otherwise.
  if (canSee(viewer, ticket, false)) return ticket;
  if (!canSee(viewer, ticket, await repo.isFollower(tx, ticket.id, viewer.actor.userId)))
    throw notFound('Ticket');
  return ticket;
}

/**
 * Loads the names a presentation needs in one statement: the people and teams the rows
 * refer to, plus `userIds`. Callers that hold the field definitions already pass them.
 */
export async function presentContext(
  context: Pick<TicketsContext, 'orgSettings'>,
  tx: Executor,
  viewer: Viewer,
  rows: {
    tickets?: readonly repo.TicketRow[];
    messages?: readonly repo.MessageRow[];
    events?: readonly repo.TicketEventRow[];
    userIds?: readonly string[];
    fields?: PresentContext['fields'];
  },
): Promise<PresentContext> {
  const { orgId } = viewer.actor;
  const ids = referencedIds(rows.tickets, rows.messages, rows.events);
  const { users, teams } = await directory.names(
    tx,
    orgId,
    [...ids.userIds, ...(rows.userIds ?? [])],
    ids.teamIds,
  );
  const fields = rows.fields ?? (await context.orgSettings.of(tx, orgId)).fields;
  return { users, teams, agent: isAgent(viewer.actor), fields };
}

export interface TimelineChange {
  type: repo.TimelineEntry['type'];
  changes?: Record<string, { from: unknown; to: unknown }>;
  data?: Record<string, unknown>;
  isInternal?: boolean;
}

/**
 * Writes timeline rows and their outbox events for changes to tickets, in the caller's
 * transaction: the one way every ticket change is recorded. `ticket` is the state after
 * the change, so listeners see where the ticket is now. An entry's own `origin` stands for
 * `actor` (a group of new tickets opened by several users).
 */
export async function recordTicketChanges(
  context: Pick<TicketsContext, 'changeHooks'>,
  tx: Executor,
  actor: ChangeOrigin | null,
  entries: ReadonlyArray<{ ticket: repo.TicketRow; change: TimelineChange; origin?: ChangeOrigin | null }>,
  orgId = actor?.orgId ?? '',
): Promise<repo.TicketEventRow[]> {
  if (entries.length === 0) return [];
  const origins = entries.map((entry) => (entry.origin === undefined ? actor : entry.origin));
  // Ids first, so each event names its timeline row and both go in one statement.
  const timeline = entries.map(({ ticket, change }, index) => ({
    id: uuidv7(),
    orgId,
    ticketId: ticket.id,
    actorId: origins[index]?.userId ?? null,
    type: change.type,
    changes: change.changes ?? {},
    data: change.data ?? {},
    isInternal: change.isInternal ?? false,
  }));
  const events = withOutbox(
    tx,
    entries.map(({ ticket, change }, index) => ({
      type: TIMELINE_EVENTS[change.type],
      origin: {
        orgId,
        actorId: origins[index]?.userId ?? null,
        requestId: origins[index]?.requestId ?? null,
      },
      aggregateId: ticket.id,
      payload: {
        eventId: timeline[index]!.id,
        type: change.type,
        number: ticket.number,
        status: ticket.status,
        priority: ticket.priority,
        teamId: ticket.teamId,
        assigneeId: ticket.assigneeId,
        requesterId: ticket.requesterId,
        isInternal: change.isInternal ?? false,
        changes: change.changes ?? {},
        data: change.data ?? {},
      },
    })),
  );
  const rows = await repo.insertTimeline(tx, timeline, events);
  if (context.changeHooks.length > 0) {
    const recorded = entries.map(({ ticket, change }, index) => ({
      ticket,
      change,
      origin: origins[index] ?? null,
      eventId: rows[index]!.id,
      at: rows[index]!.createdAt,
    }));
    for (const hook of context.changeHooks) await hook(tx, actor, recorded);
  }
  return rows;
}
