import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type {
  DeadLetter,
  DeadLetterSink,
  JobContext,
  JobDefinition,
  JobObserver,
  JobQueue,
} from './jobs.port.js';

/** Builds a fresh, unstarted queue for one test. */
export type MakeJobQueue = (deps: {
  deadLetters: DeadLetterSink;
  observer?: JobObserver;
}) => Promise<JobQueue>;

// Timers may fire a few ms early against Date.now(), so "not before" checks allow for it.
const CLOCK_SLACK_MS = 15;
const EVERY_SECOND = '*/1 * * * * *';
const TicketPayload = z.object({ ticketId: z.string(), count: z.coerce.number() });

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function gate(): { opened: Promise<void>; open(): void } {
  let open = (): void => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

interface Run {
  payload: unknown;
  context: JobContext;
  at: number;
}

/** Defines `name` (on queue `contract` unless told) and records every run; `behave` may throw or block. */
function defineRecorded(
  queue: JobQueue,
  name: string,
  options: {
    queue?: string;
    retry?: JobDefinition['retry'];
    behave?: (run: Run) => Promise<void> | void;
    payload?: z.ZodType;
  } = {},
): Run[] {
  const runs: Run[] = [];
  queue.define({
    name,
    queue: options.queue ?? 'contract',
    payload: options.payload ?? TicketPayload,
    retry: options.retry,
    async handle(payload, context) {
      const run = { payload, context: { ...context }, at: Date.now() };
      runs.push(run);
      await options.behave?.(run);
    },
  });
  return runs;
}

/**
 * The behaviour every `JobQueue` driver must show. Register it from a driver's test file;
 * `makeQueue` is called once per test and the suite closes what it made.
 */
export function describeJobQueueContract(label: string, makeQueue: MakeJobQueue): void {
  describe(`JobQueue contract: ${label}`, () => {
    let opened: JobQueue[] = [];
    let deadLetters: DeadLetter[] = [];

    async function open(observer?: JobObserver): Promise<JobQueue> {
      const queue = await makeQueue({
        deadLetters: async (letter) => void deadLetters.push(letter),
        observer,
      });
      opened.push(queue);
      return queue;
    }

    beforeEach(() => {
      opened = [];
      deadLetters = [];
    });

    afterEach(async () => {
      await Promise.all(opened.map((queue) => queue.close(1_000)));
    });

    it('runs an enqueued job with the parsed payload and its context', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.touch');
      await queue.start();
      const jobId = await queue.enqueue('tickets.touch', { ticketId: 't1', count: '3' });
      await until('the job ran', () => runs.length === 1);
      expect(runs[0]!.payload).toEqual({ ticketId: 't1', count: 3 });
      expect(runs[0]!.context).toEqual({ jobId, attempt: 1, queue: 'contract', name: 'tickets.touch' });
    });

    it('rejects an invalid payload at enqueue, naming the job', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.touch');
      await queue.start();
      await expect(queue.enqueue('tickets.touch', { ticketId: 1 })).rejects.toThrow(/tickets\.touch/);
      await sleep(100);
      expect(runs).toHaveLength(0);
    });

    it('rejects an unknown job name', async () => {
      const queue = await open();
      defineRecorded(queue, 'tickets.touch');
      await expect(queue.enqueue('tickets.nope', { ticketId: 't1', count: 1 })).rejects.toThrow(
        /tickets\.nope/,
      );
      await expect(queue.schedule('k', 'tickets.nope', EVERY_SECOND)).rejects.toThrow(/tickets\.nope/);
    });

    it('keeps jobs enqueued before start and runs them in order after it', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.touch');
      for (const ticketId of ['a', 'b', 'c', 'd'])
        await queue.enqueue('tickets.touch', { ticketId, count: 1 });
      await sleep(100);
      expect(runs).toHaveLength(0);
      await queue.start({ concurrency: 1 });
      await until('all four ran', () => runs.length === 4);
      expect(runs.map((run) => (run.payload as { ticketId: string }).ticketId)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('does not run a delayed job before its delay', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.touch');
      await queue.start();
      const enqueuedAt = Date.now();
      await queue.enqueue('tickets.touch', { ticketId: 't1', count: 1 }, { delayMs: 300 });
      await until('the delayed job ran', () => runs.length === 1);
      expect(runs[0]!.at - enqueuedAt).toBeGreaterThanOrEqual(300 - CLOCK_SLACK_MS);
    });

    it('retries with exponential backoff, then succeeds', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.flaky', {
        retry: { attempts: 3, backoffMs: 80 },
        behave: (run) => {
          if (run.context.attempt < 3) throw new Error(`flaky ${run.context.attempt}`);
        },
      });
      await queue.start();
      await queue.enqueue('tickets.flaky', { ticketId: 't1', count: 1 });
      await until('the third attempt ran', () => runs.length === 3);
      expect(runs.map((run) => run.context.attempt)).toEqual([1, 2, 3]);
      expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(80 - CLOCK_SLACK_MS);
      expect(runs[2]!.at - runs[1]!.at).toBeGreaterThanOrEqual(160 - CLOCK_SLACK_MS);
      await until('it completed', async () => (await queue.counts()).contract?.completed === 1);
      expect(deadLetters).toEqual([]);
    });

    it('dead-letters a job exactly once after its last attempt', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'tickets.broken', {
        behave: () => {
          throw new Error('mailbox unreachable');
        },
      });
      await queue.start();
      const jobId = await queue.enqueue(
        'tickets.broken',
        { ticketId: 't1', count: '2' },
        { retry: { attempts: 2, backoffMs: 20 } },
      );
      await until('the dead letter arrived', () => deadLetters.length === 1);
      await sleep(300);
      expect(runs).toHaveLength(2);
      expect(deadLetters).toHaveLength(1);
      expect(deadLetters[0]).toMatchObject({
        queue: 'contract',
        name: 'tickets.broken',
        jobId,
        payload: { ticketId: 't1', count: '2' },
        attempts: 2,
      });
      expect(deadLetters[0]!.error).toContain('mailbox unreachable');
      expect(deadLetters[0]!.failedAt).toBeInstanceOf(Date);
    });

    it('dedupes by jobId while waiting, delayed or active, and not after', async () => {
      const queue = await open();
      const release = gate();
      const runs = defineRecorded(queue, 'tickets.sync', { behave: () => release.opened });
      const payload = { ticketId: 't1', count: 1 };
      expect(await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t1' })).toBe('ticket:t1');
      expect(await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t1' })).toBe('ticket:t1');
      await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t2', delayMs: 60_000 });
      expect(await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t2' })).toBe('ticket:t2');
      await queue.start();
      await until('the first job is active', () => runs.length === 1);
      expect(await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t1' })).toBe('ticket:t1');
      release.open();
      await until('it completed', async () => (await queue.counts()).contract?.completed === 1);
      expect(runs.map((run) => run.context.jobId)).toEqual(['ticket:t1']);
      await queue.enqueue('tickets.sync', payload, { jobId: 'ticket:t1' });
      await until('the same id ran again', () => runs.length === 2);
      expect((await queue.counts()).contract?.delayed).toBe(1);
    });

    it('enqueues many jobs across queues, in order, each deduped by its jobId', async () => {
      const queue = await open();
      const release = gate();
      const sync = defineRecorded(queue, 'tickets.sync', { behave: () => release.opened });
      const mail = defineRecorded(queue, 'mail.send', { queue: 'mail' });
      await queue.enqueue('tickets.sync', { ticketId: 't0', count: 0 }, { jobId: 'sync:t0' });
      const ids = await queue.enqueueMany([
        { name: 'tickets.sync', payload: { ticketId: 't0', count: 0 }, options: { jobId: 'sync:t0' } },
        { name: 'mail.send', payload: { ticketId: 't1', count: '1' }, options: { jobId: 'mail:t1' } },
        { name: 'tickets.sync', payload: { ticketId: 't2', count: 2 }, options: { jobId: 'sync:t2' } },
        { name: 'mail.send', payload: { ticketId: 't3', count: 3 } },
      ]);
      expect(ids.slice(0, 3)).toEqual(['sync:t0', 'mail:t1', 'sync:t2']);
      expect(ids[3]).toEqual(expect.any(String));
      await queue.start({ concurrency: 1 });
      await until('both mails ran', () => mail.length === 2);
      expect(mail.map((run) => run.payload)).toEqual([
        { ticketId: 't1', count: 1 },
        { ticketId: 't3', count: 3 },
      ]);
      release.open();
      await until('both syncs ran', () => sync.length === 2);
      expect(sync.map((run) => run.context.jobId)).toEqual(['sync:t0', 'sync:t2']);
    });

    it('enqueues none of many jobs when one payload is invalid', async () => {
      const queue = await open();
      defineRecorded(queue, 'tickets.sync');
      await expect(
        queue.enqueueMany([
          { name: 'tickets.sync', payload: { ticketId: 't1', count: 1 } },
          { name: 'tickets.sync', payload: { ticketId: 't2', count: 'many' } },
        ]),
      ).rejects.toThrow(/tickets\.sync/);
      expect((await queue.counts()).contract?.waiting ?? 0).toBe(0);
    });

    it('processes named queues independently', async () => {
      const queue = await open();
      const release = gate();
      const slow = defineRecorded(queue, 'mail.send', { queue: 'mail', behave: () => release.opened });
      const fast = defineRecorded(queue, 'sla.check', { queue: 'sla' });
      await queue.start({ concurrency: 1 });
      await queue.enqueue('mail.send', { ticketId: 't1', count: 1 });
      await until('the slow job started', () => slow.length === 1);
      await queue.enqueue('sla.check', { ticketId: 't2', count: 1 });
      await until('the other queue ran meanwhile', () => fast.length === 1);
      release.open();
      await until('the slow job completed', async () => (await queue.counts()).mail?.completed === 1);
    });

    it('fires a cron schedule repeatedly until it is unscheduled', async () => {
      const queue = await open();
      const runs = defineRecorded(queue, 'sla.scan', { payload: z.object({}) });
      await queue.schedule('sla-scan', 'sla.scan', EVERY_SECOND, {});
      await queue.start();
      await until('it fired twice', () => runs.length >= 2, 6_000);
      expect(runs[0]!.payload).toEqual({});
      await queue.unschedule('sla-scan');
      // A tick already due when unscheduling may still run; nothing may follow it.
      await sleep(300);
      const settled = runs.length;
      await sleep(1_500);
      expect(runs).toHaveLength(settled);
    });

    it('replaces a schedule scheduled again under the same key', async () => {
      const queue = await open();
      const before = defineRecorded(queue, 'reports.old', { payload: z.object({}) });
      const after = defineRecorded(queue, 'reports.new', { payload: z.object({ full: z.boolean() }) });
      await queue.start();
      await queue.schedule('reports', 'reports.old', EVERY_SECOND, {});
      await until('the first schedule fired', () => before.length >= 1, 6_000);
      await queue.schedule('reports', 'reports.new', EVERY_SECOND, { full: true });
      await until('the replacement fired twice', () => after.length >= 2, 6_000);
      expect(after[0]!.payload).toEqual({ full: true });
      const settled = before.length;
      await sleep(1_200);
      expect(before).toHaveLength(settled);
      await queue.unschedule('reports');
    });

    it('counts jobs per queue', async () => {
      const queue = await open();
      defineRecorded(queue, 'tickets.touch');
      defineRecorded(queue, 'tickets.broken', {
        retry: { attempts: 1 },
        behave: () => {
          throw new Error('broken');
        },
      });
      defineRecorded(queue, 'idle.noop', { queue: 'idle' });
      const payload = { ticketId: 't1', count: 1 };
      await queue.enqueue('tickets.touch', payload);
      await queue.enqueue('tickets.touch', payload);
      await queue.enqueue('tickets.broken', payload);
      await queue.enqueue('tickets.touch', payload, { delayMs: 60_000 });
      const idle = { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
      expect(await queue.counts()).toEqual({ contract: { ...idle, waiting: 3, delayed: 1 }, idle });
      await queue.start();
      await until('the jobs finished', async () => (await queue.counts()).contract?.waiting === 0);
      await until('the counts settled', async () => {
        const counts = await queue.counts();
        return (
          counts.contract?.completed === 2 && counts.contract.failed === 1 && counts.contract.active === 0
        );
      });
      expect((await queue.counts()).contract).toEqual({ ...idle, delayed: 1, completed: 2, failed: 1 });
    });

    it('waits for an active job on close, then takes no more', async () => {
      const queue = await open();
      let finished = false;
      const runs = defineRecorded(queue, 'tickets.slow', {
        behave: async () => {
          await sleep(300);
          finished = true;
        },
      });
      await queue.start();
      await queue.enqueue('tickets.slow', { ticketId: 't1', count: 1 });
      await until('the job started', () => runs.length === 1);
      await queue.close(5_000);
      expect(finished).toBe(true);
      await expect(queue.enqueue('tickets.slow', { ticketId: 't2', count: 1 })).rejects.toThrow();
    });

    it('calls the observer on completion and on each failure', async () => {
      const completed: Array<{ context: JobContext; durationMs: number }> = [];
      const failed: Array<{ attempt: number; message: string; willRetry: boolean }> = [];
      const queue = await open({
        onCompleted: (context, durationMs) => completed.push({ context, durationMs }),
        onFailed: (context, error, willRetry) =>
          failed.push({ attempt: context.attempt, message: error.message, willRetry }),
      });
      defineRecorded(queue, 'tickets.touch');
      defineRecorded(queue, 'tickets.broken', {
        retry: { attempts: 2, backoffMs: 20 },
        behave: () => {
          throw new Error('nope');
        },
      });
      await queue.start();
      await queue.enqueue('tickets.touch', { ticketId: 't1', count: 1 });
      await queue.enqueue('tickets.broken', { ticketId: 't2', count: 1 });
      await until('both finished', () => completed.length === 1 && failed.length === 2);
      expect(completed[0]!.context.name).toBe('tickets.touch');
      expect(completed[0]!.durationMs).toBeGreaterThanOrEqual(0);
      expect(failed).toEqual([
        { attempt: 1, message: 'nope', willRetry: true },
        { attempt: 2, message: 'nope', willRetry: false },
      ]);
    });

    it('answers ping', async () => {
      const queue = await open();
      await expect(queue.ping()).resolves.toBeUndefined();
    });
  });
}
