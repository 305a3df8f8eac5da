import { type Job, type JobsOptions, Queue, UnrecoverableError, Worker } from 'bullmq';
import { CronExpressionParser } from 'cron-parser';
import { Redis, type RedisOptions } from 'ioredis';
import { withTimeout } from '../timeout.js';
import {
  DEFAULT_RETRY,
  type DeadLetterSink,
  type EnqueueOptions,
  type JobContext,
  type JobDefinition,
  type JobObserver,
  type JobQueue,
  type JobRequest,
  type QueueCounts,
  type RetryPolicy,
} from './jobs.port.js';
import { fallbackLogger, type JobQueueLogger, parsePayload } from './jobs.shared.js';

/** Options of {@link BullMqJobQueue}. */
export interface BullMqJobQueueOptions {
  redisUrl: string;
  /** BullMQ key prefix; every key of every queue lives under `<prefix>:`. */
  prefix: string;
  deadLetters: DeadLetterSink;
  observer?: JobObserver;
  logger?: JobQueueLogger;
}

function jobOptionsOf(definition: JobDefinition, options: EnqueueOptions): JobsOptions {
  return {
    ...retryOptions({ ...DEFAULT_RETRY, ...definition.retry, ...options.retry }),
    delay: options.delayMs,
    deduplication: options.jobId === undefined ? undefined : { id: options.jobId },
  };
}

/** The payload is kept as enqueued and parsed again by the worker, so transforms run on the input. */
interface Envelope {
  payload: unknown;
}

const PING_TIMEOUT_MS = 2_000;
const FORCE_CLOSE_TIMEOUT_MS = 2_000;
const KEEP_COMPLETED = { age: 3_600, count: 1_000 };
const KEEP_FAILED = { age: 86_400 };

/**
 * The workers' connection. BullMQ duplicates it for each worker's blocking reads; keeping the
 * copies lets close() drop them when Redis is gone and a graceful close cannot finish.
 */
class WorkerConnection extends Redis {
  readonly copies: Redis[] = [];

  override duplicate(override?: Partial<RedisOptions>): Redis {
    const copy = super.duplicate(override);
    this.copies.push(copy);
    return copy;
  }
}

/**
 * BullMQ (Redis) job queue: one BullMQ queue per named queue, workers only after `start()`,
 * cron schedules as BullMQ job schedulers keyed by the schedule key.
 *
 * `jobId` dedupe uses BullMQ deduplication rather than custom job ids: a custom id blocks
 * re-enqueueing for as long as the finished job is retained, while the port promises dedupe
 * only while the job is waiting, delayed or active. It also frees caller ids from BullMQ's
 * job id rules (no ':' and no integers).
 */
