import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { BullMqJobQueue } from './bullmq.driver.js';
import { describeJobQueueContract } from './jobs.contract.js';
import type { DeadLetter } from './jobs.port.js';

const redisUrl = process.env.REDIS_URL;

describe.runIf(redisUrl)('BullMqJobQueue', () => {
  let redis: Redis;
  let prefixes: string[] = [];

  function uniquePrefix(): string {
    const prefix = `sbtest-${randomUUID()}`;
    prefixes.push(prefix);
    return prefix;
  }

  beforeAll(() => {
    redis = new Redis(redisUrl!);
  });

  // Hooks of this outer block run after the contract's own, so queues are closed before their keys go.
  afterEach(async () => {
    for (const prefix of prefixes) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
    prefixes = [];
  });

  afterAll(async () => {
    await redis.quit();
  });

  describeJobQueueContract('bullmq', async (deps) => {
    return new BullMqJobQueue({ redisUrl: redisUrl!, prefix: uniquePrefix(), ...deps });
  });

  it('dead-letters a stored payload that no longer parses without retrying it', async () => {
    const prefix = uniquePrefix();
    const deadLetters: DeadLetter[] = [];
    const handle = vi.fn(async () => undefined);
    const queue = new BullMqJobQueue({
      redisUrl: redisUrl!,
      prefix,
      deadLetters: async (letter) => void deadLetters.push(letter),
    });
    queue.define({
      name: 'tickets.touch',
      queue: 'tickets',
      payload: z.object({ ticketId: z.string() }),
      handle,
    });
    // Stands in for a job enqueued by an older release whose payload schema has since changed.
    const producer = new Queue('tickets', { connection: { url: redisUrl! }, prefix });
    await producer.add('tickets.touch', { payload: { id: 42 } }, { attempts: 5 });
    await producer.close();
    await queue.start();
    await vi.waitFor(() => expect(deadLetters).toHaveLength(1), { timeout: 5_000 });
    expect(deadLetters[0]).toMatchObject({ name: 'tickets.touch', attempts: 1, payload: { id: 42 } });
    expect(deadLetters[0]!.error).toMatch(/Invalid payload for job "tickets\.touch"/);
    expect(handle).not.toHaveBeenCalled();
    await vi.waitFor(async () => expect((await queue.counts()).tickets?.failed).toBe(1));
    await queue.close(1_000);
  });
});
