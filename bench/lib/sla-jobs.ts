import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

/**
 * What BullMQ saw of the SLA queue during a run, read from Redis by the benchmark: every
 * finished job's timestamps (kept by the queue for a while after completion, so they are
 * collected every second) and the queue's waiting / active / delayed counts. It splits a
 * firing's lag into the wait for a worker slot and the handler's own time.
 */

export interface FinishedJob {
  id: string;
  name: string;
  /** The delayed job's id (`sla-fire-<timerId>-<ms>`), if it had one. */
  deduplicationId: string | undefined;
  processedOn: number;
  finishedOn: number;
  attemptsMade: number;
  failed: boolean;
}

export interface QueueSample {
  at: number;
  waiting: number;
  active: number;
  delayed: number;
}

/** Jobs finished per second of the SLA queue stay well under this; a poll reads this many newest. */
const NEWEST = 500;

export class SlaQueueSampler {
  private readonly jobs = new Map<string, FinishedJob>();
  private readonly samples: QueueSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending: Promise<void> | undefined;
  private failure: unknown;

  private constructor(
    private readonly queue: Queue,
    private readonly connection: Redis,
    private readonly intervalMs: number,
  ) {}

  static async start(redisUrl: string, prefix: string, queueName = 'sla', intervalMs = 1_000) {
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: 3, connectionName: 'bench-sampler' });
    const queue = new Queue(queueName, { connection, prefix });
    const sampler = new SlaQueueSampler(queue, connection, intervalMs);
    await sampler.poll();
    sampler.schedule();
    return sampler;
  }

  /** Counts of the queue right now. */
  async counts(): Promise<QueueSample> {
    const counts = await this.queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
    return {
      at: Date.now(),
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      delayed: counts.delayed ?? 0,
    };
  }

  /** A last poll; then the jobs seen (by id) and the count samples. Closes the connection. */
  async stop(): Promise<{ jobs: FinishedJob[]; samples: QueueSample[] }> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pending;
    await this.poll();
    await this.queue.close();
    this.connection.disconnect();
    if (this.failure) throw this.failure;
    return { jobs: [...this.jobs.values()], samples: this.samples };
  }

  private schedule() {
    this.timer = setTimeout(() => {
      this.pending = this.poll()
        .catch((error: unknown) => {
          this.failure ??= error;
        })
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, this.intervalMs);
  }

  private async poll(): Promise<void> {
    this.samples.push(await this.counts());
    for (const state of ['completed', 'failed'] as const) {
      const jobs = await this.queue.getJobs([state], 0, NEWEST - 1, false);
      for (const job of jobs) {
        if (!job?.id || !job.processedOn || !job.finishedOn) continue;
        this.jobs.set(job.id, {
          id: job.id,
          name: job.name,
          deduplicationId: job.deduplicationId ?? undefined,
          processedOn: Number(job.processedOn),
          finishedOn: Number(job.finishedOn),
          attemptsMade: Number(job.attemptsMade ?? 0),
          failed: state === 'failed',
        });
      }
    }
  }
}

/**
 * How late Redis ends a blocking pop that times out: BullMQ's workers wait for the next
 * delayed job with BZPOPMIN and a timeout until it is due, and Redis notices expired
 * blocking timeouts on its event loop's ticks (`hz` per second when idle). Also returns
 * the server's version and `hz` (null where CONFIG is not allowed).
 */
export async function blockingTimeoutOvershoot(redisUrl: string, prefix: string, samples = 20) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectionName: 'bench-probe' });
  try {
    const overshoots: number[] = [];
    for (let sample = 0; sample < samples; sample += 1) {
      const timeoutMs = 50 + ((sample * 37) % 150);
      const started = performance.now();
      // A key that never exists under the run's prefix: the pop always times out.
      await connection.bzpopmin(`${prefix}:bench-probe`, timeoutMs / 1000);
      overshoots.push(performance.now() - started - timeoutMs);
    }
    overshoots.sort((a, b) => a - b);
    const info = await connection.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const hz = await connection
      .config('GET', 'hz')
      .then((reply) => (Array.isArray(reply) ? String(reply[1]) : null))
      .catch(() => null);
    return { overshoots, version, hz };
  } finally {
    connection.disconnect();
  }
}
