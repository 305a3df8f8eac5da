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
  parseSingleRunnerOption,
  printTable,
  type Runner,
  resolveRunner,
  runBenchmark,
  servicesReachable,
  spread,
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
 *   npx tsx bench/http-throughput.ts [--duration 10] [--warmup 3] [--connections 100] [--rounds 3]
 *     [--runner built|tsx] [--services | --no-services] [--log-level warn]
 *
 * Duration, warm-up, connections and rounds also read BENCH_DURATION, BENCH_WARMUP,
 * BENCH_CONNECTIONS and BENCH_ROUNDS. Rounds run every endpoint once each, interleaved, so
 * that load from other processes on the machine hits all of them alike; ratios are taken
 * within a round and the median is reported.
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
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const duration = positiveNumber('duration', values.duration);
const warmup = positiveNumber('warmup', values.warmup);
const connections = positiveNumber('connections', values.connections);
const rounds = positiveNumber('rounds', values.rounds);
if (!Number.isInteger(rounds)) throw new Error(`--rounds must be a whole number (got ${values.rounds})`);
const logLevel = values['log-level'];
const runnerName = parseSingleRunnerOption(values.runner);

interface Endpoint {
  target: string;
  label: string;
  urlPath: string;
  headers: Record<string, string>;
  server: NodeServer;
}

interface Measurement {
  round: number;
  target: string;
  endpoint: string;
  result: Result;
  /** CPU of the server process (all threads) during the measured run, 100% = one core. */
  serverCpu: number;
  /** CPU of this process (autocannon) during the measured run. */
  clientCpu: number;
}

const BARE = 'bare Fastify';
const HEALTHZ = 'GET /healthz';
const ME = 'GET /api/v1/me';

await runBenchmark('http-throughput', async (cleanup) => {
  console.log(
    `http-throughput: autocannon, ${connections} connections; per endpoint ${warmup} s warm-up (discarded) + ` +
      `${duration} s measured; ${rounds} round(s), endpoints interleaved`,
  );
  console.log(`machine: ${machineSummary()}; ${loadNote()}`);
  console.log(
    'autocannon runs inside this process and every server in its own child process. All servers are\n' +
      'started first and stay up; only the one under load is busy (Switchboard idles with an outbox poll\n' +
      'once a second). With only 2 cores the load generator and the server compete for CPU, so absolute\n' +
      'req/s are lower than with a separate client machine: compare the ratios, taken per round.',
  );
  console.log(
    `Switchboard: LOG_LEVEL=${logLevel}${logLevel === 'warn' ? ' (per-request info lines are not written)' : ''}, ` +
      '/me with one access token (its verification and the profile are cached after the first request)\n',
  );
  const includeServices = await decideServices();
  const runner = await resolveRunner(runnerName, cleanup);
  console.log(
    `Switchboard runner: ${runner.description}; bare Fastify: node --import tsx bench/hello-fastify.ts`,
  );

  const endpoints = [
    ...(await startBare(cleanup)),
    ...(await startSwitchboardTarget(cleanup, runner, 'Switchboard embedded', {
      DATA_DIR: makeTempDir(cleanup, 'sb-http'),
    })),
  ];
  if (includeServices) {
    const env = { ...(await createServicesEnv(cleanup)), MIGRATE_ON_START: 'true', SEED_DEMO: 'true' };
    endpoints.push(...(await startSwitchboardTarget(cleanup, runner, 'Switchboard PostgreSQL + Redis', env)));
  }

  const measurements: Measurement[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    console.log(`round ${round}/${rounds}:`);
    for (const endpoint of endpoints) measurements.push(await measure(endpoint, round));
  }
  for (const server of new Set(endpoints.map((endpoint) => endpoint.server))) await stopChecked(server);

  report(measurements);
  console.log(`\nafter: ${loadNote()}`);
});

async function decideServices(): Promise<boolean> {
  if (values['no-services']) return false;
  const services = await servicesReachable();
  if (services.ok) return true;
  if (values.services) throw new Error(`--services needs PostgreSQL and Redis: ${services.detail}`);
  console.log(`PostgreSQL + Redis skipped: ${services.detail}`);
  return false;
}

async function startBare(cleanup: Cleanup): Promise<Endpoint[]> {
  const server = await startNodeServer(cleanup, ['--import', 'tsx', 'bench/hello-fastify.ts'], {});
  await waitUntilReady(server, { urlPath: '/' });
  return [{ target: BARE, label: 'GET /', urlPath: '/', headers: {}, server }];
}

