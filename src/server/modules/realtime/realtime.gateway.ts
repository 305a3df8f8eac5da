import type { Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Server, type Socket } from 'socket.io';
import type { z } from 'zod';
import type { Config } from '../../config.js';
import { DOMAIN_EVENTS_CHANNEL } from '../../platform/events/outbox-relay.js';
import { AppError } from '../../platform/http/app-error.js';
import type { Metrics } from '../../platform/metrics.js';
import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { IdentityModule } from '../identity/index.js';
import { canSee, isAgent, type TicketsModule } from '../tickets/index.js';
import { PresenceService } from './presence.service.js';
import { PresenceStore } from './presence.store.js';
import { catchUp } from './realtime.catchup.js';
import { coalesceWrites } from './realtime.coalescing.js';
import { errorBody, handshakeError, refusalReason } from './realtime.errors.js';
import { TicketFanout } from './realtime.fanout.js';
import { createRealtimeMetrics, type RealtimeMetrics } from './realtime.metrics.js';
import { rooms } from './realtime.rooms.js';
import {
  AuthRefresh,
  HandshakeAuth,
  PresencePing,
  SyncRequest,
  TicketRef,
  TypingStart,
  TypingStop,
} from './realtime.schema.js';
import { joinSessionRooms, type Session, Sessions, updateTeamRooms } from './realtime.sessions.js';

/** How often every socket's credential is checked again (expired access tokens end their sockets). */
const REAUTHENTICATE_INTERVAL_MS = 30_000;
/** Largest client message accepted; the protocol's messages are a few hundred bytes. */
const MAX_MESSAGE_BYTES = 16_384;

type Ack = (answer: unknown) => void;

export interface GatewayDeps {
  config: Pick<Config, 'redisUrl' | 'redisPrefix' | 'realtime'>;
  identity: Pick<IdentityModule, 'auth' | 'me' | 'onRevocation'>;
  tickets: Pick<TicketsModule, 'tickets' | 'feed'>;
  pubsub: PubSub;
  store: EphemeralStore;
  metrics: Metrics;
  logger: Logger;
}

/**
 * The Socket.io server on the API's HTTP port: authenticated handshakes, rooms, the client
 * events (view, leave, typing, ping, sync, token refresh), presence, ticket events from the
 * relay and reconnect catch-up. With Redis the Socket.io Redis adapter joins the API
 * processes (presence broadcasts, connection counts); ticket events reach every process
 * through the `domain-events` channel instead, and each serves its own sockets.
 */
export class RealtimeGateway {
  readonly io: Server;
  readonly presence: PresenceService;
  private readonly sessions: Sessions;
  private readonly fanout: TicketFanout;
  private readonly metrics: RealtimeMetrics;
  private readonly redis: Redis[] = [];
  private readonly stops: Array<() => Promise<void>> = [];
  private reauthenticateTimer: NodeJS.Timeout | undefined;
  private reauthenticating: Promise<void> | undefined;
  private reauthenticateAgain = false;
  private readonly membershipRefreshes = new Map<string, Promise<void>>();

  constructor(
    httpServer: HttpServer,
    private readonly deps: GatewayDeps,
  ) {
    const { config, logger } = deps;
    this.io = new Server(httpServer, { serveClient: false, maxHttpBufferSize: MAX_MESSAGE_BYTES });
    if (config.redisUrl) this.io.adapter(this.redisAdapter(config.redisUrl, config.redisPrefix));
    this.sessions = new Sessions(this.io);
    this.metrics = createRealtimeMetrics(deps.metrics, () => this.io.of('/').sockets.size);
    this.presence = new PresenceService({
      store: new PresenceStore(deps.store, logger),
      ttlMs: config.realtime.presenceTtlMs,
      failed: (stage, error, context) => this.failed(stage, error, context),
      // Through the adapter: viewers of the ticket may be connected to any API process.
      publish: (view) => {
        this.io.to(rooms.ticket(view.ticketId)).except(rooms.requesters).emit('presence:update', view);
        this.metrics.emitted.inc({ event: 'presence:update' });
      },
    });
    this.fanout = new TicketFanout({
      io: this.io,
      sessions: this.sessions,
      tickets: deps.tickets,
      metrics: this.metrics,
      logger,
      intervalMs: deps.config.realtime.fanoutIntervalMs,
      evict: (socketId, ticketId) => this.evict(socketId, ticketId),
      membershipChanged: (orgId) => this.refreshMemberships(orgId),
    });
    this.io.use((socket, next) => {
      this.handshake(socket).then(
        () => next(),
        (error: unknown) => {
          if (error instanceof AppError) this.metrics.rejected.inc({ reason: refusalReason(error) });
          else this.failed('handshake', error);
          next(handshakeError(error));
        },
      );
    });
    this.io.on('connection', (socket) => this.connected(socket));
  }

