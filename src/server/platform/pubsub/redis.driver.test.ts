import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { describePubSubContract } from './pubsub.contract.js';
import type { PubSubLogger } from './pubsub.port.js';
import { RedisEphemeralStore, RedisPubSub } from './redis.driver.js';

const redisUrl = process.env.REDIS_URL;
// One prefix per test file, so parallel files (and runs) never see each other's keys.
const prefix = `sbtest-${randomUUID()}`;

function recordingLogger(): PubSubLogger & { entries: Array<{ obj: object; msg: string }> } {
  const entries: Array<{ obj: object; msg: string }> = [];
  return { entries, error: (obj, msg) => entries.push({ obj, msg }) };
}

describe.skipIf(!redisUrl)('redis driver', () => {
  const url = redisUrl ?? '';

  afterAll(async () => {
    const admin = new Redis(url);
    let cursor = '0';
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await admin.del(...keys);
    } while (cursor !== '0');
    await admin.quit();
  });

  describePubSubContract('redis', async () => {
    const logger = recordingLogger();
    return {
      pubsub: new RedisPubSub({ redisUrl: url, prefix, logger }),
      pubsub2: new RedisPubSub({ redisUrl: url, prefix, logger }),
      store: new RedisEphemeralStore({ redisUrl: url, prefix, logger }),
    };
  });

  it('prefixes keys and channels in Redis and hides the prefix from callers', async () => {
    const store = new RedisEphemeralStore({ redisUrl: url, prefix });
    const pubsub = new RedisPubSub({ redisUrl: url, prefix });
    const raw = new Redis(url);
    try {
      await store.set('visible', 'v', 60_000);
      expect(await raw.get(`${prefix}:visible`)).toBe('v');
      expect(await raw.get('visible')).toBeNull();

      const received: string[] = [];
      await pubsub.subscribe('room', (message, channel) => received.push(`${channel}=${message}`));
      await raw.publish('room', 'unprefixed');
      await raw.publish(`${prefix}:room`, 'prefixed');
      await vi.waitFor(() => expect(received).toEqual(['room=prefixed']));
    } finally {
      await Promise.all([store.close(), pubsub.close(), raw.quit()]);
    }
  });

  it('keeps deployments with different prefixes apart', async () => {
    const mine = new RedisEphemeralStore({ redisUrl: url, prefix });
    const other = new RedisEphemeralStore({ redisUrl: url, prefix: `${prefix}-other` });
    try {
      await mine.set('shared-name', 'mine', 60_000);
      expect(await other.get('shared-name')).toBeNull();
      expect(await other.scan('')).toEqual([]);
    } finally {
      await Promise.all([mine.close(), other.close()]);
    }
  });

  it('shares one SUBSCRIBE between handlers of a channel', async () => {
    const pubsub = new RedisPubSub({ redisUrl: url, prefix });
    const raw = new Redis(url);
    try {
      const unsubscribeA = await pubsub.subscribe('shared', () => undefined);
      const unsubscribeB = await pubsub.subscribe('shared', () => undefined);
      const counts = async () => (await raw.pubsub('NUMSUB', `${prefix}:shared`))[1];
      expect(await counts()).toBe(1);
      await unsubscribeA();
      expect(await counts()).toBe(1);
      await unsubscribeB();
      await vi.waitFor(async () => expect(await counts()).toBe(0));
    } finally {
      await Promise.all([pubsub.close(), raw.quit()]);
    }
  });

  it('logs failing handlers with their channel', async () => {
    const logger = recordingLogger();
    const pubsub = new RedisPubSub({ redisUrl: url, prefix, logger });
    try {
      const failure = new Error('boom (expected by the test)');
      await pubsub.subscribe('alerts', () => {
        throw failure;
      });
      await pubsub.publish('alerts', 'x');
      await vi.waitFor(() =>
        expect(logger.entries).toEqual([
          { obj: { err: failure, channel: 'alerts' }, msg: 'Pub/sub handler failed' },
        ]),
      );
    } finally {
      await pubsub.close();
    }
  });

  it('resubscribes after the subscriber connection drops', async () => {
    const logger = recordingLogger();
    const pubsub = new RedisPubSub({ redisUrl: url, prefix, logger });
    const raw = new Redis(url);
    try {
      const received: string[] = [];
      await pubsub.subscribe('resilient', (message) => received.push(message));
      const clients = await raw.client('LIST');
      const line = String(clients)
        .split('\n')
        .find((entry) => entry.includes(`name=${prefix}:subscriber `));
      const id = line?.match(/^id=(\d+)/)?.[1];
      expect(id).toBeDefined();
      await raw.client('KILL', 'ID', id ?? '');
      // Published until one arrives: messages sent while the connection is down are lost.
      await vi.waitFor(
        async () => {
          await pubsub.publish('resilient', 'after reconnect');
          expect(received.length).toBeGreaterThan(0);
        },
        { timeout: 5_000, interval: 100 },
      );
    } finally {
      await Promise.all([pubsub.close(), raw.quit()]);
    }
  });

  it('fails ping fast when Redis is unreachable, and closes cleanly', async () => {
    const logger = recordingLogger();
    // Port 1 refuses connections, which is how a stopped Redis looks.
    const store = new RedisEphemeralStore({ redisUrl: 'redis://127.0.0.1:1', prefix, logger });
    const pubsub = new RedisPubSub({ redisUrl: 'redis://127.0.0.1:1', prefix, logger });
    const started = performance.now();
    await expect(store.ping()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1_500);
    await expect(store.get('k')).rejects.toThrow();
    await expect(pubsub.publish('c', 'm')).rejects.toThrow();
    await expect(pubsub.subscribe('c', () => undefined)).rejects.toThrow();
    expect(logger.entries.some((entry) => entry.msg === 'Redis connection error')).toBe(true);
    await Promise.all([store.close(), pubsub.close()]);
  });
});
