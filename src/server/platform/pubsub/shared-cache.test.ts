import { describe, expect, it } from 'vitest';
import { MemoryBus, MemoryPubSub } from './memory.driver.js';
import { SharedCache } from './shared-cache.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SharedCache', () => {
  it('evicts a key in every process that shares the pub/sub backend', async () => {
    const bus = new MemoryBus();
    const [a, b] = [new MemoryPubSub({ bus }), new MemoryPubSub({ bus })].map(
      (pubsub) => new SharedCache<string>(pubsub, 'evict', { ttlMs: 60_000, maxEntries: 10 }),
    );
    await a!.start();
    await b!.start();
    a!.set('user-1', 'old name');
    b!.set('user-1', 'old name');
    await a!.invalidate('user-1');
    await settle();
    expect(a!.get('user-1')).toBeUndefined();
    expect(b!.get('user-1')).toBeUndefined();
  });

  it('expires entries after the TTL or an earlier deadline, and drops the oldest when full', async () => {
    const cache = new SharedCache<number>(new MemoryPubSub(), 'evict', { ttlMs: 60_000, maxEntries: 2 });
    cache.set('soon', 1, Date.now() + 20);
    cache.set('later', 2);
    expect(cache.get('soon')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(cache.get('soon')).toBeUndefined();
    cache.set('a', 3);
    cache.set('b', 4);
    expect(cache.get('later')).toBeUndefined();
    expect([cache.get('a'), cache.get('b')]).toEqual([3, 4]);
  });

  it('loads a missing value once, and does not store a load that an eviction overtook', async () => {
    const bus = new MemoryBus();
    const [a, b] = [new MemoryPubSub({ bus }), new MemoryPubSub({ bus })].map(
      (pubsub) => new SharedCache<string>(pubsub, 'evict', { ttlMs: 60_000, maxEntries: 10 }),
    );
    await a!.start();
    await b!.start();
    let loads = 0;
    expect(await a!.load('org-1', async () => `v${++loads}`)).toBe('v1');
    expect(await a!.load('org-1', async () => `v${++loads}`)).toBe('v1');

    // A writer in process b commits and evicts while process a is still reading the old state.
    await a!.invalidate('org-1');
    let release!: () => void;
    const reading = a!.load('org-1', async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return 'read before the commit';
    });
    await settle();
    await b!.invalidate('org-1');
    await settle();
    release();
    expect(await reading).toBe('read before the commit');
    expect(a!.get('org-1')).toBeUndefined();
    expect(await a!.load('org-1', async () => 'read after the commit')).toBe('read after the commit');
    expect(a!.get('org-1')).toBe('read after the commit');
  });
});
