import { randomUUID } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
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

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions {
  deadLetters: DeadLetterSink;
  observer?: JobObserver;
  logger?: JobQueueLogger;
}

interface MemoryJob {
  id: string;
  /** The caller's `jobId`, which dedupes while the job is live. */
  dedupeId: string | undefined;
  definition: JobDefinition;
  /** As enqueued, so a dead letter can be replayed through `enqueue`. */
  input: unknown;
  payload: unknown;
  policy: RetryPolicy;
  attempt: number;
  runAt: number;
  state: 'waiting' | 'delayed' | 'active';
}

interface Timer {
  cancel(): void;
}

class Lane {
  readonly waiting: MemoryJob[] = [];
  /** Sorted by runAt; a single timer per lane tracks its head. */
  readonly delayed: MemoryJob[] = [];
  readonly active = new Set<MemoryJob>();
  /** Waiting, delayed and active jobs by the caller's jobId. */
  readonly live = new Map<string, MemoryJob>();
  completed = 0;
  failed = 0;
  timer: Timer | undefined;
  constructor(readonly name: string) {}
}

interface Schedule {
  key: string;
  definition: JobDefinition;
  input: unknown;
  cron: string;
  firedAt: number;
  timer?: Timer;
  /** At most one tick waits at a time, as a BullMQ scheduler keeps one pending job. */
  lastJobId?: string;
}

const MAX_TIMER_MS = 2_147_483_647;

/**
 * In-process job queue for the embedded mode: named queues, each FIFO with its own
 * concurrency, delayed jobs, exponential retries, dead letters and cron schedules.
 * Nothing survives the process: jobs still waiting at `close()` or a crash are lost.
 */
export class MemoryJobQueue implements JobQueue {
  readonly driver = 'memory' as const;
  private readonly definitions = new Map<string, JobDefinition>();
  private readonly lanes = new Map<string, Lane>();
  private readonly schedules = new Map<string, Schedule>();
  private readonly running = new Set<Promise<void>>();
  private readonly logger: JobQueueLogger;
  private concurrency = 5;
  private started = false;
  private closed = false;

  constructor(private readonly options: MemoryJobQueueOptions) {
    this.logger = options.logger ?? fallbackLogger;
  }

  define(definition: JobDefinition): void {
    if (this.started) throw new Error(`Cannot define job "${definition.name}" after start()`);
    if (this.definitions.has(definition.name)) throw new Error(`Job "${definition.name}" is already defined`);
    this.definitions.set(definition.name, definition);
    if (!this.lanes.has(definition.queue)) this.lanes.set(definition.queue, new Lane(definition.queue));
  }

  async enqueue(name: string, payload: unknown, options: EnqueueOptions = {}): Promise<string> {
    if (this.closed) throw new Error(`Cannot enqueue job "${name}": the job queue is closed`);
    const definition = this.definitionOf(name);
    const parsed = parsePayload(definition, payload);
    const lane = this.lanes.get(definition.queue)!;
    const existing = options.jobId === undefined ? undefined : lane.live.get(options.jobId);
    if (existing) return existing.id;
    const delayMs = options.delayMs ?? 0;
    const job: MemoryJob = {
      id: options.jobId ?? randomUUID(),
      dedupeId: options.jobId,
      definition,
      input: payload,
      payload: parsed,
      policy: { ...DEFAULT_RETRY, ...definition.retry, ...options.retry },
      attempt: 0,
      runAt: Date.now() + delayMs,
      state: 'waiting',
    };
    if (job.dedupeId !== undefined) lane.live.set(job.dedupeId, job);
    if (delayMs > 0) this.delay(lane, job);
    else lane.waiting.push(job);
    this.pump(lane);
    return job.id;
  }

  async enqueueMany(jobs: readonly JobRequest[]): Promise<string[]> {
    for (const job of jobs) parsePayload(this.definitionOf(job.name), job.payload);
    const ids: string[] = [];
    for (const job of jobs) ids.push(await this.enqueue(job.name, job.payload, job.options));
    return ids;
  }

  async schedule(key: string, name: string, cron: string, payload?: unknown): Promise<void> {
    const definition = this.definitionOf(name);
    parsePayload(definition, payload);
    nextCronTime(cron, Date.now());
    await this.unschedule(key);
    const schedule: Schedule = { key, definition, input: payload, cron, firedAt: 0 };
    this.schedules.set(key, schedule);
    if (this.started) this.armSchedule(schedule);
  }

  async unschedule(key: string): Promise<void> {
    this.schedules.get(key)?.timer?.cancel();
    this.schedules.delete(key);
  }

