import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Cleanup } from './cleanup.js';

/** Child processes: spawning with kept output, readiness polling, stopping. */

/** The repository root; every process is started there. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');

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

/** A server's node arguments with `BENCH_SERVER_NODE_ARGS` (space-separated) put first. */
export function serverNodeArgs(nodeArgs: string[]): string[] {
  return [...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), ...nodeArgs];
}

/**
 * Starts `node <nodeArgs>` with PORT set to a free port; on cleanup it is stopped with
 * SIGTERM (then SIGKILL) if still running. `BENCH_SERVER_NODE_ARGS` (space-separated) is put
 * before the arguments of every server, for flags NODE_OPTIONS refuses, such as
 * `--cpu-prof --cpu-prof-dir=/tmp/profiles`.
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
    serverNodeArgs(nodeArgs),
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
