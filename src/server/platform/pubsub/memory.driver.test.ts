import { describe, expect, it, vi } from 'vitest';
import { MemoryBus, MemoryEphemeralStore, MemoryPubSub } from './memory.driver.js';
import { describePubSubContract } from './pubsub.contract.js';
import type { PubSubLogger } from './pubsub.port.js';

function recordingLogger(): PubSubLogger & { entries: Array<{ obj: object; msg: string }> } {
  const entries: Array<{ obj: object; msg: string }> = [];
  return { entries, error: (obj, msg) => entries.push({ obj, msg }) };
}

describePubSubContract('memory', async () => {
  const bus = new MemoryBus();
  const logger = recordingLogger();
  return {
    pubsub: new MemoryPubSub({ bus, logger }),
    pubsub2: new MemoryPubSub({ bus, logger }),
    store: new MemoryEphemeralStore(),
  };
});

describe('MemoryPubSub', () => {
  it('logs failing handlers with their channel', async () => {
    const logger = recordingLogger();
    const pubsub = new MemoryPubSub({ logger });
    const failure = new Error('boom (expected by the test)');
    await pubsub.subscribe('alerts', () => {
      throw failure;
    });
    await pubsub.subscribe('alerts', async () => Promise.reject(failure));
    await pubsub.publish('alerts', 'x');
    await vi.waitFor(() => expect(logger.entries).toHaveLength(2));
    expect(logger.entries[0]).toEqual({
      obj: { err: failure, channel: 'alerts' },
      msg: 'Pub/sub handler failed',
    });
    await pubsub.close();
  });

  it('keeps instances on separate buses apart', async () => {
    const first = new MemoryPubSub();
    const second = new MemoryPubSub();
    const received: string[] = [];
    await second.subscribe('c', (message) => received.push(message));
    await first.subscribe('c', (message) => received.push(`first:${message}`));
    await first.publish('c', 'x');
    await vi.waitFor(() => expect(received).toEqual(['first:x']));
    await Promise.all([first.close(), second.close()]);
  });

  it('stops delivering to a closed instance without affecting others on the bus', async () => {
    const bus = new MemoryBus();
    const closing = new MemoryPubSub({ bus });
    const staying = new MemoryPubSub({ bus });
    const closedReceived: string[] = [];
    const stayingReceived: string[] = [];
    await closing.subscribe('c', (message) => closedReceived.push(message));
    await staying.subscribe('c', (message) => stayingReceived.push(message));
    await staying.publish('c', 'before');
    // Published before close but not yet delivered: close() must still stop it.
    await closing.close();
    await staying.publish('c', 'after');
    await vi.waitFor(() => expect(stayingReceived).toEqual(['before', 'after']));
    expect(closedReceived).toEqual([]);
    await staying.close();
  });
});

describe('MemoryEphemeralStore', () => {
  it('sweeps expired keys nobody reads again', async () => {
    const store = new MemoryEphemeralStore({ sweepIntervalMs: 20 });
    await store.set('a', '1', 10);
    await store.set('b', '1', 60_000);
    expect(store.size).toBe(2);
    await vi.waitFor(() => expect(store.size).toBe(1));
    await store.close();
  });

  it('rejects use after close', async () => {
    const store = new MemoryEphemeralStore();
    await store.close();
    await expect(store.get('a')).rejects.toThrow('closed');
  });
});
