import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { BullMqJobQueue } from './bullmq.driver.js';
import { describeJobQueueContract } from './jobs.contract.js';

const redisUrl = process.env.REDIS_URL;

describe.runIf(redisUrl)('BullMqJobQueue', () => {
  let redis: Redis;
  let prefixes: string[] = [];

  beforeAll(() => {
    redis = new Redis(redisUrl!);
  });

  // Registered before the contract's own afterEach, so it runs after the queues are closed.
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
    const prefix = `sbtest-${randomUUID()}`;
    prefixes.push(prefix);
    return new BullMqJobQueue({ redisUrl: redisUrl!, prefix, ...deps });
  });
});
