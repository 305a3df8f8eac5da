import { parseArgs } from 'node:util';
import {
  benchPassword,
  type Cleanup,
  formatMs,
  loadNote,
  machineSummary,
  makeTempDir,
  parseRunnerOption,
  printTable,
  type Runner,
  resolveRunners,
  runBenchmark,
  type Shutdown,
  spread,
  startSwitchboard,
  stopProcess,
  verdict,
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * Embedded-mode cold start: one first start on an empty DATA_DIR (PGlite initdb, migrations,
 * demo seed) and N second starts on the same data. Each start: spawn node, poll /readyz
 * every 20 ms until 200, then SIGTERM and wait for the exit.
 *
 *   npx tsx bench/cold-start.ts [--runs 5] [--runner built|tsx|both]
 */

const TARGET_SECOND_START_MS = 3_000;

interface Start {
  kind: 'first' | 'second';
  readyMs: number;
  /** What the server itself logs as startupMs: createPlatform → listening, module loading excluded. */
  serverStartupMs: number | undefined;
  shutdown: Shutdown;
}

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, runner: { type: 'string' } },
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs must be a positive integer (got ${values.runs})`);

await runBenchmark('cold-start', async (cleanup) => {
  console.log(`cold-start: embedded mode (PGlite), 1 first start + ${runs} second starts per runner`);
  console.log(`machine: ${machineSummary()}; ${loadNote()}`);
  console.log('LOG_LEVEL=info (the server logs its own startupMs at info); /readyz polled every 20 ms\n');
  const runners = await resolveRunners(parseRunnerOption(values.runner), cleanup);
  const results = new Map<Runner, Start[]>();
  for (const runner of runners) {
    console.log(`runner ${runner.name}: ${runner.description}`);
    results.set(runner, await measureRunner(cleanup, runner));
  }

  console.log(
    '\nEvery start ("load" = spawn→ready minus the server\'s startupMs: node boot, imports, config):',
  );
  printTable(
    ['runner', 'start', 'spawn→ready', 'server startupMs', 'load', 'shutdown', 'exit'],
    [...results].flatMap(([runner, starts]) =>
      starts.map((start) => [
        runner.name,
        start.kind,
        formatMs(start.readyMs),
        start.serverStartupMs === undefined ? '?' : formatMs(start.serverStartupMs),
        start.serverStartupMs === undefined ? '?' : formatMs(start.readyMs - start.serverStartupMs),
        formatMs(start.shutdown.ms),
        exitLabel(start.shutdown),
      ]),
    ),
  );

  console.log('\nSummary (min / median / max):');
  printTable(
    [
      'runner',
      'first start',
      'second start',
      'shutdown',
      `target: second start ≤ ${TARGET_SECOND_START_MS / 1000} s (median)`,
      'worst second start',
    ],
    [...results].map(([runner, starts]) => {
      const first = starts.find((start) => start.kind === 'first')!;
      const second = spread(starts.filter((start) => start.kind === 'second').map((start) => start.readyMs));
      const shutdown = spread(starts.map((start) => start.shutdown.ms));
      return [
        runner.name,
        formatMs(first.readyMs),
        spreadLabel(second),
        spreadLabel(shutdown),
        verdict(second.median <= TARGET_SECOND_START_MS),
        `${formatMs(second.max)}${second.max > TARGET_SECOND_START_MS ? ' (over the target)' : ''}`,
      ];
    }),
  );
  console.log(`\nafter: ${loadNote()}`);
  const badExits = [...results.values()].flat().filter((start) => start.shutdown.code !== 0);
  if (badExits.length > 0) throw new Error(`${badExits.length} start(s) did not exit 0 on SIGTERM`);
});

async function measureRunner(cleanup: Cleanup, runner: Runner): Promise<Start[]> {
  const env = {
    DATA_DIR: makeTempDir(cleanup, 'sb-cold-start'),
    LOG_LEVEL: 'info',
    SEED_ADMIN_PASSWORD: benchPassword(),
  };
  const starts: Start[] = [];
  const warnings = new Set<string>();
  for (let index = 0; index <= runs; index += 1) {
    const server = await startSwitchboard(cleanup, runner, env);
    const readyMs = await waitUntilReady(server);
    const shutdown = await stopProcess(server);
    const startupRecord = server.logRecords().find((record) => typeof record.startupMs === 'number');
    const start: Start = {
      kind: index === 0 ? 'first' : 'second',
      readyMs,
      serverStartupMs: startupRecord?.startupMs as number | undefined,
      shutdown,
    };
    starts.push(start);
    for (const warning of warningsIn(server)) warnings.add(warning);
    console.log(
      `  ${start.kind.padEnd(6)} ready ${formatMs(readyMs).padStart(8)}, shutdown ${formatMs(shutdown.ms)} → ${exitLabel(shutdown)}`,
    );
  }
  for (const warning of warnings) console.log(`  log: ${warning}`);
  return starts;
}

function spreadLabel(value: { min: number; median: number; max: number }): string {
  return `${Math.round(value.min)} / ${Math.round(value.median)} / ${Math.round(value.max)} ms`;
}

function exitLabel(shutdown: Shutdown): string {
  const base = shutdown.code === null ? `signal ${shutdown.signal}` : `code ${shutdown.code}`;
  return shutdown.killed ? `${base} (SIGKILL after timeout)` : base;
}
