import type { Logger } from 'pino';
import type { Server, Socket } from 'socket.io';
import { EventEnvelope } from '../../platform/events/events.js';
import {
  canSee,
  type FeedItem,
  isAgent,
  TicketEscalated,
  TicketEventPayload,
  TicketMessageCreated,
  type TicketsModule,
} from '../tickets/index.js';
import { holdWrites } from './realtime.coalescing.js';
import { socketEventOf } from './realtime.events.js';
import type { RealtimeMetrics } from './realtime.metrics.js';
import { rooms } from './realtime.rooms.js';
import type { Session, Sessions } from './realtime.sessions.js';

/** Events handled per pass; more wait for the next. */
const BATCH = 200;
/** Waits before the retries of presenting a batch (the database may be failing over). */
const RETRY_DELAYS_MS = [200, 1_000, 5_000];
/** Identity changes after which agents' team memberships are read again. */
const MEMBERSHIP_EVENTS = new Set(['team.created', 'team.updated', 'team.deleted', 'user.updated']);

interface Views {
  agent: Map<string, FeedItem>;
  requester: Map<string, FeedItem>;
}

interface Delivery {
  envelope: EventEnvelope;
  payload: TicketEventPayload;
  agents: string[];
  requesters: string[];
}

/**
 * Sends committed ticket events to the sockets of this process. Every API process receives
 * every relayed event on the `domain-events` channel and serves its own sockets (`io.local`),
 * so an event reaches each socket once, however many processes there are.
 *
 * Delivery is decided per socket with the tickets module's `canSee` (the REST rule) on the
 * ticket as the event left it: requesters get their own (and followed) tickets and never
 * internal events; agents what they may view. Payloads come from the tickets module's
 * presenters, once per event and view (agent, requester), whatever the number of sockets.
 * Events are handled in relay order, in batches, one presenting transaction per
 * organisation and view.
 */
