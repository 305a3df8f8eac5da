import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from '../timeout.js';
import type { EphemeralStore, MessageHandler, PubSub, PubSubLogger } from './pubsub.port.js';
import { assertValidTtl, consoleLogger, invokeHandler } from './pubsub.shared.js';

/** Options of the Redis drivers. */
export interface RedisDriverOptions {
  redisUrl: string;
  /**
   * Namespace of every key and channel (`<prefix>:…`), so several deployments or parallel
   * test files can share one Redis. Callers never see it.
   */
  prefix: string;
  /** Receives connection and handler failures; console by default. */
  logger?: PubSubLogger;
}

const PING_TIMEOUT_MS = 1_000;
const SCAN_BATCH = 500;

// The window starts at the first increment only: later increments must not push it back.
// Checking PTTL rather than `value == 1` also repairs a counter left without an expiry.
const INCREMENT_SCRIPT = `
local value = redis.call('INCR', KEYS[1])
if redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return value`;

/**
 * Callers are request paths (rate limits, presence, revocation checks) that must fail fast
 * when Redis is down rather than hang:
 * - the offline queue stays on, so commands sent before the first handshake completes (or
 *   during a blip of a reconnect) wait instead of failing spuriously;
 * - `maxRetriesPerRequest: 1` rejects queued commands after the second failed reconnect
 *   attempt (a few hundred ms right after Redis goes away), not after the default 20;
 * - `commandTimeout` bounds every command, time in the offline queue included, which matters
 *   in a long outage when reconnect attempts are seconds apart, and on a half-open socket
 *   that never triggers a reconnect at all;
 * - `connectTimeout` keeps an unreachable host from stalling each attempt for the default 10 s.
 * ioredis keeps reconnecting in the background and re-subscribes channels once back;
 * messages published while the subscriber was away are lost, which the port allows.
 */
function createConnection(redisUrl: string, name: string, logger: PubSubLogger, lazy: boolean): Redis {
  const options: RedisOptions = {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    commandTimeout: 2_000,
    connectTimeout: 5_000,
    lazyConnect: lazy,
    connectionName: name,
  };
  const redis = new Redis(redisUrl, options);
  // Without a listener ioredis prints "Unhandled error event"; errors of commands still
  // reject their callers, this only reports the connection's own trouble.
  redis.on('error', (error: unknown) =>
    logger.error({ err: error, connection: name }, 'Redis connection error'),
  );
  return redis;
}

async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    // QUIT would sit in the offline queue until the retries run out.
    redis.disconnect();
    return;
  }
  try {
    await redis.quit();
  } catch (error) {
    // QUIT only fails when the socket already broke; drop it so no reconnect is attempted.
    redis.disconnect();
    if (!(error instanceof Error) || !/Connection is closed/.test(error.message)) throw error;
  }
}

function assertValidPrefix(prefix: string): void {
  if (prefix === '') throw new Error('Redis prefix must not be empty');
}

/** Escapes Redis glob metacharacters so a prefix matches only itself in SCAN MATCH. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

interface ChannelSubscriptions {
  readonly handlers: Set<{ handler: MessageHandler }>;
  /** One SUBSCRIBE per channel, however many handlers; later handlers await the same one. */
  readonly ready: Promise<void>;
}

/** Pub/sub across processes over Redis: one publisher and one (lazy) subscriber connection. */
export class RedisPubSub implements PubSub {
  readonly driver = 'redis' as const;
  readonly #options: RedisDriverOptions;
  readonly #logger: PubSubLogger;
  readonly #publisher: Redis;
  #subscriber: Redis | undefined;
  readonly #channels = new Map<string, ChannelSubscriptions>();
  #closed = false;

  constructor(options: RedisDriverOptions) {
    assertValidPrefix(options.prefix);
    this.#options = options;
    this.#logger = options.logger ?? consoleLogger;
    this.#publisher = createConnection(options.redisUrl, `${options.prefix}:publisher`, this.#logger, true);
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    await this.#publisher.publish(this.#prefixed(channel), message);
  }

