import type { Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import { routedTeamIds } from './assignment.repository.js';

/**
 * The teams of each organisation whose routing is on, cached per process: every ticket
 * created into a team asks, and most teams route nothing, so without it every create would
 * pay a statement for nothing. Routing changes evict the organisation after commit in every
 * process. A create that raced a routing change and skipped routing leaves its ticket in
 * the queue, which the change's own drain (or the minutely sweep) assigns.
 */
export class RoutedTeamsCache {
  private readonly cache: SharedCache<ReadonlySet<string>>;
  private started: Promise<void> | undefined;

  constructor(pubsub: PubSub) {
    this.cache = new SharedCache(pubsub, 'team-routing-invalidated', { ttlMs: 60_000, maxEntries: 10_000 });
  }

  /** Subscribes to evictions from other processes (once). */
  start(): Promise<void> {
    this.started ??= this.cache.start();
    return this.started;
  }

  of(tx: Executor, orgId: string): Promise<ReadonlySet<string>> {
    return this.cache.load(orgId, async () => new Set(await routedTeamIds(tx, orgId)));
  }

  /** Call after the routing change committed. */
  invalidate(orgId: string): Promise<void> {
    return this.cache.invalidate(orgId);
  }
}