  async start(options: { concurrency?: number } = {}): Promise<void> {
    if (this.closed) throw new Error('Cannot start a closed job queue');
    if (this.started) return;
    this.concurrency = options.concurrency ?? 5;
    this.started = true;
    for (const lane of this.lanes.values()) this.pump(lane);
    for (const schedule of this.schedules.values()) this.armSchedule(schedule);
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const counts: Record<string, QueueCounts> = {};
    for (const lane of this.lanes.values()) {
      const { waiting, active, delayed, failed, completed } = lane;
      counts[lane.name] = {
        waiting: waiting.length,
        active: active.size,
        delayed: delayed.length,
        failed,
        completed,
      };
    }
    return counts;
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) lane.timer?.cancel();
    for (const schedule of this.schedules.values()) schedule.timer?.cancel();
    if (this.running.size === 0) return;
    let timeout: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timeout = setTimeout(() => resolve('expired'), timeoutMs);
    });
    const outcome = await Promise.race([Promise.all(this.running).then(() => 'drained' as const), expired]);
    clearTimeout(timeout);
    if (outcome === 'expired') {
      this.logger.warn(
        { active: this.running.size, timeoutMs },
        'Jobs still running after the close timeout',
      );
    }
  }

  private definitionOf(name: string): JobDefinition {
    const definition = this.definitions.get(name);
    if (!definition) throw new Error(`Unknown job "${name}"`);
    return definition;
  }

  private pump(lane: Lane): void {
    while (this.started && !this.closed && lane.active.size < this.concurrency) {
      const job = lane.waiting.shift();
      if (!job) return;
      const run = this.run(lane, job);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
  }

  /** Never rejects: every outcome of a handler goes to a retry, the sink or the logger. */
  private async run(lane: Lane, job: MemoryJob): Promise<void> {
    job.state = 'active';
    job.attempt += 1;
    lane.active.add(job);
    const context: JobContext = {
      jobId: job.id,
      attempt: job.attempt,
      queue: lane.name,
      name: job.definition.name,
    };
    const startedAt = performance.now();
    try {
      await job.definition.handle(job.payload, context);
      lane.completed += 1;
      this.notify(() => this.options.observer?.onCompleted?.(context, performance.now() - startedAt));
      this.forget(lane, job);
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const willRetry = job.attempt < job.policy.attempts;
      this.notify(() => this.options.observer?.onFailed?.(context, error, willRetry));
      if (willRetry) {
        lane.active.delete(job);
        job.runAt = Date.now() + job.policy.backoffMs * 2 ** (job.attempt - 1);
        this.delay(lane, job);
      } else {
        lane.failed += 1;
        await this.deadLetter(job, lane.name, error);
        this.forget(lane, job);
      }
    } finally {
      lane.active.delete(job);
      this.pump(lane);
    }
  }

  private forget(lane: Lane, job: MemoryJob): void {
    if (job.dedupeId !== undefined && lane.live.get(job.dedupeId) === job) lane.live.delete(job.dedupeId);
  }

  private async deadLetter(job: MemoryJob, queue: string, error: Error): Promise<void> {
    const deadLetter = {
      queue,
      name: job.definition.name,
      jobId: job.id,
      payload: job.input,
      error: error.message || error.name,
      attempts: job.attempt,
      failedAt: new Date(),
    };
    try {
      await this.options.deadLetters(deadLetter);
    } catch (sinkError) {
      this.logger.error({ err: sinkError, deadLetter }, 'Dead-letter sink failed; the failed job is lost');
    }
  }

  private notify(hook: () => void): void {
    try {
      hook();
    } catch (error) {
      this.logger.warn({ err: error }, 'Job observer threw');
    }
  }

  private delay(lane: Lane, job: MemoryJob): void {
    job.state = 'delayed';
    insertByRunAt(lane.delayed, job);
    if (lane.delayed[0] === job) this.armLane(lane);
  }

  private armLane(lane: Lane): void {
    lane.timer?.cancel();
    const head = lane.delayed[0];
    lane.timer = head && !this.closed ? startTimer(head.runAt, () => this.promote(lane)) : undefined;
  }

  private promote(lane: Lane): void {
    const now = Date.now();
    while (lane.delayed[0] && lane.delayed[0].runAt <= now) {
      const job = lane.delayed.shift()!;
      job.state = 'waiting';
      lane.waiting.push(job);
    }
    this.armLane(lane);
    this.pump(lane);
  }

  private armSchedule(schedule: Schedule): void {
    if (this.closed) return;
    const at = nextCronTime(schedule.cron, Math.max(Date.now(), schedule.firedAt));
    schedule.timer = startTimer(at, () => {
      schedule.firedAt = at;
      this.fire(schedule, at);
      this.armSchedule(schedule);
    });
  }

  private fire(schedule: Schedule, at: number): void {
    const lane = this.lanes.get(schedule.definition.queue)!;
    const previous = schedule.lastJobId === undefined ? undefined : lane.live.get(schedule.lastJobId);
    if (previous?.state === 'waiting') return;
    const jobId = `repeat:${schedule.key}:${at}`;
    schedule.lastJobId = jobId;
    this.enqueue(schedule.definition.name, schedule.input, { jobId }).catch((error: unknown) => {
      this.logger.error({ err: error, key: schedule.key }, 'Scheduled job could not be enqueued');
    });
  }
}

function nextCronTime(cron: string, after: number): number {
  return CronExpressionParser.parse(cron, { tz: 'UTC', currentDate: new Date(after) })
    .next()
    .getTime();
}

/** setTimeout caps at ~24.8 days and fires at once beyond it, so long waits re-arm in steps. */
function startTimer(at: number, fire: () => void): Timer {
  let handle: NodeJS.Timeout;
  const arm = (): void => {
    const wait = Math.max(0, at - Date.now());
    handle = setTimeout(wait > MAX_TIMER_MS ? arm : fire, Math.min(wait, MAX_TIMER_MS));
    handle.unref();
  };
  arm();
  return { cancel: () => clearTimeout(handle) };
}

/** Binary insertion after equal times keeps jobs due at the same moment in FIFO order. */
function insertByRunAt(sorted: MemoryJob[], job: MemoryJob): void {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (sorted[middle]!.runAt <= job.runAt) low = middle + 1;
    else high = middle;
  }
  sorted.splice(low, 0, job);
}