  async publishMany(channel: string, messages: readonly string[]): Promise<void> {
    this.#assertOpen();
    if (messages.length === 0) return;
    const pipeline = this.#publisher.pipeline();
    for (const message of messages) pipeline.publish(this.#prefixed(channel), message);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    const subscriber = this.#getSubscriber();
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = {
        handlers: new Set(),
        ready: subscriber.subscribe(this.#prefixed(channel)).then(() => undefined),
      };
      this.#channels.set(channel, entry);
    }
    // Wrapped so the same function subscribed twice is two subscriptions.
    const registration = { handler };
    entry.handlers.add(registration);
    try {
      await entry.ready;
    } catch (error) {
      // The SUBSCRIBE may still reach Redis late; undo it, but report the original failure.
      await this.#unsubscribe(channel, registration).catch((cleanupError: unknown) =>
        this.#logger.error(
          { err: cleanupError, channel },
          'Redis UNSUBSCRIBE after a failed SUBSCRIBE failed',
        ),
      );
      throw error;
    }
    return () => this.#unsubscribe(channel, registration);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    await Promise.all([
      closeConnection(this.#publisher),
      this.#subscriber && closeConnection(this.#subscriber),
    ]);
  }

  async #unsubscribe(channel: string, registration: { handler: MessageHandler }): Promise<void> {
    const entry = this.#channels.get(channel);
    if (!entry?.handlers.delete(registration) || entry.handlers.size > 0) return;
    // Deleted before UNSUBSCRIBE is sent: a subscribe() racing with this one starts a fresh
    // SUBSCRIBE, which Redis processes after this UNSUBSCRIBE on the same connection.
    this.#channels.delete(channel);
    if (this.#subscriber && !this.#closed) await this.#subscriber.unsubscribe(this.#prefixed(channel));
  }

  #getSubscriber(): Redis {
    if (this.#subscriber) return this.#subscriber;
    const { redisUrl, prefix } = this.#options;
    const subscriber = createConnection(redisUrl, `${prefix}:subscriber`, this.#logger, false);
    const channelPrefix = `${prefix}:`;
    subscriber.on('message', (prefixedChannel: string, message: string) => {
      if (!prefixedChannel.startsWith(channelPrefix)) return;
      const channel = prefixedChannel.slice(channelPrefix.length);
      const entry = this.#channels.get(channel);
      if (!entry) return;
      for (const { handler } of [...entry.handlers]) invokeHandler(handler, message, channel, this.#logger);
    });
    this.#subscriber = subscriber;
    return subscriber;
  }

  #prefixed(channel: string): string {
    return `${this.#options.prefix}:${channel}`;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('RedisPubSub is closed');
  }
}

/** Short-lived keys in Redis, shared by every process using the same prefix. */
export class RedisEphemeralStore implements EphemeralStore {
  readonly driver = 'redis' as const;
  readonly #prefix: string;
  readonly #redis: Redis;

  constructor(options: RedisDriverOptions) {
    assertValidPrefix(options.prefix);
    this.#prefix = `${options.prefix}:`;
    const logger = options.logger ?? consoleLogger;
    this.#redis = createConnection(options.redisUrl, `${options.prefix}:store`, logger, false);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    assertValidTtl(ttlMs);
    await this.#redis.set(this.#prefix + key, value, 'PX', ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    assertValidTtl(ttlMs);
    const reply = await this.#redis.set(this.#prefix + key, value, 'PX', ttlMs, 'NX');
    return reply === 'OK';
  }

  async get(key: string): Promise<string | null> {
    return this.#redis.get(this.#prefix + key);
  }

  async delete(key: string): Promise<void> {
    await this.#redis.del(this.#prefix + key);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    assertValidTtl(ttlMs);
    const value = await this.#redis.eval(INCREMENT_SCRIPT, 1, this.#prefix + key, ttlMs);
    return Number(value);
  }

  async ttl(key: string): Promise<number | null> {
    const remaining = await this.#redis.pttl(this.#prefix + key);
    if (remaining === -2) return null;
    // -1 (no expiry) cannot come from this port's writes; report it truthfully, not as missing.
    return remaining === -1 ? Number.POSITIVE_INFINITY : remaining;
  }

  async scan(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const pattern = `${escapeGlob(this.#prefix + prefix)}*`;
    // SCAN may return a key more than once; the set removes the duplicates.
    const keys = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH);
      cursor = next;
      for (const key of batch) keys.add(key);
    } while (cursor !== '0');

    const allKeys = [...keys];
    const found: Array<{ key: string; value: string }> = [];
    for (let start = 0; start < allKeys.length; start += SCAN_BATCH) {
      const chunk = allKeys.slice(start, start + SCAN_BATCH);
      const values = await this.#redis.mget(...chunk);
      chunk.forEach((key, index) => {
        const value = values[index];
        // Null: the key expired or was deleted between SCAN and MGET.
        if (value !== null && value !== undefined) found.push({ key: key.slice(this.#prefix.length), value });
      });
    }
    return found;
  }

  async ping(): Promise<void> {
    // The PING itself stays queued until ioredis gives up; the timeout answers sooner.
    await withTimeout(this.#redis.ping(), PING_TIMEOUT_MS, 'Redis did not answer PING');
  }

  async close(): Promise<void> {
    await closeConnection(this.#redis);
  }
}