  async start(): Promise<void> {
    this.stops.push(
      await this.deps.pubsub.subscribe(DOMAIN_EVENTS_CHANNEL, (message) => this.fanout.receive(message)),
      await this.deps.identity.onRevocation(() => {
        void this.reauthenticate();
      }),
    );
    this.reauthenticateTimer = setInterval(() => void this.reauthenticate(), REAUTHENTICATE_INTERVAL_MS);
    this.reauthenticateTimer.unref();
  }

  /** Resolves once the ticket events received so far were sent (tests, shutdown). */
  idle(): Promise<void> {
    return this.fanout.idle();
  }

  /** Ends every socket of this process (their presence first), then the adapter's connections. */
  async close(): Promise<void> {
    clearInterval(this.reauthenticateTimer);
    for (const stop of this.stops.splice(0))
      await stop().catch((error: unknown) => this.failed('redis', error));
    await this.fanout.idle();
    const sockets = this.sessions.all();
    await Promise.all(
      sockets.map(({ socket }) =>
        this.presence.disconnect(socket.id).catch((error: unknown) => this.failed('presence', error)),
      ),
    );
    this.presence.close();
    this.io.local.disconnectSockets(true);
    await this.io.of('/').adapter.close();
    // The HTTP server is Fastify's: it closes it after this hook.
    this.io.engine.close();
    await Promise.all(this.redis.map((client) => client.quit().catch(() => client.disconnect())));
  }

  private redisAdapter(url: string, prefix: string) {
    const connect = (role: string) => {
      const client = new Redis(url, {
        connectionName: `${prefix}:socket.io-${role}`,
        maxRetriesPerRequest: 1,
      });
      client.on('error', (error: unknown) =>
        this.deps.logger.error({ err: error, connection: `socket.io-${role}` }, 'Redis connection error'),
      );
      this.redis.push(client);
      return client;
    };
    const pub = connect('pub');
    // The adapter drops the promises of its PUBLISH commands: a failure (Redis down) would be
    // an unhandled rejection, which ends the process. Caught here, counted and logged.
    const publish = pub.publish.bind(pub);
    pub.publish = ((channel: string, message: string | Buffer) =>
      publish(channel, message).catch((error: unknown) => {
        this.failed('redis', error, { channel });
        return 0;
      })) as typeof pub.publish;
    return createAdapter(pub, connect('sub'), {
      key: `${prefix}:socket.io`,
      publishOnSpecificResponseChannel: true,
    });
  }

  /** Authenticates the handshake, enforces the connection cap and loads the user's profile. */
  private async handshake(socket: Socket): Promise<void> {
    const offered = HandshakeAuth.safeParse(socket.handshake.auth ?? {});
    if (!offered.success) throw new AppError('BAD_REQUEST', 'auth must be { token, lastEventId? }');
    const header = socket.handshake.headers.authorization;
    const authorization = offered.data.token ? `Bearer ${offered.data.token}` : header;
    const actor = await this.deps.identity.auth.authenticate(authorization);
    const cap = this.deps.config.realtime.maxConnectionsPerUser;
    const open = await this.openSockets(actor.userId);
    if (open >= cap)
      throw new AppError('RATE_LIMITED', `At most ${cap} connections per user; close another one first`);
    const profile = await this.deps.identity.me.me(actor);
    const session: Session = {
      actor,
      authorization: authorization!,
      name: profile.user.name,
      teamIds: profile.teams.map((team) => team.id),
      rate: { windowStart: Date.now(), count: 0 },
    };
    this.sessions.set(socket, session);
    // Only what other processes may see (fetchSockets ships socket.data through Redis).
    socket.data = { userId: actor.userId, orgId: actor.orgId };
  }

