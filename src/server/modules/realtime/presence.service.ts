import { type PresenceEntry, type PresenceStore, presenceView, type Roster } from './presence.store.js';
import type { ComposeKind, PresenceResponse } from './realtime.schema.js';

/** A connected agent as presence knows them. */
export interface PresenceMember {
  socketId: string;
  userId: string;
  name: string;
}

/** Presence updates of one user on one ticket go out at most this often. */
const THROTTLE_MS = 1_000;
/** Timers fire this long after an entry's deadline, so the roster read then no longer has it. */
const EXPIRY_SLACK_MS = 25;

/**
 * Viewing, typing and composing per ticket for the sockets of this process. Entries live
 * `ttlMs` unless refreshed (`presence:ping`, a view, typing); typing lives `ttlMs` from the
 * last `ticket:typing:start`. Every change is broadcast through `publish` (the socket
 * adapter reaches every API process), throttled per user and ticket with a trailing update,
 * so the last state always goes out. An entry that runs out is broadcast by the process of
 * its socket; a process that dies takes its timers along, and its entries simply expire
 * (readers skip them, the next change of the ticket broadcasts without them).
 */
export class PresenceService {
  /** Tickets each local socket views. */
  private readonly viewing = new Map<string, { member: PresenceMember; tickets: Set<string> }>();
  private readonly expiries = new Map<string, NodeJS.Timeout>();
  private readonly throttles = new Map<string, { last: number; timer?: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    private readonly deps: {
      store: PresenceStore;
      ttlMs: number;
      /** Reports work that failed with no caller to tell (timers, broadcasts). */
      failed: (stage: string, error: unknown, context: Record<string, unknown>) => void;
      publish: (view: PresenceResponse) => void;
    },
  ) {}

  /** The presence of a ticket now (the REST endpoint and a client's first view). */
  async current(ticketId: string): Promise<PresenceResponse> {
    return presenceView(ticketId, await this.deps.store.read(ticketId));
  }

  /** Records `member` as viewing `ticketId`; returns the presence including them. */
  async view(member: PresenceMember, ticketId: string): Promise<PresenceResponse> {
    this.track(member, ticketId);
    const roster = await this.write(member, ticketId, (entry, now) => {
      entry.expiresAt = now + this.deps.ttlMs;
    });
    return presenceView(ticketId, roster);
  }

  async leave(socketId: string, ticketId: string): Promise<void> {
    const tracked = this.viewing.get(socketId);
    if (!tracked?.tickets.delete(ticketId)) return;
    await this.remove(tracked.member, ticketId);
  }

  /** Typing starts (`kind`) or stops (`kind` null; `draft` keeps the agent shown as composing). */
  async typing(member: PresenceMember, ticketId: string, kind: ComposeKind | null, draft = false) {
    this.track(member, ticketId);
    await this.write(member, ticketId, (entry, now) => {
      entry.expiresAt = now + this.deps.ttlMs;
      if (kind) {
        entry.typing = kind;
        entry.typingUntil = now + this.deps.ttlMs;
        entry.composing = kind;
      } else {
        entry.typing = null;
        entry.typingUntil = 0;
        if (!draft) entry.composing = null;
      }
    });
  }

  /** Keeps every ticket the socket views alive for another TTL. */
  async ping(socketId: string): Promise<number> {
    const tracked = this.viewing.get(socketId);
    if (!tracked) return 0;
    await Promise.all(
      [...tracked.tickets].map((ticketId) =>
        this.write(tracked.member, ticketId, (entry, now) => {
          entry.expiresAt = now + this.deps.ttlMs;
        }),
      ),
    );
    return tracked.tickets.size;
  }

  /** Clears everything of a socket that went away. */
  async disconnect(socketId: string): Promise<void> {
    const tracked = this.viewing.get(socketId);
    if (!tracked) return;
    this.viewing.delete(socketId);
    await Promise.all([...tracked.tickets].map((ticketId) => this.remove(tracked.member, ticketId)));
  }

