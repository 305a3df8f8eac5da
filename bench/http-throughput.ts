import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import autocannon, { type Result } from 'autocannon';
import {
  benchPassword,
  type Cleanup,
  cpuSeconds,
  createServicesEnv,
  formatPercent,
  loadNote,
  login,
  machineSummary,
  makeTempDir,
  type NodeServer,
  parseRunnerOption,
  printTable,
  type Runner,
  resolveRunners,
  runBenchmark,
  servicesReachable,
  startNodeServer,
  startSwitchboard,
  stopProcess,
  verdict,
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * HTTP throughput of Switchboard against a bare Fastify hello-world, measured with
 * autocannon in this process while each server runs alone in its own child process.
 *
 *   npx tsx bench/http-throughput.ts [--duration 10] [--warmup 3] [--connections 100]
 *     [--runner built|tsx] [--services | --no-services] [--log-level warn]
 *
 * Duration, warm-up and connections also read BENCH_DURATION, BENCH_WARMUP, BENCH_CONNECTIONS.
 * PostgreSQL + Redis is included when reachable, required with --services, skipped with
 * --no-services.
 */

const TARGET_ME_RATIO = 0.6;
const ADMIN_EMAIL = 'admin@acme.example';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: process.env.BENCH_DURATION ?? '10' },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP ?? '3' },
    connections: { type: 'string', default: process.env.BENCH_CONNECTIONS ?? '100' },
    runner: { type: 'string', default: 'built' },
    services: { type: 'boolean', default: false },
    'no-services': { type: 'boolean', default: false },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const duration = positiveNumber('duration', values.duration);
const warmup = positiveNumber('warmup', values.warmup);
const connections = positiveNumber('connections', values.connections);
const logLevel = values['log-level'];
const [runnerName, ...extraRunners] = parseRunnerOption(values.runner);
if (!runnerName || extraRunners.length > 0) throw new Error('--runner must be built or tsx here (not both)');

interface Measurement {
  target: string;
  endpoint: string;
  result: Result;
  /** CPU of the server process (all threads) during the measured run, 100% = one core. */
  serverCpu: number;
  /** CPU of this process (autocannon) during the measured run. */
  clientCpu: number;
}

await runBenchmark('http-throughput', async (cleanup) => {
  console.log(
    `http-throughput: autocannon, ${connections} connections, ${warmup} s warm-up (discarded) + ${duration} s measured per endpoint`,
  );
  console.log(`machine: ${machineSummary()}; ${loadNote()}`);
  console.log(
    'autocannon runs inside this process and each server in its own child process, one server at a time;\n' +
      'with only 2 cores the load generator and the server compete for CPU, so absolute req/s are lower\n' +
      'than with a separate client machine. Compare the ratios.',
  );
  console.log(
    `Switchboard: LOG_LEVEL=${logLevel}${logLevel === 'warn' ? ' (per-request info lines are not written)' : ''}, ` +
      '/me with one access token (its verification and the profile are cached after the first request)\n',
  );
  const includeServices = await decideServices();
  const [runner] = await resolveRunners([runnerName], cleanup);
  if (!runner) throw new Error('no runner resolved');
  console.log(
    `Switchboard runner: ${runner.description}; bare Fastify: node --import tsx bench/hello-fastify.ts`,
  );

  const measurements: Measurement[] = [];
  measurements.push(...(await measureBare(cleanup)));
  measurements.push(
    ...(await measureSwitchboard(cleanup, runner, 'Switchboard embedded', {
      DATA_DIR: makeTempDir(cleanup, 'sb-http'),
    })),
  );
  if (includeServices) {
    const env = { ...(await createServicesEnv(cleanup)), MIGRATE_ON_START: 'true', SEED_DEMO: 'true' };
    measurements.push(...(await measureSwitchboard(cleanup, runner, 'Switchboard PostgreSQL + Redis', env)));
  }

  report(measurements);
  console.log(`\nafter: ${loadNote()}`);
  const failures = measurements.filter(
    (measurement) =>
      measurement.result.non2xx > 0 || measurement.result.errors > 0 || measurement.result.timeouts > 0,
  );
  if (failures.length > 0) {
    throw new Error(
      `results are invalid: non-2xx, errors or timeouts in ${failures
        .map((failure) => `${failure.target} ${failure.endpoint} (${statusSummary(failure.result)})`)
        .join('; ')}`,
    );
  }
});

async function decideServices(): Promise<boolean> {
  if (values['no-services']) return false;
  const services = await servicesReachable();
  if (services.ok) return true;
  if (values.services) throw new Error(`--services needs PostgreSQL and Redis: ${services.detail}`);
  console.log(`PostgreSQL + Redis skipped: ${services.detail}`);
  return false;
}

