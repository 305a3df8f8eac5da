import { performance } from 'node:perf_hooks';
import { percentile } from './report.js';

/** Closed-loop load from this process: N workers, each starting its next task when one ends. */

export interface TimedLoopOptions {
  workers: number;
  seconds: number;
  /** One unit of work; throwing stops every worker and fails the run. */
  task: (worker: number, sequence: number) => Promise<void>;
}

export interface TimedRun {
  workers: number;
  /** Tasks run (all completed). */
  completed: number;
  /** From the start to the completion of the last task. */
  seconds: number;
  /** Each task's duration in ms, ascending. */
  latencies: number[];
}

export interface LatencySummary {
  count: number;
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Runs `task` on `workers` concurrent workers for `seconds`, recording every task's duration.
 * No task starts after that; the ones still running are waited for and counted, so a run
 * ends idle and a warm-up run can simply precede the measured one.
 */
export async function timedLoop(options: TimedLoopOptions): Promise<TimedRun> {
  const startedAt = performance.now();
  const stopAt = startedAt + options.seconds * 1000;
  const latencies: number[] = [];
  let failure: { error: unknown } | undefined;
  let lastEnd = startedAt;
  let sequence = 0;
  const worker = async (index: number) => {
    while (!failure) {
      const started = performance.now();
      if (started >= stopAt) return;
      try {
        await options.task(index, sequence++);
      } catch (error) {
        failure ??= { error };
        return;
      }
      const ended = performance.now();
      latencies.push(ended - started);
      lastEnd = Math.max(lastEnd, ended);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, (_, index) => worker(index)));
  if (failure) throw failure.error;
  latencies.sort((a, b) => a - b);
  return {
    workers: options.workers,
    completed: latencies.length,
    seconds: (lastEnd - startedAt) / 1000,
    latencies,
  };
}

export function summarise(run: TimedRun): LatencySummary {
  if (run.latencies.length === 0) throw new Error('no task completed');
  return {
    count: run.completed,
    perSecond: run.completed / run.seconds,
    p50: percentile(run.latencies, 50),
    p95: percentile(run.latencies, 95),
    p99: percentile(run.latencies, 99),
    max: run.latencies.at(-1)!,
  };
}

/** Runs `work` for every item, at most `concurrency` at a time; results in item order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++)
      results[index] = await work(items[index]!, index);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
