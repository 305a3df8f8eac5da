/**
 * Pub/sub and short-lived keys (presence, counters, revocations). Two drivers — Redis and
 * memory — implement these ports; one contract test suite runs against both.
 *
 * Nothing stored here is the source of truth: it may vanish on restart (memory) or expire.
 */

export type MessageHandler = (message: string, channel: string) => void;

export interface PubSub {
  readonly driver: 'memory' | 'redis';
  /** Publishes to every subscriber of `channel` in every process sharing the backend. */
  publish(channel: string, message: string): Promise<void>;
  /** Publishes `messages` in order, in one round trip where the driver has round trips. */
  publishMany(channel: string, messages: readonly string[]): Promise<void>;
  /** Resolves once the subscription is active; the returned function unsubscribes. */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface EphemeralStore {
  readonly driver: 'memory' | 'redis';
  /** Sets `key` to `value`, expiring after `ttlMs`. */
  set(key: string, value: string, ttlMs: number): Promise<void>;
  /** Sets only when absent; true when this call set it (a lock or a once-only marker). */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  get(key: string): Promise<string | null>;
  delete(key: string): Promise<void>;
  /**
   * Increments a counter and returns its new value; the first increment starts a window
   * of `ttlMs` after which the counter disappears (fixed-window rate limiting).
   */
  increment(key: string, ttlMs: number): Promise<number>;
  /** Milliseconds until `key` expires, or null when it does not exist. */
  ttl(key: string): Promise<number | null>;
  /** Keys that start with `prefix` (with values), for warm-up of local caches. Unordered. */
  scan(prefix: string): Promise<Array<{ key: string; value: string }>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Where drivers report failures that have no caller to reject (a throwing subscriber, a
 * dropped connection). A pino logger fits.
 */
export interface PubSubLogger {
  error(obj: object, msg: string): void;
}
