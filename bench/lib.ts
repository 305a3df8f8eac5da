import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';

/**
 * Shared plumbing of the benchmarks: runners, child processes, readiness polling,
 * throw-away databases and temp dirs, /proc readings and table printing. Nothing here
 * knows what a benchmark measures.
 */

/** The repository root (bench/..). */
export const ROOT = path.resolve(import.meta.dirname, '..');

// --- cleanup -------------------------------------------------------------------------------

/**
 * A LIFO list of undo steps. Every step runs even if an earlier one fails; failures are
 * reported, never swallowed.
 */
export class Cleanup {
  private readonly steps: Array<{ label: string; undo: () => unknown }> = [];
  private running: Promise<void> | undefined;

  defer(label: string, undo: () => unknown): void {
    this.steps.push({ label, undo });
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.undo();
      } catch (error) {
        process.exitCode = 1;
        console.error(`cleanup: ${step.label} failed: ${describeError(error)}`);
      }
    }
  }
}

/**
 * Runs a benchmark with a cleanup list that also runs on Ctrl-C / SIGTERM, then sets the
 * exit code: 1 if the benchmark threw (its message is printed).
 */
export async function runBenchmark(name: string, body: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${name}: ${signal} received, cleaning up`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await body(cleanup);
  } catch (error) {
    process.exitCode = 1;
    console.error(`\n${name} FAILED: ${describeError(error)}`);
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** A fresh directory under the OS temp dir, removed on cleanup. */
export function makeTempDir(cleanup: Cleanup, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  cleanup.defer(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// --- runners -------------------------------------------------------------------------------

export type RunnerName = 'built' | 'tsx';

/** How to start the server: node on compiled JavaScript, or node with the tsx loader. */
export interface Runner {
  name: RunnerName;
  /** Human-readable command line, printed with the results. */
  description: string;
  /** Arguments for `node` (always the node binary itself, never an npm/npx wrapper). */
  nodeArgs: string[];
}

const TSX_RUNNER: Runner = {
  name: 'tsx',
  description: 'node --import tsx src/server/main.ts',
  nodeArgs: ['--import', 'tsx', 'src/server/main.ts'],
};

/** Parses `--runner built|tsx|both` (default `both`). */
export function parseRunnerOption(value: string | undefined): RunnerName[] {
  const choice = value ?? 'both';
  if (choice === 'both') return ['built', 'tsx'];
  if (choice === 'built' || choice === 'tsx') return [choice];
  throw new Error(`--runner must be built, tsx or both (got "${choice}")`);
}

/** Parses `--runner built|tsx` where one runner is needed (default `built`). */
export function parseSingleRunnerOption(value: string | undefined): RunnerName {
  const choice = value ?? 'built';
  if (choice === 'built' || choice === 'tsx') return choice;
  throw new Error(`--runner must be built or tsx here (got "${choice}")`);
}

/**
 * Resolves runners. `built` uses `dist/` when it holds an entry point newer than every
 * source file; otherwise the server is compiled with tsconfig.build.json into a private
 * directory under bench/dist/ (git-ignored through the root `dist/` rule), removed on cleanup.
 */
export async function resolveRunners(names: RunnerName[], cleanup: Cleanup): Promise<Runner[]> {
  const runners: Runner[] = [];
  for (const name of names) runners.push(await resolveRunner(name, cleanup));
  return runners;
}

/** resolveRunners for one runner. */
export async function resolveRunner(name: RunnerName, cleanup: Cleanup): Promise<Runner> {
  return name === 'tsx' ? TSX_RUNNER : builtRunner(cleanup);
}

async function builtRunner(cleanup: Cleanup): Promise<Runner> {
  const distEntry = findEntry(path.join(ROOT, 'dist'));
  if (distEntry && fs.statSync(distEntry).mtimeMs >= newestSourceMtime()) {
    const relative = path.relative(ROOT, distEntry);
    return { name: 'built', description: `node ${relative} (existing dist/)`, nodeArgs: [relative] };
  }
  const reason = distEntry ? 'dist/ is older than src/' : 'no dist/';
  const outDir = path.join(ROOT, 'bench', 'dist', `build-${process.pid}`);
  cleanup.defer(`remove ${outDir}`, () => removeBuild(outDir));
  console.log(`(${reason}: compiling with tsconfig.build.json into ${path.relative(ROOT, outDir)})`);
  const compile = spawnTracked(
    cleanup,
    process.execPath,
    [
      path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--outDir',
      outDir,
    ],
    {},
  );
  const { code } = await compile.exited;
  const entry = findEntry(outDir);
  if (!entry) throw new Error(`tsc produced no main.js (exit ${code}):\n${compile.tail(40)}`);
  if (code !== 0) console.log(`warning: tsc exited ${code} but emitted JavaScript:\n${compile.tail(20)}`);
  const relative = path.relative(ROOT, entry);
  return { name: 'built', description: `node ${relative} (compiled for this run)`, nodeArgs: [relative] };
}

/** tsconfig.build.json has rootDir src, so the entry lands in <out>/server/main.js. */
function findEntry(outDir: string): string | undefined {
  return [path.join(outDir, 'main.js'), path.join(outDir, 'server', 'main.js')].find((file) =>
    fs.existsSync(file),
  );
}

function newestSourceMtime(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  };
  walk(path.join(ROOT, 'src', 'server'));
  return newest;
}

function removeBuild(outDir: string): void {
  fs.rmSync(outDir, { recursive: true, force: true });
  const parent = path.dirname(outDir);
  if (fs.existsSync(parent) && fs.readdirSync(parent).length === 0) fs.rmdirSync(parent);
}

// --- child processes -----------------------------------------------------------------------

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned process with its output kept (last lines) for error messages and log checks. */
export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  exited: Promise<Exit>;
  isRunning(): boolean;
  /** The last `count` lines of stdout and stderr, interleaved as received. */
  tail(count?: number): string;
  /** Every stdout line that parsed as a JSON log record. */
  logRecords(): Array<Record<string, unknown>>;
}

const KEPT_LINES = 5_000;

export interface SpawnOptions {
  /**
   * Send stdout to /dev/null instead of reading it: for servers logging every request,
   * whose parsing would cost the benchmark process CPU. logRecords() then stays empty.
   */
  discardStdout?: boolean;
}

/** Spawns `command` in the repository root with the bench's environment plus `env`. */
export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): Spawned {
  const lines: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  const keep = (line: string, isStdout: boolean) => {
    if (line === '') return;
    lines.push(line);
    if (lines.length > KEPT_LINES) lines.shift();
    if (isStdout && line.startsWith('{')) {
      const record = parseJsonLine(line);
      if (record && records.length < KEPT_LINES) records.push(record);
    }
  };
  const spawnedAt = performance.now();
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${command} ${args.join(' ')}`);
  for (const [stream, isStdout] of [
    [child.stdout, true],
    [child.stderr, false],
  ] as const) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) keep(part, isStdout);
    });
    stream?.on('end', () => keep(pending, isStdout));
  }
  let running = true;
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid,
    spawnedAt,
    exited,
    isRunning: () => running,
    tail: (count = 30) => lines.slice(-count).join('\n'),
    logRecords: () => records,
  };
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined; // not every stdout line is a log record
    throw error;
  }
}

