import { type LatencySummary, summarise, type TimedRun, timedLoop } from './concurrent.js';
import { monotonicMicros } from './cpu-profile.js';
import { ActivitySampler } from './pg-activity.js';
import type { NodeServer, Spawned } from './processes.js';
import { formatLatency, formatPercent } from './report.js';
import { cpuSeconds, cpuSecondsByProcess, cpuSecondsSince } from './system.js';

/** A closed-loop run against a server on PostgreSQL, with where the CPU went on both sides. */

/** The server under test and its database. */
export interface Target {
  server: NodeServer;
  /** RUN_MODE=worker processes next to an API server (their CPU is reported apart). */
  workers?: readonly Spawned[];
  databaseUrl: string;
  /** The database name, which its backends' process titles carry. */
  database: string;
  /** When given, each measured run adds its window (monotonic µs) here, for a CPU profile. */
  windows?: MeasuredWindow[];
}

export interface MeasuredWindow {
  label: string;
  from: number;
  to: number;
}

export interface Measured {
  label: string;
  run: TimedRun;
  summary: LatencySummary;
  /** Shares of one core over the measured run. */
  serverCpu: number;
  databaseCpu: number;
  /** CPU time per completed request: steadier than latency on a busy machine. */
  serverMsPerRequest: number;
  databaseMsPerRequest: number;
  /** The worker processes, if any (0 without). */
  workerCpu: number;
  workerMsPerRequest: number;
  /** The benchmark process itself (the clients), which shares the machine's cores. */
  clientCpu: number;
  clientMsPerRequest: number;
}

export interface MeasureOptions {
  label: string;
  workers: number;
  warmupSeconds: number;
  seconds: number;
  task: (worker: number, sequence: number) => Promise<void>;
}

/**
 * A warm-up loop (discarded), then the measured loop with the CPU time of the server process
 * and of the database's backends, and what the backends were doing (printed).
 */
export async function measureLoop(target: Target, options: MeasureOptions): Promise<Measured> {
  const { workers, task } = options;
  await timedLoop({ workers, seconds: options.warmupSeconds, task });
  const backends = ` ${target.database} `;
  const sampler = await ActivitySampler.start(target.databaseUrl);
  const workerCpuSeconds = () =>
    (target.workers ?? []).reduce((sum, worker) => sum + cpuSeconds(worker.pid), 0);
  const serverBefore = cpuSeconds(target.server.pid);
  const workersBefore = workerCpuSeconds();
  const databaseBefore = cpuSecondsByProcess(backends);
  const clientBefore = process.cpuUsage();
  const from = monotonicMicros();
  const run = await timedLoop({ workers, seconds: options.seconds, task });
  target.windows?.push({ label: options.label, from, to: monotonicMicros() });
  const clientUsage = process.cpuUsage(clientBefore);
  const clientSeconds = (clientUsage.user + clientUsage.system) / 1e6;
  const serverSeconds = cpuSeconds(target.server.pid) - serverBefore;
  const workerSeconds = workerCpuSeconds() - workersBefore;
  const databaseSeconds = cpuSecondsSince(backends, databaseBefore);
  const activity = await sampler.stop();
  const summary = summarise(run);
  console.log(
    `  ${options.label}: ${summary.count} requests, ${Math.round(summary.perSecond)}/s, ` +
      `p50 ${formatLatency(summary.p50)}, p95 ${formatLatency(summary.p95)}, p99 ${formatLatency(summary.p99)}, ` +
      `max ${formatLatency(summary.max)}`,
  );
  console.log(
    `    backends busy ${activity.busyBackends.toFixed(1)} on average: ${activity.activities
      .slice(0, 5)
      .map((entry) => `${entry.text} ${formatPercent(entry.share)}`)
      .join(', ')}`,
  );
  for (const statement of activity.statements.slice(0, 2))
    console.log(`    running ${formatPercent(statement.share)}: ${statement.text}`);
  return {
    label: options.label,
    run,
    summary,
    serverCpu: serverSeconds / run.seconds,
    databaseCpu: databaseSeconds / run.seconds,
    serverMsPerRequest: (serverSeconds * 1000) / run.completed,
    databaseMsPerRequest: (databaseSeconds * 1000) / run.completed,
    workerCpu: workerSeconds / run.seconds,
    workerMsPerRequest: (workerSeconds * 1000) / run.completed,
    clientCpu: clientSeconds / run.seconds,
    clientMsPerRequest: (clientSeconds * 1000) / run.completed,
  };
}

/** "42.0%, 1.23 ms/req": share of one core, and CPU time per request. */
export function cpuCell(share: number, msPerRequest: number): string {
  return `${formatPercent(share)}, ${msPerRequest.toFixed(2)} ms/req`;
}

/** The explanation printed above tables with cpuCell columns. */
export const CPU_COLUMNS_NOTE =
  'Server CPU: the Switchboard API process; worker CPU: its RUN_MODE=worker processes (outbox relay,\n' +
  'jobs), if any; database CPU: the PostgreSQL backends of this database\n' +
  '(process titles in /proc); client CPU: this benchmark process, which shares the cores; all over\n' +
  'the measured run, as a share of one core and per request.\n' +
  '"backends busy": pg_stat_activity of the database, sampled every 50 ms.';
