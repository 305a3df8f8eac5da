import type { PubSub } from './pubsub.port.js';

/**
 * A per-process cache whose entries every process evicts together: `invalidate` deletes
 * locally and publishes the keys, and each process's subscription deletes them too. The TTL
 * bounds staleness if a message is lost; `maxEntries` bounds memory (oldest entries go first).
 */
export class SharedCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  /** Counts evictions, here and from other processes; `load` stores only if none came between. */
  private evictions = 0;

  constructor(
    private readonly pubsub: PubSub,
    private readonly channel: string,
    private readonly options: { ttlMs: number; maxEntries: number },
  ) {}

  /** Subscribes to evictions from other processes. */
  async start(): Promise<void> {
    await this.pubsub.subscribe(this.channel, (key) => {
      this.evictions += 1;
      this.entries.delete(key);
    });
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > Date.now()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * The cached value, or `loader`'s, which is stored unless an eviction arrived while it ran.
   * Writers evict after their commit, so a loader that read the old state is always
   * followed by an eviction: either during the load (the value is not stored) or after
   * the store (it is deleted).
   */
  async load(key: string, loader: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached !== undefined) return cached;
    const evictions = this.evictions;
    const value = await loader();
    if (this.evictions === evictions) this.set(key, value);
    return value;
  }

  /** Stores `value` for the cache's TTL, or until `expiresAt` (epoch ms) when that is sooner. */
  set(key: string, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    if (this.entries.size >= this.options.maxEntries) {
      // Map iteration follows insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, expiresAt: Math.min(Date.now() + this.options.ttlMs, expiresAt) });
  }

  /** Drops a key here only (a value not worth keeping, such as a miss). */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Evicts the keys here and in every other process. */
  async invalidate(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.evictions += 1;
      this.entries.delete(key);
      await this.pubsub.publish(this.channel, key);
    }
  }
}
