import fs from 'node:fs';
import path from 'node:path';
import type { Cleanup } from './cleanup.js';
import {
  type NodeServer,
  ROOT,
  type Spawned,
  type SpawnOptions,
  serverNodeArgs,
  spawnTracked,
  startNodeServer,
} from './processes.js';

/** How the server is started: the compiled build or the tsx loader. */

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

/** Starts the Switchboard server with a runner and extra environment. */
export function startSwitchboard(
  cleanup: Cleanup,
  runner: Runner,
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<NodeServer> {
  return startNodeServer(cleanup, runner.nodeArgs, env, options);
}

/** `count` RUN_MODE=worker processes: they share the queues through Redis, one per core on a deployment. */
export function spawnWorkers(
  cleanup: Cleanup,
  runner: Runner,
  env: Record<string, string>,
  count: number,
): Spawned[] {
  return Array.from({ length: count }, () =>
    spawnTracked(cleanup, process.execPath, serverNodeArgs(runner.nodeArgs), { ...env, RUN_MODE: 'worker' }),
  );
}