  /**
   * The user's sockets on every API process. Without an answer from the other processes
   * (Redis unreachable) the local count stands in: refusing everyone would be worse.
   */
  private async openSockets(userId: string): Promise<number> {
    try {
      return (await this.io.in(rooms.user(userId)).fetchSockets()).length;
    } catch (error) {
      this.failed('redis', error, { during: 'connection count' });
      return this.sessions.localSockets(rooms.user(userId)).length;
    }
  }

  private connected(socket: Socket): void {
    const session = this.sessions.get(socket)!;
    coalesceWrites(socket);
    joinSessionRooms(socket, session);
    const agent = isAgent(session.actor);
    const member = () => ({ socketId: socket.id, userId: session.actor.userId, name: session.name });

    this.on(socket, 'ticket:view', TicketRef, async ({ ticketId }) => {
      const [ticket] = await this.deps.tickets.tickets.summaries(session.actor, [ticketId]);
      if (!ticket) throw new AppError('NOT_FOUND', 'Ticket not found');
      const joined = [rooms.ticket(ticketId)];
      // Seen only as a follower: the followers' room brings the ticket's events along.
      if (!canSee(session, ticket, false)) joined.push(rooms.followers(ticketId));
      socket.join(joined);
      if (!agent) return {};
      return { presence: await this.presence.view(member(), ticketId) };
    });
    this.on(socket, 'ticket:leave', TicketRef, async ({ ticketId }) => {
      socket.leave(rooms.ticket(ticketId));
      await this.presence.leave(socket.id, ticketId);
      return {};
    });
    this.on(socket, 'ticket:typing:start', TypingStart, async ({ ticketId, kind }) => {
      this.requireViewing(socket, agent, ticketId);
      await this.presence.typing(member(), ticketId, kind);
      return {};
    });
    this.on(socket, 'ticket:typing:stop', TypingStop, async ({ ticketId, draft }) => {
      this.requireViewing(socket, agent, ticketId);
      await this.presence.typing(member(), ticketId, null, draft);
      return {};
    });
    this.on(socket, 'presence:ping', PresencePing, async () => ({
      tickets: agent ? await this.presence.ping(socket.id) : 0,
    }));
    this.on(socket, 'sync', SyncRequest, async ({ lastEventId }) =>
      catchUp(socket, session, lastEventId, this.catchUpDeps()),
    );
    this.on(socket, 'auth:refresh', AuthRefresh, async ({ token }) => {
      const actor = await this.deps.identity.auth.authenticate(`Bearer ${token}`);
      const same = (a: typeof actor) => `${a.orgId}/${a.userId}/${[...a.permissions].sort().join()}`;
      // The rooms and the audience were chosen for the first credential's user and permissions.
      if (same(actor) !== same(session.actor))
        throw new AppError(
          'FORBIDDEN',
          'A socket keeps its user and permissions; connect again to change them',
        );
      session.actor = actor;
      session.authorization = `Bearer ${token}`;
      return {};
    });
    socket.on('disconnect', () => {
      this.presence.disconnect(socket.id).catch((error: unknown) => this.failed('presence', error));
    });

    const lastEventId = HandshakeAuth.safeParse(socket.handshake.auth ?? {}).data?.lastEventId;
    if (lastEventId) {
      catchUp(socket, session, lastEventId, this.catchUpDeps()).catch((error: unknown) =>
        this.failed('catch_up', error, { socketId: socket.id }),
      );
    }
  }

  /**
   * Registers a client event: rate limited per socket, payload validated, answered through
   * the acknowledgement as `{ ok: true, … }` or `{ ok: false, error }` (the common error
   * shape's code, status and message).
   */
  private on<S extends z.ZodType>(
    socket: Socket,
    event: string,
    schema: S,
    handle: (input: z.output<S>) => Promise<Record<string, unknown>>,
  ): void {
    socket.on(event, (...args: unknown[]) => {
      const ack: Ack | undefined = typeof args.at(-1) === 'function' ? (args.pop() as Ack) : undefined;
      const answer = (value: unknown) => ack?.(value);
      const session = this.sessions.get(socket);
      if (!session) return;
      const limited = this.rateLimited(session);
      if (limited) {
        this.metrics.rejected.inc({ reason: 'rate_limited' });
        answer({ ok: false, error: errorBody(limited) });
        return;
      }
      const input = schema.safeParse(args[0]);
      if (!input.success) {
        answer({
          ok: false,
          error: errorBody(
            new AppError('VALIDATION_FAILED', `Invalid ${event} payload`, {
              details: input.error.issues.map((issue) => ({
                path: issue.path.join('.'),
                message: issue.message,
              })),
            }),
          ),
        });
        return;
      }
      handle(input.data).then(
        (result) => answer({ ok: true, ...result }),
        (error: unknown) => {
          if (!(error instanceof AppError)) this.failed('client_event', error, { event });
          answer({ ok: false, error: errorBody(error) });
        },
      );
    });
  }

