import type { Database, Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import { mailboxesAt } from './inbound.repository.js';
import { listMailboxes, type MailboxRow } from './mailboxes.repository.js';

/**
 * Each organisation's live mailboxes, cached per process: every inbound mail checks whether
 * it came from one of our addresses, and every outbound mail picks the mailbox it leaves
 * from. The SMTP listener's recipient check looks mailboxes up by address, across
 * organisations. Mailbox changes evict the organisation and the addresses involved after
 * commit in every process; the TTL bounds what a lost eviction could leave behind.
 */
export class MailboxCache {
  private readonly cache: SharedCache<readonly MailboxRow[]>;
  /** Live mailboxes by address (any organisation); only found ones are kept. */
  private readonly byAddress: SharedCache<readonly MailboxRow[]>;
  private started: Promise<void> | undefined;

  constructor(pubsub: PubSub) {
    this.cache = new SharedCache(pubsub, 'mailboxes-invalidated', { ttlMs: 60_000, maxEntries: 10_000 });
    this.byAddress = new SharedCache(pubsub, 'mailbox-addresses-invalidated', {
      ttlMs: 60_000,
      maxEntries: 10_000,
    });
  }

  /** Subscribes to evictions from other processes (once). */
  start(): Promise<void> {
    this.started ??= Promise.all([this.cache.start(), this.byAddress.start()]).then(() => undefined);
    return this.started;
  }

  /**
   * The live mailboxes at `address` (lower-case, without a tag), across organisations. An
   * address without one is looked up again each time, so a new mailbox receives mail at once.
   */
  async at(database: Database, address: string): Promise<readonly MailboxRow[]> {
    const found = await this.byAddress.load(address, () =>
      database.transaction((tx) => mailboxesAt(tx, [address])),
    );
    if (found.length === 0) this.byAddress.forget(address);
    return found;
  }

  /**
   * Whether the organisation has a live mailbox at all: without one no mail goes out, and a
   * cached answer spares the caller a transaction.
   */
  async hasAny(database: Database, orgId: string): Promise<boolean> {
    return (await this.all(database, orgId)).length > 0;
  }

  /** The organisation's live mailboxes, read in a transaction of their own when not cached. */
  async all(database: Database, orgId: string): Promise<readonly MailboxRow[]> {
    return this.cache.get(orgId) ?? database.withOrg(orgId, (tx) => this.list(tx, orgId));
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

  /** Call after a mailbox change committed, with the addresses it had before and has now. */
  async invalidate(orgId: string, addresses: readonly string[] = []): Promise<void> {
    await this.cache.invalidate(orgId);
    if (addresses.length > 0) await this.byAddress.invalidate(...new Set(addresses));
  }
}
