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

// Shared by the drivers so both enforce the same rules; not part of the public surface.

/** @internal Used when a driver is built without a logger: failures must never vanish. */
export const consoleLogger: PubSubLogger = {
  error(obj, msg) {
    console.error(msg, obj);
  },
};

/** @internal Redis rejects non-integer and non-positive expiries; the memory driver must too. */
export function assertValidTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
  }
}

/**
 * @internal Runs one subscriber so that neither a throw nor a rejected promise (an async
 * handler passed where a void one is expected) reaches the publisher or other subscribers.
 */
export function invokeHandler(
  handler: MessageHandler,
  message: string,
  channel: string,
  logger: PubSubLogger,
): void {
  const report = (error: unknown) => logger.error({ err: error, channel }, 'Pub/sub handler failed');
  try {
    const result: unknown = handler(message, channel);
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}