  private rateLimited(session: Session): AppError | undefined {
    const { max, windowMs } = this.deps.config.realtime.eventRateLimit;
    const now = Date.now();
    if (now - session.rate.windowStart >= windowMs) session.rate = { windowStart: now, count: 0 };
    session.rate.count += 1;
    if (session.rate.count <= max) return undefined;
    return new AppError('RATE_LIMITED', `At most ${max} events per ${windowMs / 1000} s`, {
      retryAfterSeconds: Math.max(1, Math.ceil((session.rate.windowStart + windowMs - now) / 1000)),
    });
  }

  /** Presence is shared among agents, about tickets they have open. */
  private requireViewing(socket: Socket, agent: boolean, ticketId: string): void {
    if (!agent) throw new AppError('FORBIDDEN', 'Presence is shared among agents only');
    if (!socket.rooms.has(rooms.ticket(ticketId)))
      throw new AppError('UNPROCESSABLE', 'Send ticket:view for this ticket first');
  }

  private catchUpDeps() {
    return {
      feed: this.deps.tickets.feed,
      maxEvents: this.deps.config.realtime.catchUpMaxEvents,
      emitted: this.metrics.emitted,
    };
  }

  /** A socket that may no longer see a ticket (moved to another team, unfollowed) leaves it. */
  private evict(socketId: string, ticketId: string): void {
    const found = this.sessions.find(socketId);
    if (!found) return;
    found.socket.leave(rooms.ticket(ticketId));
    this.presence.leave(socketId, ticketId).catch((error: unknown) => this.failed('presence', error));
  }

  /**
   * Checks every socket's credential again: a revoked session, deactivated user, changed
   * role, revoked API token or expired access token ends the socket (`session:ended`).
   */
  private reauthenticate(): Promise<void> {
    // Revocations may come in bursts: one round at a time, and one more after it.
    if (this.reauthenticating) {
      this.reauthenticateAgain = true;
      return this.reauthenticating;
    }
    this.reauthenticating = this.reauthenticateAll().finally(() => {
      this.reauthenticating = undefined;
      if (this.reauthenticateAgain) {
        this.reauthenticateAgain = false;
        void this.reauthenticate();
      }
    });
    return this.reauthenticating;
  }

  private async reauthenticateAll(): Promise<void> {
    await Promise.all(
      this.sessions.all().map(async ({ socket, session }) => {
        try {
          await this.deps.identity.auth.authenticate(session.authorization);
        } catch (error) {
          if (error instanceof AppError && error.statusCode === 401) {
            socket.emit('session:ended', { code: error.code, message: error.message });
            socket.disconnect(true);
            return;
          }
          // The store could not answer (an API token lookup): try again at the next round.
          this.failed('reauthenticate', error, { socketId: socket.id });
        }
      }),
    );
  }

  /** Reads the teams of an organisation's local agent sockets again (one refresh at a time). */
  private refreshMemberships(orgId: string): void {
    if (this.membershipRefreshes.has(orgId)) return;
    const refresh = Promise.all(
      this.sessions.localSockets(rooms.viewTeam(orgId)).map(async ({ socket, session }) => {
        const profile = await this.deps.identity.me.me(session.actor);
        updateTeamRooms(
          socket,
          session,
          profile.teams.map((team) => team.id),
        );
      }),
    )
      .then(() => undefined)
      .catch((error: unknown) => this.failed('memberships', error, { orgId }))
      .finally(() => this.membershipRefreshes.delete(orgId));
    this.membershipRefreshes.set(orgId, refresh);
  }

  private failed(stage: string, error: unknown, context: Record<string, unknown> = {}): void {
    this.metrics.failures.inc({ stage });
    this.deps.logger.error({ err: error, stage, ...context }, 'realtime work failed');
  }
}
