import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import type { ComposeKind, PresenceResponse } from './realtime.schema.js';

/** One socket's presence on a ticket. Times are epoch milliseconds. */
export interface PresenceEntry {
  userId: string;
  name: string;
  since: number;
  /** Viewing ends here unless a ping, a view or typing moves it on. */
  expiresAt: number;
  /** Typing now (until `typingUntil`, moved on only by `ticket:typing:start`). */
  typing: ComposeKind | null;
  typingUntil: number;
  /** A reply or note being written, typed or left as a draft. */
  composing: ComposeKind | null;
}

/** Who is on a ticket, by socket id. */
export type Roster = Record<string, PresenceEntry>;

const LOCK_TTL_MS = 2_000;
const LOCK_ATTEMPTS = 25;

/**
 * Presence rosters in the ephemeral store (Redis, or memory when embedded), one key per
 * ticket expiring with its last entry, so every API process reads the same roster.
 *
 * A change is read-modify-write of the ticket's key. Writers of this process queue per
 * ticket; writers of different processes take a short lock (`setIfAbsent`), so two agents
 * opening a ticket at the same moment both appear. If the lock cannot be had (its holder
 * died), the write goes ahead: the worst case is an entry lost until the socket's next
 * ping rewrites it.
 */
export class PresenceStore {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: EphemeralStore,
    private readonly logger: Logger,
  ) {}

  /** The live roster of a ticket (expired entries left out). */
  async read(ticketId: string, now = Date.now()): Promise<Roster> {
    return live(this.parse(ticketId, await this.store.get(key(ticketId))), now);
  }

  /** Changes a ticket's roster; `change` edits the live roster in place. Returns the result. */
  update(ticketId: string, change: (roster: Roster, now: number) => void): Promise<Roster> {
    const previous = this.queues.get(ticketId) ?? Promise.resolve();
    const next = previous.then(
      () => this.locked(ticketId, change),
      () => this.locked(ticketId, change),
    );
    this.queues.set(ticketId, next);
    return next.finally(() => {
      if (this.queues.get(ticketId) === next) this.queues.delete(ticketId);
    });
  }

  private async locked(ticketId: string, change: (roster: Roster, now: number) => void): Promise<Roster> {
    const lockKey = `presence-lock:${ticketId}`;
    const token = randomUUID();
    let held = false;
    for (let attempt = 0; attempt < LOCK_ATTEMPTS && !held; attempt += 1) {
      held = await this.store.setIfAbsent(lockKey, token, LOCK_TTL_MS);
      if (!held) await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
    }
    if (!held) this.logger.warn({ ticketId }, 'presence lock not free; writing without it');
    try {
      const now = Date.now();
      const roster = live(this.parse(ticketId, await this.store.get(key(ticketId))), now);
      change(roster, now);
      const lastsUntil = Math.max(0, ...Object.values(roster).map((entry) => entry.expiresAt));
      if (lastsUntil > now) await this.store.set(key(ticketId), JSON.stringify(roster), lastsUntil - now);
      else await this.store.delete(key(ticketId));
      return roster;
    } finally {
      // Released only when still ours: after LOCK_TTL_MS another writer may hold it.
      if (held && (await this.store.get(lockKey)) === token) await this.store.delete(lockKey);
    }
  }

  private parse(ticketId: string, value: string | null): Roster {
    if (!value) return {};
    try {
      const parsed: unknown = JSON.parse(value);
      if (parsed && typeof parsed === 'object') return parsed as Roster;
    } catch (error) {
      this.logger.warn({ err: error, ticketId }, 'unreadable presence roster; starting a new one');
      return {};
    }
    this.logger.warn({ ticketId }, 'unreadable presence roster; starting a new one');
    return {};
  }
}

/** The roster as clients see it: one viewer per user (several tabs count once), typers apart. */
export function presenceView(ticketId: string, roster: Roster, now = Date.now()): PresenceResponse {
  const viewers = new Map<string, PresenceResponse['viewers'][number] & { sinceMs: number }>();
  const typers = new Map<string, PresenceResponse['typers'][number]>();
  for (const entry of Object.values(live(roster, now))) {
    const typing = entry.typing && entry.typingUntil > now ? entry.typing : null;
    const seen = viewers.get(entry.userId);
    const composing = typing ?? entry.composing ?? seen?.composing ?? null;
    const sinceMs = Math.min(entry.since, seen?.sinceMs ?? entry.since);
    viewers.set(entry.userId, {
      userId: entry.userId,
      name: entry.name,
      since: new Date(sinceMs).toISOString(),
      sinceMs,
      composing,
    });
    if (typing) typers.set(entry.userId, { userId: entry.userId, name: entry.name, kind: typing });
  }
  return {
    ticketId,
    viewers: [...viewers.values()]
      .sort((a, b) => a.sinceMs - b.sinceMs)
      .map(({ sinceMs: _since, ...viewer }) => viewer),
    typers: [...typers.values()],
  };
}

function key(ticketId: string): string {
  return `presence:${ticketId}`;
}

function live(roster: Roster, now: number): Roster {
  for (const [socketId, entry] of Object.entries(roster)) if (entry.expiresAt <= now) delete roster[socketId];
  return roster;
}
