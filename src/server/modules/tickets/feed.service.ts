import type { Executor } from '../../platform/db/database.js';
import { type Actor, directory } from '../identity/index.js';
import { type TicketsContext, viewerOf } from './tickets.context.js';
import { TIMELINE_EVENTS, type TimelineEventType } from './tickets.events.js';
import { isAgent, visibleCondition } from './tickets.policy.js';
import {
  eventsSeenBy,
  presentEvent,
  presentMessage,
  presentTicket,
  referencedIds,
} from './tickets.presenter.js';
import * as repo from './tickets.repository.js';

/** A ticket event as live clients get it (sockets). */
export interface FeedItem {
  /** The domain event name (`ticket.assigned`, `message.created`, …). */
  event: string;
  eventId: string;
  ticketId: string;
  payload: {
    eventId: string;
    ticketId: string;
    /** The timeline entry, as `GET /tickets/:id/events` shows it. */
    event: ReturnType<typeof presentEvent>;
    /** The ticket as it is now; null once it is deleted. */
    ticket: ReturnType<typeof presentTicket> | null;
    /** The reply or note, as `POST /tickets/:id/comments` answers it. */
    message?: ReturnType<typeof presentMessage>;
  };
}

/**
 * Ticket events presented for live clients, in the agent or the requester view (the same
 * presenters as the REST API). Which client may receive which event is decided by the
 * caller with `canSee`; this service only shapes what each kind of viewer may read.
 */
export class TicketFeedService {
  constructor(private readonly context: TicketsContext) {}

  /**
   * The events `eventIds` of an organisation; the requester view (`agent` false) leaves
   * internal events out. Unknown ids are left out.
   */
  async present(orgId: string, eventIds: readonly string[], agent: boolean): Promise<FeedItem[]> {
    return this.context.database.withOrg(orgId, async (tx) =>
      this.presentRows(tx, orgId, await repo.findTimelineEvents(tx, orgId, eventIds, agent), agent),
    );
  }

  /**
   * What a reconnecting client missed: the events after `after` (an event id) on every
   * ticket the actor may see now, oldest first, at most `limit`; `more` says others follow.
   */
  async since(actor: Actor, after: string, limit: number): Promise<{ items: FeedItem[]; more: boolean }> {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const agent = isAgent(actor);
      const rows = await repo.timelineAfter(tx, actor.orgId, visibleCondition(viewer), {
        includeInternal: agent,
        after,
        limit: limit + 1,
      });
      const items = await this.presentRows(tx, actor.orgId, rows.slice(0, limit), agent);
      return { items, more: rows.length > limit };
    });
  }

  private async presentRows(
    tx: Executor,
    orgId: string,
    all: readonly repo.TicketEventRow[],
    agent: boolean,
  ): Promise<FeedItem[]> {
    const rows = eventsSeenBy(all, agent);
    if (rows.length === 0) return [];
    const messageIds = rows.flatMap((row) =>
      (row.type === 'comment_added' || row.type === 'note_added') && typeof row.data.messageId === 'string'
        ? [row.data.messageId]
        : [],
    );
    const tickets = await repo.findTickets(tx, orgId, [...new Set(rows.map((row) => row.ticketId))]);
    const messages = await repo.findMessages(tx, orgId, messageIds);
    const attachments = await repo.attachmentsOfMessages(tx, messageIds);
    const settings = await this.context.orgSettings.of(tx, orgId);
    const ids = referencedIds(tickets, messages, rows);
    const names = await directory.names(tx, orgId, ids.userIds, ids.teamIds);
    const context = { ...names, agent, fields: settings.fields };
    const ticketsById = new Map(tickets.map((ticket) => [ticket.id, presentTicket(ticket, context)]));
    const messagesById = new Map(messages.map((message) => [message.id, message]));
    return rows.map((row) => {
      const message = messagesById.get(row.data.messageId as string);
      // A requester view never carries a note, whatever the timeline row says.
      const shown = message && (agent || !message.isInternal) ? message : undefined;
      return {
        event: TIMELINE_EVENTS[row.type as TimelineEventType]?.name ?? TIMELINE_EVENTS.updated.name,
        eventId: row.id,
        ticketId: row.ticketId,
        payload: {
          eventId: row.id,
          ticketId: row.ticketId,
          event: presentEvent(row, context),
          ticket: ticketsById.get(row.ticketId) ?? null,
          ...(shown
            ? {
                message: presentMessage(
                  shown,
                  attachments.filter((attachment) => attachment.messageId === shown.id),
                  context,
                ),
              }
            : {}),
        },
      };
    });
  }
}