async function measureBare(cleanup: Cleanup): Promise<Measurement[]> {
  const server = await startNodeServer(cleanup, ['--import', 'tsx', 'bench/hello-fastify.ts'], {});
  await waitUntilReady(server, { urlPath: '/' });
  const measurements = [await measure('bare Fastify', server, 'GET /', '/')];
  await stopChecked(server);
  return measurements;
}

async function measureSwitchboard(
  cleanup: Cleanup,
  runner: Runner,
  target: string,
  env: Record<string, string>,
): Promise<Measurement[]> {
  const password = benchPassword();
  const server = await startSwitchboard(
    cleanup,
    runner,
    { ...env, LOG_LEVEL: logLevel, SEED_ADMIN_PASSWORD: password, SEED_ADMIN_EMAIL: ADMIN_EMAIL },
    // At info and below every request writes a line; reading them would load this process.
    { discardStdout: !['warn', 'error', 'fatal', 'silent'].includes(logLevel) },
  );
  await waitUntilReady(server);
  const headers = { authorization: `Bearer ${await login(server.baseUrl, ADMIN_EMAIL, password)}` };
  const probe = await fetch(`${server.baseUrl}/api/v1/me`, { headers });
  if (probe.status !== 200) {
    throw new Error(
      `${target}: GET /api/v1/me answered ${probe.status} before the run: ${await probe.text()}`,
    );
  }
  const measurements = [
    await measure(target, server, 'GET /healthz', '/healthz'),
    await measure(target, server, 'GET /api/v1/me', '/api/v1/me', headers),
  ];
  await stopChecked(server);
  return measurements;
}

async function measure(
  target: string,
  server: NodeServer,
  endpoint: string,
  urlPath: string,
  headers: Record<string, string> = {},
): Promise<Measurement> {
  const options = { url: `${server.baseUrl}${urlPath}`, connections, headers };
  const warm = await autocannon({ ...options, duration: warmup });
  const serverBefore = cpuSeconds(server.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({ ...options, duration });
  const wallSeconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  const measurement: Measurement = {
    target,
    endpoint,
    result,
    serverCpu: (cpuSeconds(server.pid) - serverBefore) / wallSeconds,
    clientCpu: (client.user + client.system) / 1e6 / wallSeconds,
  };
  console.log(
    `  ${target} ${endpoint}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ${statusSummary(result)}` +
      (warm.non2xx > 0 ? ` (warm-up also had ${warm.non2xx} non-2xx)` : ''),
  );
  return measurement;
}

async function stopChecked(server: NodeServer): Promise<void> {
  const shutdown = await stopProcess(server);
  for (const warning of warningsIn(server)) console.log(`  log: ${warning}`);
  if (shutdown.code !== 0)
    throw new Error(`pid ${server.pid} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
}

function report(measurements: Measurement[]): void {
  console.log('');
  printTable(
    [
      'target',
      'endpoint',
      'req/s (avg)',
      'p50',
      'p99',
      '2xx',
      'non-2xx',
      'errors',
      'server CPU',
      'autocannon CPU',
    ],
    measurements.map(({ target, endpoint, result, serverCpu, clientCpu }) => [
      target,
      endpoint,
      String(Math.round(result.requests.average)),
      `${result.latency.p50} ms`,
      `${result.latency.p99} ms`,
      String(result['2xx']),
      String(result.non2xx),
      String(result.errors + result.timeouts),
      formatPercent(serverCpu),
      formatPercent(clientCpu),
    ]),
  );
  const bare = measurements.find((measurement) => measurement.target === 'bare Fastify');
  if (!bare) return;
  const bareRate = bare.result.requests.average;
  console.log(`\nRatios to bare Fastify (${Math.round(bareRate)} req/s):`);
  const targets = [...new Set(measurements.map((measurement) => measurement.target))].filter(
    (target) => target !== bare.target,
  );
  printTable(
    ['target', '/healthz ÷ bare', '/me ÷ bare', `target: /me ≥ ${formatPercent(TARGET_ME_RATIO)}`],
    targets.map((target) => {
      const rate = (endpoint: string) =>
        measurements.find((measurement) => measurement.target === target && measurement.endpoint === endpoint)
          ?.result.requests.average ?? Number.NaN;
      const meRatio = rate('GET /api/v1/me') / bareRate;
      return [
        target,
        formatPercent(rate('GET /healthz') / bareRate),
        formatPercent(meRatio),
        verdict(meRatio >= TARGET_ME_RATIO),
      ];
    }),
  );
}

function statusSummary(result: Result): string {
  const codes = Object.entries(result.statusCodeStats)
    .map(([code, { count }]) => `${code}×${count}`)
    .join(', ');
  return `status ${codes || 'none'}, ${result.errors} errors, ${result.timeouts} timeouts`;
}

function positiveNumber(name: string, value: string | undefined): number {
  const number = Number(value);
  if (!(number > 0)) throw new Error(`--${name} must be a positive number (got ${value})`);
  return number;
}
