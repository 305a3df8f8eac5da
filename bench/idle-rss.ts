import { parseArgs } from 'node:util';
import {
  type Cleanup,
  commandLine,
  createServicesEnv,
  descendants,
  formatMb,
  formatMs,
  loadNote,
  type Memory,
  machineSummary,
  makeTempDir,
  parseRunnerOption,
  printTable,
  type Runner,
  readMemory,
  readMetric,
  resolveRunners,
  runBenchmark,
  runToCompletion,
  type Spawned,
  servicesReachable,
  sleep,
  spawnTracked,
  startSwitchboard,
  stopProcess,
  verdict,
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * Idle resident memory of the server process (RUN_MODE=all) after it became ready and sat
 * idle: on PostgreSQL + Redis (the target) and embedded PGlite (for comparison). The node
 * process is spawned directly, so /proc/<pid>/status is the server's, not a wrapper's.
 *
 *   npx tsx bench/idle-rss.ts [--idle-seconds 30] [--runner built|tsx|both] [--mode services|embedded|both]
 *
 * Idle means settled: V8 keeps the young generation it grew while starting (up to 32 MB)
 * until its memory reducer sees a low allocation rate, about 10–15 s after start here. The
 * target is judged on the reading after the whole idle period (30 s by default); the reading
 * at 10 s is printed next to it.
 */

const TARGET_RSS_MB = 150;
type Mode = 'services' | 'embedded';
/** Embedded mode is measured twice: on a fresh DATA_DIR (initdb + seed) and restarted on it. */
type Scenario = 'services' | 'embedded-fresh' | 'embedded-restart';
const SCENARIO_LABELS: Record<Scenario, string> = {
  services: 'PostgreSQL + Redis',
  'embedded-fresh': 'embedded, fresh DATA_DIR',
  'embedded-restart': 'embedded, restart on data',
};

interface Reading {
  scenario: Scenario;
  runner: Runner;
  readyMs: number;
  migrateMs: number | undefined;
  atReady: Memory;
  afterIdle: Memory;
  /** RSS 10 s after ready, when the idle period is longer. */
  at10sMb: number | undefined;
  maxDuringIdleMb: number;
  heapUsedMb: number | undefined;
  heapTotalMb: number | undefined;
  externalMb: number | undefined;
  childProcesses: string;
  warnings: string[];
}

const { values } = parseArgs({
  options: {
    'idle-seconds': { type: 'string', default: '30' },
    runner: { type: 'string' },
    mode: { type: 'string', default: 'both' },
  },
});
const idleSeconds = Number(values['idle-seconds']);
if (!(idleSeconds >= 0))
  throw new Error(`--idle-seconds must be a number ≥ 0 (got ${values['idle-seconds']})`);
const modes: Mode[] = values.mode === 'both' ? ['services', 'embedded'] : [values.mode as Mode];
if (!modes.every((mode) => mode === 'services' || mode === 'embedded'))
  throw new Error(`--mode must be services, embedded or both (got ${values.mode})`);

await runBenchmark('idle-rss', async (cleanup) => {
  console.log(`idle-rss: RUN_MODE=all, VmRSS of the node process after ready + ${idleSeconds} s idle`);
  console.log(`machine: ${machineSummary()}; ${loadNote()}`);
  console.log(
    'LOG_LEVEL=warn; /proc/<pid>/status read before /metrics is fetched (so the scrape does not count)\n',
  );
  if (modes.includes('services')) {
    const services = await servicesReachable();
    if (!services.ok) throw new Error(`--mode services needs PostgreSQL and Redis: ${services.detail}`);
  }
  const runners = await resolveRunners(parseRunnerOption(values.runner), cleanup);
  const readings: Reading[] = [];
  for (const mode of modes) {
    for (const runner of runners) {
      if (mode === 'services') {
        readings.push(await measure(cleanup, 'services', runner, await servicesScenarioEnv(cleanup, runner)));
        continue;
      }
      const env = { DATA_DIR: makeTempDir(cleanup, 'sb-idle-rss'), LOG_LEVEL: 'warn', RUN_MODE: 'all' };
      readings.push(await measure(cleanup, 'embedded-fresh', runner, { env }));
      readings.push(await measure(cleanup, 'embedded-restart', runner, { env }));
    }
  }

  console.log('');
  printTable(
    [
      'mode',
      'runner',
      'RSS at ready',
      'RSS at 10 s',
      `RSS after ${idleSeconds} s idle`,
      'max RSS idle',
      'VmHWM (peak)',
      'V8 heap used / total',
      'external',
      'child processes',
      `target ≤ ${TARGET_RSS_MB} MB`,
    ],
    readings.map((reading) => [
      SCENARIO_LABELS[reading.scenario],
      reading.runner.name,
      formatMb(reading.atReady.rssMb),
      reading.at10sMb === undefined ? '—' : formatMb(reading.at10sMb),
      formatMb(reading.afterIdle.rssMb),
      formatMb(reading.maxDuringIdleMb),
      formatMb(reading.afterIdle.peakRssMb),
      reading.heapUsedMb === undefined || reading.heapTotalMb === undefined
        ? '?'
        : `${formatMb(reading.heapUsedMb)} / ${formatMb(reading.heapTotalMb)}`,
      reading.externalMb === undefined ? '?' : formatMb(reading.externalMb),
      reading.childProcesses,
      reading.scenario === 'services' ? verdict(reading.afterIdle.rssMb <= TARGET_RSS_MB) : '(comparison)',
    ]),
  );
  for (const reading of readings) {
    const migrate =
      reading.migrateMs === undefined ? '' : `, RUN_MODE=migrate took ${formatMs(reading.migrateMs)}`;
    console.log(
      `${SCENARIO_LABELS[reading.scenario]}, ${reading.runner.name}: ready after ${formatMs(reading.readyMs)}${migrate}`,
    );
    for (const warning of reading.warnings) console.log(`  log: ${warning}`);
  }
  console.log(`\nafter: ${loadNote()}`);
});

/** A throw-away database migrated by `RUN_MODE=migrate`, then the server's environment. */
async function servicesScenarioEnv(
  cleanup: Cleanup,
  runner: Runner,
): Promise<{ env: Record<string, string>; migrateMs: number }> {
  const env = { ...(await createServicesEnv(cleanup)), LOG_LEVEL: 'warn' };
  const migrateMs = await runToCompletion(
    spawnTracked(cleanup, process.execPath, runner.nodeArgs, { ...env, RUN_MODE: 'migrate' }),
  );
  return { env: { ...env, RUN_MODE: 'all', MIGRATE_ON_START: 'false', SEED_DEMO: 'false' }, migrateMs };
}

async function measure(
  cleanup: Cleanup,
  scenario: Scenario,
  runner: Runner,
  { env, migrateMs }: { env: Record<string, string>; migrateMs?: number },
): Promise<Reading> {
  console.log(`${SCENARIO_LABELS[scenario]}, runner ${runner.name}: ${runner.description}`);
  const server = await startSwitchboard(cleanup, runner, env);
  const readyMs = await waitUntilReady(server);
  const measured = commandLine(server.pid);
  if (!measured.includes('node')) throw new Error(`pid ${server.pid} is not node: ${measured}`);
  const atReady = readMemory(server.pid);
  let maxDuringIdleMb = atReady.rssMb;
  let at10sMb: number | undefined;
  for (let second = 1; second <= idleSeconds; second += 1) {
    await sleep(1_000);
    const rssMb = readMemory(server.pid).rssMb;
    maxDuringIdleMb = Math.max(maxDuringIdleMb, rssMb);
    if (second === 10 && idleSeconds > 10) at10sMb = rssMb;
  }
  const afterIdle = readMemory(server.pid);
  const childProcesses = describeChildren(server);
  const megabytes = async (name: string) => {
    const bytes = await readMetric(server.baseUrl, name);
    return bytes === undefined ? undefined : bytes / 1024 ** 2;
  };
  const reading: Reading = {
    scenario,
    runner,
    readyMs,
    migrateMs,
    atReady,
    afterIdle,
    at10sMb,
    maxDuringIdleMb,
    heapUsedMb: await megabytes('switchboard_nodejs_heap_size_used_bytes'),
    heapTotalMb: await megabytes('switchboard_nodejs_heap_size_total_bytes'),
    externalMb: await megabytes('switchboard_nodejs_external_memory_bytes'),
    childProcesses,
    warnings: [],
  };
  const shutdown = await stopProcess(server);
  if (shutdown.code !== 0)
    throw new Error(`server exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
  reading.warnings = warningsIn(server);
  console.log(`  measured pid ${server.pid}: ${measured}`);
  console.log(`  RSS ${formatMb(afterIdle.rssMb)} after idle; ${childProcesses}`);
  return reading;
}

/** The server's child processes with their RSS (e.g. the esbuild service behind tsx). */
function describeChildren(server: Spawned): string {
  const children = descendants(server.pid);
  if (children.length === 0) return 'none';
  return children
    .map((pid) => `${commandLine(pid).split(' ')[0]?.split('/').pop()} ${formatMb(readMemory(pid).rssMb)}`)
    .join(', ');
}
