import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EphemeralStore, PubSub } from './pubsub.port.js';

/** What a driver's test file hands the contract: fresh instances for every test. */
export interface PubSubContractSubject {
  pubsub: PubSub;
  store: EphemeralStore;
  /** A second instance on the same backend, as another process would have. */
  pubsub2?: PubSub;
}

// Generous: the contract asserts eventual outcomes, never timings.
const EVENTUALLY = { timeout: 3_000, interval: 10 };

/**
 * The behaviour every PubSub / EphemeralStore driver must show. Tests use fresh channel and
 * key names, so drivers whose backend outlives one test (Redis) need no reset in between.
 */
export function describePubSubContract(label: string, make: () => Promise<PubSubContractSubject>): void {
  describe(`${label}: PubSub / EphemeralStore contract`, () => {
    let subject: PubSubContractSubject;
    /** Unique per test, so keys and channels never leak between tests. */
    let ns: string;

    beforeEach(async () => {
      subject = await make();
      ns = `contract-${randomUUID()}`;
    });

    afterEach(async () => {
      await Promise.all([subject.pubsub.close(), subject.pubsub2?.close(), subject.store.close()]);
    });

    function collect(): {
      received: Array<{ message: string; channel: string }>;
      handler: (m: string, c: string) => void;
    } {
      const received: Array<{ message: string; channel: string }> = [];
      return { received, handler: (message, channel) => received.push({ message, channel }) };
    }

    describe('pub/sub', () => {
      it('delivers a published message with its unprefixed channel', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:events`;
        const { received, handler } = collect();
        await pubsub.subscribe(channel, handler);
        await pubsub.publish(channel, 'hello');
        await vi.waitFor(() => expect(received).toEqual([{ message: 'hello', channel }]), EVENTUALLY);
      });

      it('never runs a subscriber inside publish()', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:async`;
        const { received, handler } = collect();
        await pubsub.subscribe(channel, handler);
        const publishing = pubsub.publish(channel, 'later');
        expect(received).toEqual([]);
        await publishing;
        await vi.waitFor(() => expect(received).toHaveLength(1), EVENTUALLY);
      });

      it('delivers to every handler of a channel, in publish order', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:fan-out`;
        const first = collect();
        const second = collect();
        await pubsub.subscribe(channel, first.handler);
        await pubsub.subscribe(channel, second.handler);
        await pubsub.publish(channel, 'one');
        await pubsub.publish(channel, 'two');
        await vi.waitFor(() => {
          expect(first.received.map((r) => r.message)).toEqual(['one', 'two']);
          expect(second.received.map((r) => r.message)).toEqual(['one', 'two']);
        }, EVENTUALLY);
      });

      it('publishes many messages in order, after single publishes, and nothing for an empty list', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:many`;
        const { received, handler } = collect();
        await pubsub.subscribe(channel, handler);
        await pubsub.publish(channel, 'zero');
        await pubsub.publishMany(channel, []);
        await pubsub.publishMany(channel, ['one', 'two', 'three']);
        await pubsub.publish(channel, 'four');
        await vi.waitFor(
          () => expect(received.map((r) => r.message)).toEqual(['zero', 'one', 'two', 'three', 'four']),
          EVENTUALLY,
        );
      });

      it('treats the same function subscribed twice as two subscriptions', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:twice`;
        const { received, handler } = collect();
        const unsubscribeFirst = await pubsub.subscribe(channel, handler);
        await pubsub.subscribe(channel, handler);
        await unsubscribeFirst();
        await pubsub.publish(channel, 'still here');
        await vi.waitFor(() => expect(received).toHaveLength(1), EVENTUALLY);
      });

      it('stops delivering after unsubscribe, leaving other handlers subscribed', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:unsubscribe`;
        const removed = collect();
        const kept = collect();
        const unsubscribe = await pubsub.subscribe(channel, removed.handler);
        await pubsub.subscribe(channel, kept.handler);
        await unsubscribe();
        await unsubscribe();
        await pubsub.publish(channel, 'after');
        // Both handlers would be called in the same dispatch, so once `kept` has it, `removed` would too.
        await vi.waitFor(() => expect(kept.received).toHaveLength(1), EVENTUALLY);
        expect(removed.received).toEqual([]);
      });

      it('resubscribes after the last handler of a channel left', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:again`;
        const first = collect();
        await (await pubsub.subscribe(channel, first.handler))();
        const second = collect();
        await pubsub.subscribe(channel, second.handler);
        await pubsub.publish(channel, 'back');
        await vi.waitFor(() => expect(second.received).toHaveLength(1), EVENTUALLY);
        expect(first.received).toEqual([]);
      });

      it('keeps channels apart', async () => {
        const { pubsub } = subject;
        const a = collect();
        const b = collect();
        await pubsub.subscribe(`${ns}:a`, a.handler);
        await pubsub.subscribe(`${ns}:b`, b.handler);
        await pubsub.publish(`${ns}:b`, 'for b');
        await pubsub.publish(`${ns}:a`, 'for a');
        await vi.waitFor(() => expect(a.received).toHaveLength(1), EVENTUALLY);
        await vi.waitFor(() => expect(b.received).toHaveLength(1), EVENTUALLY);
        expect(a.received[0]?.message).toBe('for a');
        expect(b.received[0]?.message).toBe('for b');
      });

      it('delivers to other handlers when one throws or rejects', async () => {
        const { pubsub } = subject;
        const channel = `${ns}:faulty`;
        const { received, handler } = collect();
        await pubsub.subscribe(channel, () => {
          throw new Error('handler failure (expected by the test)');
        });
        await pubsub.subscribe(channel, async () => {
          throw new Error('async handler failure (expected by the test)');
        });
        await pubsub.subscribe(channel, handler);
        await pubsub.publish(channel, 'one');
        await pubsub.publish(channel, 'two');
        await vi.waitFor(() => expect(received.map((r) => r.message)).toEqual(['one', 'two']), EVENTUALLY);
      });

      it('resolves publish without subscribers', async () => {
        await expect(subject.pubsub.publish(`${ns}:nobody`, 'void')).resolves.toBeUndefined();
      });

      it('delivers across instances sharing the backend', async (context) => {
        const { pubsub, pubsub2 } = subject;
        if (!pubsub2) return context.skip('driver provides no second instance');
        const channel = `${ns}:cross`;
        const onSecond = collect();
        const onFirst = collect();
        await pubsub2.subscribe(channel, onSecond.handler);
        await pubsub.subscribe(channel, onFirst.handler);
        await pubsub.publish(channel, 'from first');
        await vi.waitFor(() => {
          expect(onSecond.received).toEqual([{ message: 'from first', channel }]);
          expect(onFirst.received).toHaveLength(1);
        }, EVENTUALLY);
      });

      it('rejects use after close', async () => {
        await subject.pubsub.close();
        await expect(subject.pubsub.publish(`${ns}:closed`, 'x')).rejects.toThrow();
      });
    });

    describe('ephemeral store', () => {
      it('sets, overwrites, gets and deletes', async () => {
        const { store } = subject;
        expect(await store.get(`${ns}:k`)).toBeNull();
        await store.set(`${ns}:k`, 'v1', 60_000);
        await store.set(`${ns}:k`, 'v2', 60_000);
        expect(await store.get(`${ns}:k`)).toBe('v2');
        await store.delete(`${ns}:k`);
        await store.delete(`${ns}:k`);
        expect(await store.get(`${ns}:k`)).toBeNull();
      });

      it('expires keys after their ttl', async () => {
        const { store } = subject;
        await store.set(`${ns}:short`, 'v', 80);
        await store.set(`${ns}:long`, 'v', 60_000);
        await vi.waitFor(async () => expect(await store.get(`${ns}:short`)).toBeNull(), EVENTUALLY);
        expect(await store.get(`${ns}:long`)).toBe('v');
      });

      it('reports the remaining ttl, null when missing', async () => {
        const { store } = subject;
        expect(await store.ttl(`${ns}:missing`)).toBeNull();
        await store.set(`${ns}:k`, 'v', 10_000);
        const remaining = await store.ttl(`${ns}:k`);
        expect(remaining).toBeGreaterThan(0);
        expect(remaining).toBeLessThanOrEqual(10_000);
        await store.set(`${ns}:k`, 'v', 200_000);
        expect(await store.ttl(`${ns}:k`)).toBeGreaterThan(10_000);
      });

      it('sets only once with setIfAbsent, and again after expiry', async () => {
        const { store } = subject;
        expect(await store.setIfAbsent(`${ns}:once`, 'first', 100)).toBe(true);
        expect(await store.setIfAbsent(`${ns}:once`, 'second', 100)).toBe(false);
        expect(await store.get(`${ns}:once`)).toBe('first');
        await vi.waitFor(async () => expect(await store.get(`${ns}:once`)).toBeNull(), EVENTUALLY);
        expect(await store.setIfAbsent(`${ns}:once`, 'third', 60_000)).toBe(true);
        expect(await store.get(`${ns}:once`)).toBe('third');
      });

      it('lets exactly one of 20 concurrent setIfAbsent calls win', async () => {
        const { store } = subject;
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.setIfAbsent(`${ns}:lock`, `owner-${i}`, 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.get(`${ns}:lock`)).toBe(`owner-${results.indexOf(true)}`);
      });

      it('increments within a fixed window started by the first increment', async () => {
        const { store } = subject;
        expect(await store.increment(`${ns}:count`, 150)).toBe(1);
        expect(await store.increment(`${ns}:count`, 60_000)).toBe(2);
        // The later, longer ttl must not have extended the window.
        expect(await store.ttl(`${ns}:count`)).toBeLessThanOrEqual(150);
        await vi.waitFor(async () => expect(await store.get(`${ns}:count`)).toBeNull(), EVENTUALLY);
        expect(await store.increment(`${ns}:count`, 60_000)).toBe(1);
      });

      it('counts every one of 20 concurrent increments', async () => {
        const { store } = subject;
        const values = await Promise.all(
          Array.from({ length: 20 }, () => store.increment(`${ns}:burst`, 60_000)),
        );
        expect([...values].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      });

      it('rejects incrementing a non-integer value', async () => {
        const { store } = subject;
        await store.set(`${ns}:text`, 'abc', 60_000);
        await expect(store.increment(`${ns}:text`, 60_000)).rejects.toThrow();
      });

      it('rejects ttls that are not positive integers', async () => {
        const { store } = subject;
        await expect(store.set(`${ns}:bad`, 'v', 0)).rejects.toThrow(RangeError);
        await expect(store.setIfAbsent(`${ns}:bad`, 'v', -5)).rejects.toThrow(RangeError);
        await expect(store.increment(`${ns}:bad`, 1.5)).rejects.toThrow(RangeError);
      });

      it('scans live keys by prefix, treating glob characters literally', async () => {
        const { store } = subject;
        await store.set(`${ns}:user:1`, 'a', 60_000);
        await store.set(`${ns}:user:2`, 'b', 60_000);
        await store.set(`${ns}:user:gone`, 'c', 60);
        await store.set(`${ns}:team:1`, 'd', 60_000);
        await store.set(`${ns}:user*x`, 'e', 60_000);
        await vi.waitFor(async () => expect(await store.get(`${ns}:user:gone`)).toBeNull(), EVENTUALLY);

        const users = await store.scan(`${ns}:user:`);
        expect(users.sort((x, y) => x.key.localeCompare(y.key))).toEqual([
          { key: `${ns}:user:1`, value: 'a' },
          { key: `${ns}:user:2`, value: 'b' },
        ]);
        expect(await store.scan(`${ns}:user*`)).toEqual([{ key: `${ns}:user*x`, value: 'e' }]);
        expect(await store.scan(`${ns}:nothing:`)).toEqual([]);
      });

      it('answers ping', async () => {
        await expect(subject.store.ping()).resolves.toBeUndefined();
      });
    });
  });
}