  /** Tickets a local socket views. */
  ticketsOf(socketId: string): string[] {
    return [...(this.viewing.get(socketId)?.tickets ?? [])];
  }

  close(): void {
    this.closed = true;
    for (const timer of this.expiries.values()) clearTimeout(timer);
    for (const throttle of this.throttles.values()) clearTimeout(throttle.timer);
    this.expiries.clear();
    this.throttles.clear();
  }

  private track(member: PresenceMember, ticketId: string): void {
    const tracked = this.viewing.get(member.socketId) ?? { member, tickets: new Set<string>() };
    tracked.tickets.add(ticketId);
    this.viewing.set(member.socketId, tracked);
  }

  private async write(
    member: PresenceMember,
    ticketId: string,
    change: (entry: PresenceEntry, now: number) => void,
  ): Promise<Roster> {
    const roster = await this.deps.store.update(ticketId, (current, now) => {
      const entry = current[member.socketId] ?? {
        userId: member.userId,
        name: member.name,
        since: now,
        expiresAt: now,
        typing: null,
        typingUntil: 0,
        composing: null,
      };
      change(entry, now);
      current[member.socketId] = entry;
    });
    const entry = roster[member.socketId];
    if (entry) this.expireAt(member, ticketId, entry);
    this.changed(member.userId, ticketId);
    return roster;
  }

  private async remove(member: PresenceMember, ticketId: string): Promise<void> {
    const timerKey = `${member.socketId}|${ticketId}`;
    clearTimeout(this.expiries.get(timerKey));
    this.expiries.delete(timerKey);
    await this.deps.store.update(ticketId, (roster) => {
      delete roster[member.socketId];
    });
    this.changed(member.userId, ticketId);
  }

  /** Broadcasts when the entry's typing or viewing runs out. */
  private expireAt(member: PresenceMember, ticketId: string, entry: PresenceEntry): void {
    if (this.closed) return;
    const timerKey = `${member.socketId}|${ticketId}`;
    clearTimeout(this.expiries.get(timerKey));
    const deadline = entry.typing ? Math.min(entry.typingUntil, entry.expiresAt) : entry.expiresAt;
    const timer = setTimeout(
      () => {
        this.expiries.delete(timerKey);
        this.deps.store.read(ticketId).then(
          (roster) => {
            const left = roster[member.socketId];
            if (left) this.expireAt(member, ticketId, left);
            this.changed(member.userId, ticketId);
          },
          (error: unknown) => this.deps.failed('presence', error, { ticketId }),
        );
      },
      Math.max(0, deadline - Date.now()) + EXPIRY_SLACK_MS,
    );
    timer.unref();
    this.expiries.set(timerKey, timer);
  }

  /** Sends the ticket's presence now, or once the user's last update is a second old. */
  private changed(userId: string, ticketId: string): void {
    if (this.closed) return;
    const throttleKey = `${userId}|${ticketId}`;
    const throttle = this.throttles.get(throttleKey);
    if (throttle?.timer) return;
    const wait = throttle ? throttle.last + THROTTLE_MS - Date.now() : 0;
    if (wait <= 0) {
      this.send(throttleKey, ticketId);
      return;
    }
    const timer = setTimeout(() => this.send(throttleKey, ticketId), wait);
    timer.unref();
    this.throttles.set(throttleKey, { last: throttle!.last, timer });
  }

  private send(throttleKey: string, ticketId: string): void {
    this.throttles.set(throttleKey, { last: Date.now() });
    if (this.throttles.size > 10_000) this.forgetQuietThrottles();
    this.current(ticketId).then(this.deps.publish, (error: unknown) =>
      this.deps.failed('presence', error, { ticketId }),
    );
  }

  private forgetQuietThrottles(): void {
    const before = Date.now() - THROTTLE_MS;
    for (const [key, throttle] of this.throttles) {
      if (!throttle.timer && throttle.last < before) this.throttles.delete(key);
    }
  }
}