export class BullMqJobQueue implements JobQueue {
  readonly driver = 'bullmq' as const;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly queues = new Map<string, Queue<Envelope>>();
  private readonly workers: Worker<Envelope>[] = [];
  /**
   * Shared by the queues. A short retry budget fails commands while Redis is down instead of
   * queueing them; BullMQ itself still waits for the very first connection.
   */
  private readonly connection: Redis;
  private workerConnection: WorkerConnection | undefined;
  private readonly logger: JobQueueLogger;
  private readonly reportedErrors = new WeakSet<Error>();
  private started = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: BullMqJobQueueOptions) {
    this.logger = options.logger ?? fallbackLogger;
    this.connection = new Redis(options.redisUrl, {
      maxRetriesPerRequest: 3,
      connectionName: 'jobs-producer',
    });
    this.connection.on('error', (error: Error) => this.reportError(error, { role: 'producer' }));
  }

  define(definition: JobDefinition): void {
    if (this.started) throw new Error(`Cannot define job "${definition.name}" after start()`);
    if (this.definitions.has(definition.name)) throw new Error(`Job "${definition.name}" is already defined`);
    if (!this.queues.has(definition.queue)) {
      const queue = new Queue<Envelope>(definition.queue, {
        connection: this.connection,
        prefix: this.options.prefix,
        defaultJobOptions: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED },
      });
      queue.on('error', (error) => this.reportError(error, { queue: definition.queue }));
      this.queues.set(definition.queue, queue);
    }
    this.definitions.set(definition.name, definition);
  }

  async enqueue(name: string, payload: unknown, options: EnqueueOptions = {}): Promise<string> {
    if (this.closing) throw new Error(`Cannot enqueue job "${name}": the job queue is closed`);
    const definition = this.definitionOf(name);
    parsePayload(definition, payload);
    const job = await this.queues
      .get(definition.queue)!
      .add(name, { payload }, jobOptionsOf(definition, options));
    return options.jobId ?? job.id!;
  }

  async enqueueMany(jobs: readonly JobRequest[]): Promise<string[]> {
    if (this.closing) throw new Error('Cannot enqueue jobs: the job queue is closed');
    const byQueue = new Map<
      string,
      Array<{ index: number; name: string; data: Envelope; opts: JobsOptions }>
    >();
    for (const [index, { name, payload, options = {} }] of jobs.entries()) {
      const definition = this.definitionOf(name);
      parsePayload(definition, payload);
      const entries = byQueue.get(definition.queue) ?? [];
      entries.push({ index, name, data: { payload }, opts: jobOptionsOf(definition, options) });
      byQueue.set(definition.queue, entries);
    }
    const ids: string[] = new Array(jobs.length);
    // addBulk: one MULTI per queue, with each job's deduplication as `add` applies it.
    for (const [queueName, entries] of byQueue) {
      const added = await this.queues.get(queueName)!.addBulk(entries);
      entries.forEach((entry, position) => {
        ids[entry.index] = jobs[entry.index]!.options?.jobId ?? added[position]!.id!;
      });
    }
    return ids;
  }

  async schedule(key: string, name: string, cron: string, payload?: unknown): Promise<void> {
    const definition = this.definitionOf(name);
    parsePayload(definition, payload);
    CronExpressionParser.parse(cron, { tz: 'UTC' });
    // A key whose job moved to another queue must not keep firing on the old one.
    await Promise.all(
      [...this.queues]
        .filter(([queueName]) => queueName !== definition.queue)
        .map(([, queue]) => queue.removeJobScheduler(key)),
    );
    await this.queues.get(definition.queue)!.upsertJobScheduler(
      key,
      { pattern: cron, tz: 'UTC' },
      {
        name,
        data: { payload },
        opts: {
          ...retryOptions({ ...DEFAULT_RETRY, ...definition.retry }),
          removeOnComplete: KEEP_COMPLETED,
          removeOnFail: KEEP_FAILED,
        },
      },
    );
  }

  async unschedule(key: string): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.removeJobScheduler(key)));
  }

  async start(options: { concurrency?: number } = {}): Promise<void> {
    if (this.closing) throw new Error('Cannot start a closed job queue');
    if (this.started) return;
    this.started = true;
    // Workers block on Redis, so they get their own connection, which BullMQ requires to retry forever.
    const connection = new WorkerConnection(this.options.redisUrl, {
      maxRetriesPerRequest: null,
      connectionName: 'jobs-worker',
    });
    connection.on('error', (error: Error) => this.reportError(error, { role: 'worker' }));
    this.workerConnection = connection;
    for (const queueName of this.queues.keys()) {
      const worker = new Worker<Envelope>(queueName, (job) => this.process(job), {
        connection,
        prefix: this.options.prefix,
        concurrency: options.concurrency ?? 5,
      });
      worker.on('error', (error) => this.reportError(error, { queue: queueName }));
      this.workers.push(worker);
    }
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const entries = await Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
        const { waiting = 0, active = 0, delayed = 0, failed = 0, completed = 0 } = counts;
        return [name, { waiting, active, delayed, failed, completed }] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async ping(): Promise<void> {
    await withTimeout(this.connection.ping(), PING_TIMEOUT_MS, 'Redis did not answer PING');
  }

  close(timeoutMs = 10_000): Promise<void> {
    this.closing ??= this.shutdown(timeoutMs);
    return this.closing;
  }

  private async shutdown(timeoutMs: number): Promise<void> {
    const workerConnections = [this.workerConnection, ...(this.workerConnection?.copies ?? [])];
    // Without Redis no job can be marked done, and a graceful close would wait on reconnects forever.
    const force = !workerConnections.every((connection) => connection?.status === 'ready');
    const workers = this.workers.map((worker) => worker.close(force));
    await withTimeout(Promise.all(workers), timeoutMs, 'Workers did not close').catch((error: unknown) => {
      // BullMQ cannot force a close already under way; dropping the connections below stops the
      // workers, and the running jobs' locks expire so that another worker retries them.
      this.logger.warn({ err: error, timeoutMs }, 'Job workers still busy; disconnecting');
    });
    const queues = [...this.queues.values()].map((queue) => queue.close());
    await withTimeout(Promise.all(queues), FORCE_CLOSE_TIMEOUT_MS, 'Queues did not close').catch(
      (error: unknown) => this.logger.warn({ err: error }, 'Job queues did not close; disconnecting'),
    );
    const connections = [this.connection, ...workerConnections].filter((c) => c !== undefined);
    await Promise.all(
      connections.map(async (connection) => {
        if (connection.status === 'ready') {
          await withTimeout(connection.quit(), FORCE_CLOSE_TIMEOUT_MS, 'Redis QUIT').catch((error: unknown) =>
            this.logger.warn({ err: error }, 'Redis connection did not quit; disconnecting'),
          );
        }
        // Also ends the reconnect loop of a connection that never reached Redis.
        connection.disconnect();
      }),
    );
  }

  /** BullMQ re-emits its connection's errors on every queue and worker; one line per error is enough. */
  private reportError(error: Error, details: object): void {
    if (this.reportedErrors.has(error)) return;
    this.reportedErrors.add(error);
    this.logger.error({ err: error, ...details }, 'Job queue Redis error');
  }

  private definitionOf(name: string): JobDefinition {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`Unknown job "${name}"`);
    return definition;
  }

  private async process(job: Job<Envelope>): Promise<void> {
    const attempt = job.attemptsMade + 1;
    const context: JobContext = {
      jobId: job.deduplicationId ?? job.id!,
      attempt,
      queue: job.queueName,
      name: job.name,
    };
    const definition = this.definitions.get(job.name);
    if (!definition) return this.reject(job, context, new Error(`Unknown job "${job.name}"`));
    let payload: unknown;
    try {
      payload = parsePayload(definition, job.data.payload);
    } catch (error) {
      return this.reject(job, context, error as Error);
    }
    const startedAt = performance.now();
    try {
      await definition.handle(payload, context);
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const willRetry = attempt < (job.opts.attempts ?? 1);
      this.notify(() => this.options.observer?.onFailed?.(context, error, willRetry));
      if (!willRetry) await this.deadLetter(job, context, error);
      throw error;
    }
    this.notify(() => this.options.observer?.onCompleted?.(context, performance.now() - startedAt));
  }

  /** Retrying cannot fix an unknown job or a stored payload that no longer parses. */
  private async reject(job: Job<Envelope>, context: JobContext, error: Error): Promise<never> {
    this.notify(() => this.options.observer?.onFailed?.(context, error, false));
    await this.deadLetter(job, context, error);
    throw new UnrecoverableError(error.message);
  }

  private async deadLetter(job: Job<Envelope>, context: JobContext, error: Error): Promise<void> {
    const deadLetter = {
      queue: context.queue,
      name: context.name,
      jobId: context.jobId,
      payload: job.data.payload,
      error: error.message || error.name,
      attempts: context.attempt,
      failedAt: new Date(),
    };
    try {
      await this.options.deadLetters(deadLetter);
    } catch (sinkError) {
      this.logger.error(
        { err: sinkError, deadLetter },
        'Dead-letter sink failed; the job stays in the failed set',
      );
    }
  }

  private notify(hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.logger.warn({ err: error }, 'Job observer threw');
    }
  }
}

function retryOptions(policy: RetryPolicy): Pick<JobsOptions, 'attempts' | 'backoff'> {
  return { attempts: policy.attempts, backoff: { type: 'exponential', delay: policy.backoffMs } };
}