/** A node process started on a known port (the Switchboard server or the bare Fastify app). */
export interface NodeServer extends Spawned {
  port: number;
  baseUrl: string;
}

/**
 * Starts `node <nodeArgs>` with PORT set to a free port; on cleanup it is stopped with
 * SIGTERM (then SIGKILL) if still running.
 */
export async function startNodeServer(
  cleanup: Cleanup,
  nodeArgs: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<NodeServer> {
  const port = await freePort();
  const spawned = spawnTracked(
    cleanup,
    process.execPath,
    nodeArgs,
    { ...env, PORT: String(port), HOST: '127.0.0.1' },
    options,
  );
  return { ...spawned, port, baseUrl: `http://127.0.0.1:${port}` };
}

/** spawnProcess, and stop the process on cleanup (SIGTERM, then SIGKILL) if it still runs. */
export function spawnTracked(
  cleanup: Cleanup,
  command: string,
  args: string[],
  env: Record<string, string>,
  options: SpawnOptions = {},
): Spawned {
  const spawned = spawnProcess(command, args, env, options);
  cleanup.defer(`stop pid ${spawned.pid}`, async () => {
    if (spawned.isRunning()) await stopProcess(spawned);
  });
  return spawned;
}

/** Starts the Switchboard server with a runner and extra environment. */
export function startSwitchboard(
  cleanup: Cleanup,
  runner: Runner,
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<NodeServer> {
  return startNodeServer(cleanup, runner.nodeArgs, env, options);
}

/** Runs a process to completion; throws with its output if it fails or takes too long. */
export async function runToCompletion(spawned: Spawned, timeoutMs = 120_000): Promise<number> {
  const outcome = await withinTimeout(spawned.exited, timeoutMs);
  if (outcome === 'timeout') {
    await stopProcess(spawned);
    throw new Error(`pid ${spawned.pid} did not finish within ${timeoutMs} ms:\n${spawned.tail()}`);
  }
  if (outcome.code !== 0)
    throw new Error(`pid ${spawned.pid} exited with ${outcome.code ?? outcome.signal}:\n${spawned.tail()}`);
  return performance.now() - spawned.spawnedAt;
}

/**
 * Polls `GET <path>` every `intervalMs` until it answers 200; returns ms since spawn.
 * Throws with the process output if the process exits first or `timeoutMs` passes.
 */
export async function waitUntilReady(
  server: NodeServer,
  { urlPath = '/readyz', intervalMs = 20, timeoutMs = 60_000 } = {},
): Promise<number> {
  const deadline = server.spawnedAt + timeoutMs;
  let lastProblem = 'no answer yet';
  while (performance.now() < deadline) {
    if (!server.isRunning()) {
      const exit = await server.exited;
      throw new Error(
        `server pid ${server.pid} exited (${exit.code ?? exit.signal}) before ${urlPath} answered 200:\n${server.tail()}`,
      );
    }
    try {
      const response = await fetch(`${server.baseUrl}${urlPath}`, { signal: AbortSignal.timeout(2_000) });
      const body = await response.text();
      if (response.status === 200) return performance.now() - server.spawnedAt;
      lastProblem = `${response.status} ${body.slice(0, 300)}`;
    } catch (error) {
      lastProblem = error instanceof Error ? error.message : String(error);
    }
    await sleep(intervalMs);
  }
  throw new Error(`${urlPath} not 200 within ${timeoutMs} ms (last: ${lastProblem}):\n${server.tail()}`);
}

export interface Shutdown extends Exit {
  ms: number;
  /** True when SIGTERM was not enough and the process had to be killed. */
  killed: boolean;
}

/** SIGTERM, then waits for exit; SIGKILL after `timeoutMs`. */
export async function stopProcess(spawned: Spawned, timeoutMs = 20_000): Promise<Shutdown> {
  const started = performance.now();
  if (!spawned.isRunning()) return { ...(await spawned.exited), ms: 0, killed: false };
  spawned.child.kill('SIGTERM');
  const outcome = await withinTimeout(spawned.exited, timeoutMs);
  if (outcome !== 'timeout') return { ...outcome, ms: performance.now() - started, killed: false };
  spawned.child.kill('SIGKILL');
  return { ...(await spawned.exited), ms: performance.now() - started, killed: true };
}

/** Log records at warn (40) or above, as short strings, for the report. */
export function warningsIn(spawned: Spawned): string[] {
  return spawned
    .logRecords()
    .filter((record) => typeof record.level === 'number' && record.level >= 40)
    .map(
      (record) =>
        `[${record.level}] ${String(record.msg)}${record.err ? ` ${JSON.stringify(record.err)}` : ''}`,
    );
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the free port'));
      });
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or 'timeout' after `ms`; the timer is cleared so it cannot hold the process open. */
async function withinTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// --- PostgreSQL and Redis ------------------------------------------------------------------

export const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether PostgreSQL and Redis answer; `detail` says what failed otherwise. */
export async function servicesReachable(): Promise<{ ok: boolean; detail: string }> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    problems.push(`PostgreSQL ${POSTGRES_ADMIN_URL}: ${error instanceof Error ? error.message : error}`);
  } finally {
    await client.end().catch((error: unknown) => problems.push(`PostgreSQL close: ${String(error)}`));
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    problems.push(`Redis ${REDIS_URL}: ${error instanceof Error ? error.message : error}`);
  } finally {
    redis.disconnect();
  }
  return { ok: problems.length === 0, detail: problems.join('; ') || 'PostgreSQL and Redis reachable' };
}

