import type { Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import { listMailboxes, type MailboxRow } from './mailboxes.repository.js';

/**
 * Each organisation's live mailboxes, cached per process: every inbound mail checks whether
 * it came from one of our addresses, and every outbound mail picks the mailbox it leaves
 * from. Mailbox changes evict the organisation after commit in every process; the TTL bounds
 * what a lost eviction could leave behind.
 */
export class MailboxCache {
  private readonly cache: SharedCache<readonly MailboxRow[]>;
  private started: Promise<void> | undefined;

  constructor(pubsub: PubSub) {
    this.cache = new SharedCache(pubsub, 'mailboxes-invalidated', { ttlMs: 60_000, maxEntries: 10_000 });
  }

  /** Subscribes to evictions from other processes (once). */
  start(): Promise<void> {
    this.started ??= this.cache.start();
    return this.started;
  }

  /** The organisation's live mailboxes, by address. */
  list(tx: Executor, orgId: string): Promise<readonly MailboxRow[]> {
    return this.cache.load(orgId, () => listMailboxes(tx, orgId));
  }

  /**
   * The mailbox a ticket's mail goes out from: its team's (oldest first when a team has
   * several), else the organisation's default; undefined when neither exists.
   */
  async forTeam(tx: Executor, orgId: string, teamId: string | null): Promise<MailboxRow | undefined> {
    const rows = await this.list(tx, orgId);
    let chosen: MailboxRow | undefined;
    for (const row of rows)
      if (teamId !== null && row.teamId === teamId && (!chosen || row.createdAt < chosen.createdAt))
        chosen = row;
    return chosen ?? rows.find((row) => row.isDefault);
  }

  /** Call after a mailbox change committed. */
  invalidate(orgId: string): Promise<void> {
    return this.cache.invalidate(orgId);
  }
}
