import type { EphemeralStore, MessageHandler, PubSub, PubSubLogger } from './pubsub.port.js';
import { assertValidTtl, consoleLogger, invokeHandler } from './pubsub.shared.js';

/** @internal One handler registered on a {@link MemoryBus}. */
export interface BusSubscription {
  readonly handler: MessageHandler;
  readonly logger: PubSubLogger;
  /** Cleared on unsubscribe so messages already scheduled are not delivered afterwards. */
  active: boolean;
}

/**
 * The in-process stand-in for a Redis server: every `MemoryPubSub` built on the same bus sees
 * the others' messages, the way processes sharing one Redis do.
 */
export class MemoryBus {
  readonly #channels = new Map<string, Set<BusSubscription>>();

  /** @internal */
  add(channel: string, subscription: BusSubscription): void {
    let subscriptions = this.#channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.#channels.set(channel, subscriptions);
    }
    subscriptions.add(subscription);
  }

  /** @internal */
  remove(channel: string, subscription: BusSubscription): void {
    subscription.active = false;
    const subscriptions = this.#channels.get(channel);
    if (!subscriptions) return;
    subscriptions.delete(subscription);
    if (subscriptions.size === 0) this.#channels.delete(channel);
  }

  /** @internal */
  publish(channel: string, message: string): void {
    const subscriptions = this.#channels.get(channel);
    if (!subscriptions) return;
    // Snapshot now: like Redis, a message goes to whoever was subscribed when it was sent.
    const recipients = [...subscriptions];
    // setImmediate rather than a microtask so a publisher awaiting in a loop lets I/O
    // interleave, as it would with a network hop; one callback per message keeps order.
    setImmediate(() => {
      for (const recipient of recipients) {
        if (recipient.active) invokeHandler(recipient.handler, message, channel, recipient.logger);
      }
    });
  }
}

/** Options of {@link MemoryPubSub}. */
export interface MemoryPubSubOptions {
  /** Share one bus between instances to simulate several processes; a private one by default. */
  bus?: MemoryBus;
  /** Receives handler failures; console by default. */
  logger?: PubSubLogger;
}

/** Pub/sub within one process (embedded mode and tests). Delivery is always asynchronous. */
export class MemoryPubSub implements PubSub {
  readonly driver = 'memory' as const;
  readonly #bus: MemoryBus;
  readonly #logger: PubSubLogger;
  readonly #subscriptions = new Map<BusSubscription, string>();
  #closed = false;

  constructor(options: MemoryPubSubOptions = {}) {
    this.#bus = options.bus ?? new MemoryBus();
    this.#logger = options.logger ?? consoleLogger;
  }

  async publish(channel: string, message: string): Promise<void> {
    this.#assertOpen();
    this.#bus.publish(channel, message);
  }

  async publishMany(channel: string, messages: readonly string[]): Promise<void> {
    this.#assertOpen();
    for (const message of messages) this.#bus.publish(channel, message);
  }

  async subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    const subscription: BusSubscription = { handler, logger: this.#logger, active: true };
    this.#bus.add(channel, subscription);
    this.#subscriptions.set(subscription, channel);
    return async () => {
      this.#bus.remove(channel, subscription);
      this.#subscriptions.delete(subscription);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const [subscription, channel] of this.#subscriptions) this.#bus.remove(channel, subscription);
    this.#subscriptions.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('MemoryPubSub is closed');
  }
}

interface StoredEntry {
  value: string;
  /** On the monotonic clock (`performance.now()`), so wall-clock jumps do not expire keys. */
  expiresAt: number;
}

/** Options of {@link MemoryEphemeralStore}. */
export interface MemoryEphemeralStoreOptions {
  /** How often expired entries are dropped; reads honour expiry exactly regardless. */
  sweepIntervalMs?: number;
}

/** Short-lived keys in process memory; lost on restart, which the port allows. */
export class MemoryEphemeralStore implements EphemeralStore {
  readonly driver = 'memory' as const;
  readonly #entries = new Map<string, StoredEntry>();
  readonly #sweepTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: MemoryEphemeralStoreOptions = {}) {
    const sweepIntervalMs = options.sweepIntervalMs ?? 10_000;
    // Without the sweep, keys written once and never read again would stay forever.
    this.#sweepTimer = setInterval(() => this.#sweep(), sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  /** Entries held, including expired ones not swept yet (for metrics and tests). */
  get size(): number {
    return this.#entries.size;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    this.#assertOpen();
    assertValidTtl(ttlMs);
    this.#entries.set(key, { value, expiresAt: performance.now() + ttlMs });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    this.#assertOpen();
    assertValidTtl(ttlMs);
    // Check and write happen in one synchronous turn, which is what makes this atomic.
    if (this.#readLive(key)) return false;
    this.#entries.set(key, { value, expiresAt: performance.now() + ttlMs });
    return true;
  }

  async get(key: string): Promise<string | null> {
    this.#assertOpen();
    return this.#readLive(key)?.value ?? null;
  }

  async delete(key: string): Promise<void> {
    this.#assertOpen();
    this.#entries.delete(key);
  }

  async increment(key: string, ttlMs: number): Promise<number> {
    this.#assertOpen();
    assertValidTtl(ttlMs);
    const entry = this.#readLive(key);
    if (!entry) {
      this.#entries.set(key, { value: '1', expiresAt: performance.now() + ttlMs });
      return 1;
    }
    const current = Number(entry.value);
    if (!/^-?\d+$/.test(entry.value) || !Number.isSafeInteger(current + 1)) {
      throw new Error(`Cannot increment "${key}": value is not an integer`);
    }
    // The expiry is left alone: the window starts at the first increment only.
    entry.value = String(current + 1);
    return current + 1;
  }

  async ttl(key: string): Promise<number | null> {
    this.#assertOpen();
    const entry = this.#readLive(key);
    return entry ? Math.ceil(entry.expiresAt - performance.now()) : null;
  }

  async scan(prefix: string): Promise<Array<{ key: string; value: string }>> {
    this.#assertOpen();
    const now = performance.now();
    const found: Array<{ key: string; value: string }> = [];
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now && key.startsWith(prefix)) found.push({ key, value: entry.value });
    }
    return found;
  }

  async ping(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    this.#entries.clear();
  }

  #readLive(key: string): StoredEntry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > performance.now()) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  #sweep(): void {
    const now = performance.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('MemoryEphemeralStore is closed');
  }
}
