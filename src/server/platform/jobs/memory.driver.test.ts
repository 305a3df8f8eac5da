import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { describeJobQueueContract } from './jobs.contract.js';
import { MemoryJobQueue } from './memory.driver.js';

describeJobQueueContract('memory', async (deps) => new MemoryJobQueue(deps));

describe('MemoryJobQueue', () => {
  it('logs a dead letter the sink could not store', async () => {
    const logger = { warn: vi.fn(), error: vi.fn() };
    const queue = new MemoryJobQueue({
      deadLetters: async () => {
        throw new Error('database down');
      },
      logger,
    });
    queue.define({
      name: 'tickets.broken',
      queue: 'tickets',
      payload: z.object({}),
      retry: { attempts: 1 },
      handle: async () => {
        throw new Error('broken');
      },
    });
    await queue.start();
    await queue.enqueue('tickets.broken', {});
    await vi.waitFor(() => expect(logger.error).toHaveBeenCalledOnce());
    expect(logger.error.mock.calls[0]![0]).toMatchObject({
      deadLetter: { name: 'tickets.broken', attempts: 1 },
    });
    await queue.close();
  });

  it('does not run a job delayed beyond the timer limit at once', async () => {
    const ran = vi.fn();
    const queue = new MemoryJobQueue({ deadLetters: async () => undefined });
    queue.define({ name: 'later', queue: 'q', payload: z.object({}), handle: async () => ran() });
    await queue.start();
    await queue.enqueue('later', {}, { delayMs: 30 * 86_400_000 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ran).not.toHaveBeenCalled();
    expect((await queue.counts()).q?.delayed).toBe(1);
    await queue.close();
  });
});
