import type { z } from 'zod';

/**
 * The one job API of Switchboard. Two drivers implement it — BullMQ on Redis and an
 * in-process driver for the embedded mode — and one contract test suite runs against both.
 *
 * Jobs carry ids and small payloads; handlers re-read the database and must be idempotent,
 * because every driver delivers at least once.
 */

/** Retry policy of a job: `attempts` includes the first run. */
export interface RetryPolicy {
  attempts: number;
  /** Exponential backoff: the n-th retry waits `backoffMs * 2^(n-1)`. */
  backoffMs: number;
}

export interface JobContext {
  /** Driver-assigned id, or the caller's `jobId` when one was given. */
  jobId: string;
  /** 1 on the first run, 2 on the first retry, … */
  attempt: number;
  queue: string;
  name: string;
}

/** A job is declared once, with a validated payload, in one registry. */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  /** Unique job name, `<module>.<verb>` (e.g. `outbox.deliver`). */
  name: string;
  /** Named queue the job runs on; queues are processed independently. */
  queue: string;
  payload: S;
  retry?: Partial<RetryPolicy>;
  handle(payload: z.output<S>, context: JobContext): Promise<void>;
}

export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /**
   * Deduplication key: while a job with this id is waiting, delayed or active, enqueuing
   * another with the same id is a no-op that returns the existing id.
   */
  jobId?: string;
  /** Overrides the definition's retry policy for this job. */
  retry?: Partial<RetryPolicy>;
}

/** One job of `enqueueMany`. */
export interface JobRequest {
  name: string;
  payload: unknown;
  options?: EnqueueOptions;
}

/** A job that exhausted its retries; kept until an admin replays or discards it. */
export interface DeadLetter {
  queue: string;
  name: string;
  jobId: string;
  payload: unknown;
  error: string;
  attempts: number;
  failedAt: Date;
}

export type DeadLetterSink = (deadLetter: DeadLetter) => Promise<void>;

export interface QueueCounts {
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

/** Observer for metrics and logs; every driver calls it the same way. */
export interface JobObserver {
  onCompleted?(context: JobContext, durationMs: number): void;
  onFailed?(context: JobContext, error: Error, willRetry: boolean): void;
}

export interface JobQueue {
  readonly driver: 'memory' | 'bullmq';
  /** Registers a job definition. Must be called before `start()`. Names are unique. */
  define<S extends z.ZodType>(definition: JobDefinition<S>): void;
  /** Validates the payload against the definition (throws on mismatch) and enqueues it. */
  enqueue(name: string, payload: unknown, options?: EnqueueOptions): Promise<string>;
  /**
   * Enqueues several jobs, each as `enqueue` would, in one round trip per queue where the
   * driver has round trips (the outbox relay's batches). Every payload is validated before
   * any job is enqueued. Answers the ids in the order of `jobs`.
   */
  enqueueMany(jobs: readonly JobRequest[]): Promise<string[]>;
  /**
   * Repeatable job on a cron pattern (5 or 6 fields, UTC). Scheduling the same `key`
   * again replaces the earlier schedule; many processes scheduling it yield one schedule.
   */
  schedule(key: string, name: string, cron: string, payload?: unknown): Promise<void>;
  unschedule(key: string): Promise<void>;
  /** Starts processing registered queues (worker role). Producers need not call it. */
  start(options?: { concurrency?: number }): Promise<void>;
  /** Counts per queue name, for `/metrics` and the admin view. */
  counts(): Promise<Record<string, QueueCounts>>;
  /** Throws when the backing service is unreachable (used by `/readyz`). */
  ping(): Promise<void>;
  /**
   * Graceful stop: take no new jobs, wait up to `timeoutMs` for running ones, then close
   * connections. Jobs still running after the timeout are left to be retried.
   */
  close(timeoutMs?: number): Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, backoffMs: 1_000 };