let servicesCount = 0;

/**
 * A throw-away PostgreSQL database `sb_bench_<pid>_<n>` and Redis prefix `sbbench-<pid>-<n>`,
 * as server environment. On cleanup the database is dropped and the prefix's keys deleted.
 */
export async function createServicesEnv(cleanup: Cleanup): Promise<Record<string, string>> {
  servicesCount += 1;
  const database = `sb_bench_${process.pid}_${servicesCount}`;
  const prefix = `sbbench-${process.pid}-${servicesCount}`;
  await adminQuery(`create database ${database}`);
  cleanup.defer(`drop database ${database}`, () =>
    adminQuery(`drop database if exists ${database} with (force)`),
  );
  cleanup.defer(`delete Redis keys ${prefix}*`, () => deleteRedisKeys(prefix));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return { DATABASE_URL: url.toString(), REDIS_URL, REDIS_PREFIX: prefix };
}

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// --- Switchboard helpers -------------------------------------------------------------------

/** Signs in and returns the access token; throws with the response body otherwise. */
export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`login as ${email} answered ${response.status}: ${body}`);
  const token = (JSON.parse(body) as { accessToken?: unknown }).accessToken;
  if (typeof token !== 'string') throw new Error(`login answered 200 without accessToken: ${body}`);
  return token;
}

