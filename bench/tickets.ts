import { parseArgs } from 'node:util';
import pg from 'pg';
import { indexedMonths, monthsToKeep } from '../src/server/modules/tickets/search-months.js';
import { hitsWithin, readProfile, summarizeProfile } from './lib/cpu-profile.js';
import { loadTickets } from './lib/ticket-data.js';
import { type Figure, setUpDesk, type TicketBenchSettings, ticketApiAnswers } from './lib/ticket-desk.js';
import { checkReadResponses, measureReads } from './lib/ticket-reads.js';
import { reportLoad, reportSql } from './lib/ticket-report.js';
import { measureBulk, measureCreates } from './lib/ticket-writes.js';
import {
  createServicesEnv,
  loadNote,
  type MeasuredWindow,
  machineSummary,
  makeTempDir,
  parseSingleRunnerOption,
  printTable,
  resolveRunner,
  runBenchmark,
  type Spawned,
  servicesReachable,
  sleep,
  spawnWorkers,
  startSwitchboard,
  stopProcess,
  type Target,
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * The ticketing figures of the issue, on PostgreSQL + Redis with a loaded history:
 *
 *   1. create: tickets/s through POST /api/v1/tickets with 16 concurrent clients, next to raw
 *      single-row INSERTs into `tickets` (node-postgres, 16 connections, same column values,
 *      no API, no events) measured in the same run, rounds interleaved;
 *   2. with 1,000,000 tickets and 3,000,000 messages loaded: the 50 newest open tickets of a
 *      team (p99), text search (p95), a ticket with its 20 messages (p99), 4 clients each;
 *   3. bulk update of 500 tickets, 5 rounds.
 *
 *   npm run bench:tickets -- [--smoke] [--tickets 1000000] [--messages-per-ticket 3] [--days 730]
 *     [--clients 16] [--latency-clients 4] [--duration 10] [--latency-duration 20] [--warmup 3]
 *     [--rounds 3] [--bulk-rounds 5] [--seed 1] [--workers 1] [--runner built|tsx] [--log-level warn]
 *     [--cpu-prof] [--top 15]
 *
 * Options also read BENCH_TICKETS, BENCH_MESSAGES_PER_TICKET, BENCH_CLIENTS,
 * BENCH_LATENCY_CLIENTS, BENCH_DURATION, BENCH_LATENCY_DURATION, BENCH_WARMUP, BENCH_ROUNDS.
 * The server is a `RUN_MODE=api` process with `--workers` `RUN_MODE=worker` processes next to
 * it (the outbox relay and the jobs ticket events cause), as on a deployment on PostgreSQL +
 * Redis; `--workers 0` runs one `RUN_MODE=all` process instead.
 * `--smoke` shrinks the defaults (20,000 tickets, short runs) to try the whole path quickly.
 * Figures are printed, never asserted: a missed target is reported, not an error. The history
 * is loaded by bench/lib/ticket-data.ts; README.md says how.
 *
 * `--cpu-prof` runs the server under `node --cpu-prof` and, after it stopped, prints where its
 * main thread spent the samples of each measured run (the profiler costs throughput: use it to
 * find hot spots, not for the figures).
 */

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    tickets: { type: 'string' },
    'messages-per-ticket': { type: 'string' },
    days: { type: 'string' },
    clients: { type: 'string' },
    'latency-clients': { type: 'string' },
    duration: { type: 'string' },
    'latency-duration': { type: 'string' },
    warmup: { type: 'string' },
    rounds: { type: 'string' },
    'bulk-rounds': { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string', default: '1' },
    runner: { type: 'string', default: 'built' },
    'log-level': { type: 'string', default: 'warn' },
    'cpu-prof': { type: 'boolean', default: false },
    top: { type: 'string', default: '15' },
  },
});

/** Option, then environment variable, then the full or the --smoke default. */
function setting(name: keyof typeof values, env: string | undefined, full: number, smoke: number): number {
  const given = values[name];
  const text =
    (typeof given === 'string' ? given : undefined) ??
    (env ? process.env[env] : undefined) ??
    String(values.smoke ? smoke : full);
  const number = Number(text);
  if (!(number > 0)) throw new Error(`--${name} must be a positive number (got ${text})`);
  return number;
}

const settings: TicketBenchSettings = {
  tickets: setting('tickets', 'BENCH_TICKETS', 1_000_000, 20_000),
  messagesPerTicket: setting('messages-per-ticket', 'BENCH_MESSAGES_PER_TICKET', 3, 3),
  days: setting('days', undefined, 730, 730),
  clients: setting('clients', 'BENCH_CLIENTS', 16, 16),
  latencyClients: setting('latency-clients', 'BENCH_LATENCY_CLIENTS', 4, 4),
  duration: setting('duration', 'BENCH_DURATION', 10, 3),
  latencyDuration: setting('latency-duration', 'BENCH_LATENCY_DURATION', 20, 5),
  warmup: setting('warmup', 'BENCH_WARMUP', 3, 1),
  rounds: setting('rounds', 'BENCH_ROUNDS', 3, 1),
  bulkRounds: setting('bulk-rounds', undefined, 5, 5),
  seed: setting('seed', undefined, 1, 1),
};
for (const name of ['tickets', 'days', 'clients', 'latencyClients', 'rounds', 'bulkRounds', 'seed'] as const)
  if (!Number.isInteger(settings[name]))
    throw new Error(`${name} must be a whole number (got ${settings[name]})`);
const workerCount = Number(values.workers);
if (!Number.isInteger(workerCount) || workerCount < 0)
  throw new Error(`--workers must be a whole number (got ${values.workers})`);