export class TicketFanout {
  private readonly queue: EventEnvelope[] = [];
  private draining: Promise<void> | undefined;
  private lastPassAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: {
      io: Server;
      sessions: Sessions;
      tickets: Pick<TicketsModule, 'feed'>;
      metrics: RealtimeMetrics;
      logger: Logger;
      /**
       * Least time between the starts of two passes. Every socket gets one write per pass, so
       * under load the events of this interval share it; a quiet system sends at once.
       */
      intervalMs: number;
      /** A socket that may no longer see a ticket leaves its room (and presence). */
      evict: (socketId: string, ticketId: string) => void;
      /** Team memberships of an organisation changed. */
      membershipChanged: (orgId: string) => void;
    },
  ) {}

  /** Takes one message of the `domain-events` channel. */
  receive(message: string): void {
    let envelope: EventEnvelope;
    try {
      envelope = EventEnvelope.parse(JSON.parse(message));
    } catch (error) {
      this.deps.metrics.failures.inc({ stage: 'fanout' });
      this.deps.logger.error({ err: error }, 'unreadable domain event; not sent to sockets');
      return;
    }
    if (envelope.orgId && MEMBERSHIP_EVENTS.has(envelope.event)) this.deps.membershipChanged(envelope.orgId);
    if (envelope.aggregateType !== 'ticket' || !envelope.orgId || !envelope.aggregateId) return;
    this.queue.push(envelope);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  /** Resolves once every event received so far was handled. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.lastPassAt + this.deps.intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastPassAt = performance.now();
      const batch = this.queue.splice(0, BATCH);
      try {
        await this.deliver(batch);
      } catch (error) {
        this.deps.metrics.failures.inc({ stage: 'fanout' });
        this.deps.logger.error(
          { err: error, events: batch.length },
          'ticket events could not be sent to sockets',
        );
      }
    }
  }

  private async deliver(batch: EventEnvelope[]): Promise<void> {
    const byOrg = new Map<string, Delivery[]>();
    const targets = new Set<Socket>();
    const deliveries = batch.flatMap((envelope) => {
      const parsed = TicketEventPayload.safeParse(envelope.payload);
      if (!parsed.success) {
        this.deps.logger.error(
          { event: envelope.event, id: envelope.id },
          'ticket event without a ticket payload',
        );
        return [];
      }
      const delivery = this.recipients(envelope.orgId!, envelope, parsed.data, targets);
      byOrg.set(envelope.orgId!, [...(byOrg.get(envelope.orgId!) ?? []), delivery]);
      return [delivery];
    });
    // Presented per organisation in parallel, sent in relay order.
    const views = new Map(
      await Promise.all(
        [...byOrg].map(async ([orgId, list]) => [orgId, await this.views(orgId, list)] as const),
      ),
    );
    this.deps.metrics.batchEvents.observe(batch.length);
    this.deps.metrics.batchSockets.observe(targets.size);
    // A socket's events of the batch leave in one write (see realtime.coalescing.ts).
    holdWrites(targets, () => {
      for (const delivery of deliveries) {
        const view = views.get(delivery.envelope.orgId!);
        if (view) this.send(delivery, view);
      }
    });
    const writtenAt = Date.now();
    for (const { envelope, agents, requesters } of deliveries)
      if (agents.length + requesters.length > 0)
        this.deps.metrics.lag.observe(Math.max(0, writtenAt - Date.parse(envelope.createdAt)) / 1000);
  }

  /** The agent and requester views of an organisation's events, or undefined when they failed for good. */
  private async views(orgId: string, deliveries: Delivery[]): Promise<Views | undefined> {
    const wanted = (pick: (delivery: Delivery) => string[]) =>
      deliveries.filter((delivery) => pick(delivery).length > 0).map((delivery) => delivery.payload.eventId);
    try {
      const [agent, requester] = await Promise.all([
        this.present(
          orgId,
          wanted((delivery) => delivery.agents),
          true,
        ),
        this.present(
          orgId,
          wanted((delivery) => delivery.requesters),
          false,
        ),
      ]);
      return { agent, requester };
    } catch (error) {
      // Retried and failed: the sockets are told to reload rather than left silently behind.
      this.deps.metrics.failures.inc({ stage: 'fanout' });
      this.deps.logger.error(
        { err: error, orgId, events: deliveries.map((delivery) => delivery.payload.eventId) },
        'ticket events could not be presented for sockets; their clients are told to refetch',
      );
      const stale = [
        ...new Set(deliveries.flatMap((delivery) => [...delivery.agents, ...delivery.requesters])),
      ];
      this.emit(stale, 'sync:refetch', { reason: 'missed_events' });
      return undefined;
    }
  }

  private send(delivery: Delivery, views: Views): void {
    const name = socketEventOf(delivery.envelope.event);
    const agentItem = views.agent.get(delivery.payload.eventId);
    const requesterItem = views.requester.get(delivery.payload.eventId);
    if (agentItem) this.emit(delivery.agents, name, agentItem.payload);
    if (requesterItem) this.emit(delivery.requesters, name, requesterItem.payload);
    this.notify(delivery);
  }

  private async present(orgId: string, eventIds: string[], agent: boolean): Promise<Map<string, FeedItem>> {
    if (eventIds.length === 0) return new Map();
    for (let attempt = 0; ; attempt += 1) {
      try {
        const items = await this.deps.tickets.feed.present(orgId, eventIds, agent);
        return new Map(items.map((item) => [item.eventId, item]));
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) throw error;
        this.deps.logger.warn(
          { err: error, orgId, attempt: attempt + 1 },
          'presenting ticket events failed; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * The local sockets that get an event: those in the rooms that could see the ticket,
   * each checked with `canSee` on the ticket as the event left it. Sockets viewing a
   * ticket they may no longer see are evicted from its room.
   */
  private recipients(
    orgId: string,
    envelope: EventEnvelope,
    payload: TicketEventPayload,
    targets: Set<Socket>,
  ): Delivery {
    const ticketId = envelope.aggregateId!;
    this.followersChanged(ticketId, payload);
    const candidates = [
      rooms.user(payload.requesterId),
      payload.assigneeId ? rooms.user(payload.assigneeId) : undefined,
      rooms.ticket(ticketId),
      rooms.followers(ticketId),
      rooms.viewAll(orgId),
      payload.teamId ? rooms.team(payload.teamId) : rooms.viewTeam(orgId),
    ];
    const seen = new Set<string>();
    const agents: string[] = [];
    const requesters: string[] = [];
    const followersRoom = rooms.followers(ticketId);
    const ticketRoom = rooms.ticket(ticketId);
    const consider = (socket: Socket, session: Session) => {
      if (seen.has(socket.id)) return;
      seen.add(socket.id);
      if (session.actor.orgId !== orgId) return;
      if (!canSee(session, payload, socket.rooms.has(followersRoom))) {
        if (socket.rooms.has(ticketRoom)) this.deps.evict(socket.id, ticketId);
        return;
      }
      if (isAgent(session.actor)) agents.push(socket.id);
      else if (!payload.isInternal) requesters.push(socket.id);
      else return;
      targets.add(socket);
    };
    for (const room of candidates) if (room) this.deps.sessions.eachLocal(room, consider);
    return { envelope, payload, agents, requesters };
  }

  /** Keeps the followers' room of a ticket in step with its followers. */
  private followersChanged(ticketId: string, payload: TicketEventPayload): void {
    const userId = payload.data.userId;
    if (typeof userId !== 'string') return;
    if (payload.type !== 'follower_added' && payload.type !== 'follower_removed') return;
    for (const { socket } of this.deps.sessions.localSockets(rooms.user(userId))) {
      if (payload.type === 'follower_added') socket.join(rooms.followers(ticketId));
      else socket.leave(rooms.followers(ticketId));
    }
  }

  /**
   * `notification:new` for the in-app notifications an event causes (mentions, SLA
   * escalations), as `GET /notifications` will list them once they are written.
   */
  private notify({ envelope, payload }: Delivery): void {
    let recipients: string[] = [];
    let notification: Record<string, unknown> | undefined;
    if (envelope.event === TicketMessageCreated.name) {
      const mentions = Array.isArray(payload.data.mentions) ? (payload.data.mentions as string[]) : [];
      recipients = mentions.filter((userId) => userId !== envelope.actorId);
      notification = {
        kind: 'mention',
        messageId: payload.data.messageId ?? null,
        data: { number: payload.number, internal: payload.isInternal },
      };
    } else if (envelope.event === TicketEscalated.name) {
      recipients = Array.isArray(payload.data.recipients) ? (payload.data.recipients as string[]) : [];
      notification = {
        kind: 'sla_escalation',
        messageId: null,
        data: {
          number: payload.number,
          level: payload.data.level,
          trigger: payload.data.trigger,
          timerKind: payload.data.timerKind,
          reassignedTo: payload.data.reassignedTo ?? null,
        },
      };
    }
    if (!notification || recipients.length === 0) return;
    const sockets = recipients.flatMap((userId) =>
      this.deps.sessions
        .localSockets(rooms.user(userId))
        .filter(({ session }) => !payload.isInternal || isAgent(session.actor))
        .map(({ socket }) => socket.id),
    );
    if (sockets.length === 0) return;
    this.emit(sockets, 'notification:new', {
      eventId: payload.eventId,
      ticketId: envelope.aggregateId,
      actorId: envelope.actorId,
      createdAt: envelope.createdAt,
      ...notification,
    });
  }

  /** Emits once to the given local sockets (a socket's id is a room of its own). */
  private emit(socketIds: string[], event: string, payload: unknown): void {
    // An empty room list would broadcast to every socket: callers never pass one.
    if (socketIds.length === 0) return;
    this.deps.io.local.to(socketIds).emit(event, payload);
    this.deps.metrics.emitted.inc({ event });
  }
}