/** Reads one Prometheus sample (no labels) from /metrics, or undefined if absent. */
export async function readMetric(baseUrl: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

// --- /proc ---------------------------------------------------------------------------------

export interface Memory {
  rssMb: number;
  peakRssMb: number;
}

/** VmRSS and VmHWM of one process from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return { rssMb: kilobytes('VmRSS') / 1024, peakRssMb: kilobytes('VmHWM') / 1024 };
}

/** The command line of a process, to prove which process was measured. */
export function commandLine(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

/** Every descendant of `pid` (children, grandchildren…), from /proc/<pid>/stat parent ids. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcFile(`/proc/${entry}/stat`);
    // Field 4 is the parent pid; the command (field 2) may hold spaces, so split after ')'.
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields?.[1]) parentOf.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, childParent] of parentOf) {
      if (childParent === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** user+system CPU seconds of one process (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (!stat) throw new Error(`pid ${pid} has no /proc entry`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the ')' split.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux that Node supports.
const CLOCK_TICKS_PER_SECOND = 100;

/** A /proc file, or undefined when the process vanished between listing and reading. */
function readProcFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ESRCH'
    )
      return undefined;
    throw error;
  }
}

/** nproc, CPU model, total memory and node version, for the report header. */
export function machineSummary(): string {
  const cpus = os.cpus();
  const memoryGb = os.totalmem() / 1024 ** 3;
  return `${os.availableParallelism()} CPU (${cpus[0]?.model ?? 'unknown'}), ${memoryGb.toFixed(1)} GB RAM, node ${process.version}`;
}

/**
 * The 1- and 5-minute load averages, flagged when other work competes for the CPUs: the
 * benchmarks share the machine with whatever else runs, and say so next to their figures.
 */
export function loadNote(): string {
  const [one = 0, five = 0] = os.loadavg();
  const busy = one > 0.5 ? ' (other processes are busy: figures are noisier than on an idle machine)' : '';
  return `load average ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)${busy}`;
}

// --- numbers and tables --------------------------------------------------------------------

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { min: sorted[0]!, median, max: sorted[sorted.length - 1]! };
}

export const formatMs = (ms: number): string => `${Math.round(ms)} ms`;
export const formatMb = (mb: number): string => `${mb.toFixed(1)} MB`;
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;
export const verdict = (met: boolean): string => (met ? 'met' : 'MISSED');

/** Prints a Markdown table (readable in a terminal, pasteable into docs). */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(headers));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of rows) console.log(line(row));
}

/** A random SEED_ADMIN_PASSWORD (the server wants at least 12 characters). */
export function benchPassword(): string {
  return `bench-${randomBytes(12).toString('base64url')}`;
}