const runnerName = parseSingleRunnerOption(values.runner);
const logLevel = values['log-level'];

await runBenchmark('tickets', async (cleanup) => {
  const started = new Date();
  console.log(
    `tickets: ${settings.tickets.toLocaleString('en')} tickets, ${settings.messagesPerTicket} messages per ticket ` +
      `over ${settings.days} days${values.smoke ? ' (--smoke)' : ''}; create: ${settings.clients} clients, ` +
      `${settings.rounds} round(s) of ${settings.warmup} s warm-up + ${settings.duration} s (raw INSERT, then API); ` +
      `latency: ${settings.latencyClients} clients, ${settings.warmup} s warm-up + ${settings.latencyDuration} s ` +
      `per endpoint; bulk: ${settings.bulkRounds} rounds`,
  );
  console.log(`date: ${started.toISOString()}; machine: ${machineSummary()}; ${loadNote()}`);
  const services = await servicesReachable();
  if (!services.ok) throw new Error(`the ticket benchmark needs PostgreSQL and Redis: ${services.detail}`);

  const runner = await resolveRunner(runnerName, cleanup);
  const env = await createServicesEnv(cleanup);
  const profileDir = values['cpu-prof'] ? makeTempDir(cleanup, 'sb-tickets-profile') : undefined;
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const serverEnv = {
    ...env,
    SEED_DEMO: 'false',
    ALLOW_SIGNUP: 'true',
    LOG_LEVEL: logLevel,
    // Tokens are taken before a load that runs for minutes; the default 15 min is too short.
    ACCESS_TOKEN_TTL_SECONDS: '86400',
  };
  const server = await startSwitchboard(
    cleanup,
    { ...runner, nodeArgs: [...profiling, ...runner.nodeArgs] },
    { ...serverEnv, RUN_MODE: workerCount > 0 ? 'api' : 'all', MIGRATE_ON_START: 'true' },
  );
  await waitUntilReady(server, { timeoutMs: 120_000 });
  const workers = spawnWorkers(cleanup, runner, { ...serverEnv, MIGRATE_ON_START: 'false' }, workerCount);
  const databaseUrl = env.DATABASE_URL!;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  cleanup.defer('close the benchmark connection', () => db.end());
  const { rows } = await db.query<{ server_version: string }>('show server_version');
  const postgres = `PostgreSQL ${rows[0]!.server_version.split(' ')[0]}`;
  console.log(
    `server: ${runner.description}, ${postgres}, database ${db.database}; ` +
      (workers.length > 0
        ? `a RUN_MODE=api process (pid ${server.pid}) and ${workers.length} RUN_MODE=worker process(es) ` +
          `(pid ${workers.map((worker) => worker.pid).join(', ')})`
        : `one RUN_MODE=all process (pid ${server.pid})`),
  );

  // The worker creates search's month indexes at start (search-months.ts); the loader drops and
  // rebuilds every index of the table, so it must not race that.
  await waitForSearchMonths(db);
  const desk = await setUpDesk(server.baseUrl, db, settings.seed);
  console.log('\nLoading (straight into PostgreSQL, see bench/lib/ticket-data.ts):');
  const load = await loadTickets({
    databaseUrl,
    orgId: desk.orgId,
    teams: desk.teams,
    requesterIds: desk.requesterIds,
    tickets: settings.tickets,
    messagesPerTicket: settings.messagesPerTicket,
    days: settings.days,
    seed: settings.seed,
    log: (line) => console.log(line),
  });
  await reportLoad(db, load);
  await reportSql(db, desk, load);

  const windows: MeasuredWindow[] = [];
  const target: Target = { server, workers, databaseUrl, database: db.database!, windows };
  const figures: Figure[] = [];
  const apiReady = await ticketApiAnswers(server.baseUrl, desk);
  if (apiReady) {
    await checkReadResponses(server.baseUrl, desk, load);
    figures.push(...(await measureReads(target, desk, load, settings)));
    figures.push(await measureBulk(target, db, desk, settings));
  } else {
    console.log('\nGET /api/v1/tickets answers 404: no ticket API yet; only raw INSERTs are measured.');
  }
  figures.push(...(await measureCreates(target, db, desk, settings, apiReady)));
  await stopChecked(server);
  for (const worker of workers) await stopChecked(worker);
  if (profileDir) {
    const profile = readProfile(profileDir);
    for (const window of windows) {
      console.log(`\n=== CPU profile: ${window.label} ===`);
      summarizeProfile(profile, hitsWithin(profile, window.from, window.to), Number(values.top));
    }
  }

  console.log(`\nSummary (${started.toISOString().slice(0, 10)}; ${machineSummary()}; ${postgres}):`);
  printTable(
    ['figure', 'target', 'measured', 'verdict'],
    figures.map((line) => [line.figure, line.target, line.measured, line.verdict]),
  );
  console.log(`\nafter: ${loadNote()}`);
});

async function waitForSearchMonths(db: pg.Client): Promise<void> {
  const expected = monthsToKeep(new Date()).length;
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const months = await indexedMonths(async (statement) => (await db.query(statement)).rows);
    if (months.length >= expected) return;
    await sleep(100);
  }
  throw new Error(`the server did not create the ${expected} month indexes of search within 30 s`);
}

async function stopChecked(server: Spawned): Promise<void> {
  const shutdown = await stopProcess(server);
  for (const warning of warningsIn(server)) console.log(`  log (pid ${server.pid}): ${warning}`);
  if (shutdown.code !== 0)
    throw new Error(`pid ${server.pid} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
}