/** Starts Switchboard, signs in, and checks /me answers 200 before any load. */
async function startSwitchboardTarget(
  cleanup: Cleanup,
  runner: Runner,
  target: string,
  env: Record<string, string>,
): Promise<Endpoint[]> {
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
  return [
    { target, label: HEALTHZ, urlPath: '/healthz', headers: {}, server },
    { target, label: ME, urlPath: '/api/v1/me', headers, server },
  ];
}

/** Warm-up, then the measured run; throws at once on any non-2xx, error or timeout. */
async function measure(endpoint: Endpoint, round: number): Promise<Measurement> {
  const { server, target, label } = endpoint;
  const options = { url: `${server.baseUrl}${endpoint.urlPath}`, connections, headers: endpoint.headers };
  const warm = await autocannon({ ...options, duration: warmup });
  const serverBefore = cpuSeconds(server.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({ ...options, duration });
  const wallSeconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  console.log(
    `  ${target} ${label}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms, ${statusSummary(result)}`,
  );
  for (const [run, outcome] of [
    ['warm-up', warm],
    ['measured run', result],
  ] as const) {
    if (outcome.non2xx > 0 || outcome.errors > 0 || outcome.timeouts > 0)
      throw new Error(
        `${target} ${label}: ${run} is invalid (${statusSummary(outcome)}); see the log lines above`,
      );
  }
  return {
    round,
    target,
    endpoint: label,
    result,
    serverCpu: (cpuSeconds(server.pid) - serverBefore) / wallSeconds,
    clientCpu: (client.user + client.system) / 1e6 / wallSeconds,
  };
}

async function stopChecked(server: NodeServer): Promise<void> {
  const shutdown = await stopProcess(server);
  for (const warning of warningsIn(server)) console.log(`  log (pid ${server.pid}): ${warning}`);
  if (shutdown.code !== 0)
    throw new Error(`pid ${server.pid} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
}

function report(measurements: Measurement[]): void {
  console.log('\nEvery measured run:');
  printTable(
    [
      'round',
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
    measurements.map(({ round, target, endpoint, result, serverCpu, clientCpu }) => [
      String(round),
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

  const groups = new Map<string, Measurement[]>();
  for (const measurement of measurements) {
    const key = `${measurement.target}\u0000${measurement.endpoint}`;
    groups.set(key, [...(groups.get(key) ?? []), measurement]);
  }
  console.log(`\nMedian over ${rounds} round(s) (req/s: median, min–max):`);
  printTable(
    ['target', 'endpoint', 'req/s', 'p50', 'p99', 'non-2xx (all rounds)'],
    [...groups.values()].map((group) => {
      const first = group[0]!;
      const rate = spread(group.map((measurement) => measurement.result.requests.average));
      return [
        first.target,
        first.endpoint,
        `${Math.round(rate.median)} (${Math.round(rate.min)}–${Math.round(rate.max)})`,
        `${spread(group.map((measurement) => measurement.result.latency.p50)).median} ms`,
        `${spread(group.map((measurement) => measurement.result.latency.p99)).median} ms`,
        String(group.reduce((sum, measurement) => sum + measurement.result.non2xx, 0)),
      ];
    }),
  );

  const rateOf = (round: number, target: string, endpoint: string) =>
    measurements.find((m) => m.round === round && m.target === target && m.endpoint === endpoint)?.result
      .requests.average;
  const ratios = (target: string, endpoint: string) => {
    const values: number[] = [];
    for (let round = 1; round <= rounds; round += 1) {
      const rate = rateOf(round, target, endpoint);
      const bare = rateOf(round, BARE, 'GET /');
      if (rate !== undefined && bare) values.push(rate / bare);
    }
    return values;
  };
  console.log('\nRatio to bare Fastify, taken within each round (median; per round):');
  const targets = [...new Set(measurements.map((measurement) => measurement.target))].filter(
    (t) => t !== BARE,
  );
  printTable(
    ['target', '/healthz ÷ bare', '/me ÷ bare', `target: /me ≥ ${formatPercent(TARGET_ME_RATIO)}`],
    targets.map((target) => {
      const healthz = ratios(target, HEALTHZ);
      const me = ratios(target, ME);
      const meMedian = spread(me).median;
      return [
        target,
        `${formatPercent(spread(healthz).median)} (${healthz.map(formatPercent).join(', ')})`,
        `${formatPercent(meMedian)} (${me.map(formatPercent).join(', ')})`,
        verdict(meMedian >= TARGET_ME_RATIO),
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
