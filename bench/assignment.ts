import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { NodeServer } from './lib.js';

/**
 * What automatic assignment adds to creating a ticket, on PostgreSQL + Redis:
 *
 *   one organisation, one team of 50 agents with varied capacity (4, 8, 12, 16, 20 open
 *   tickets: 600 in all), tickets created through POST /api/v1/tickets into the team at a
 *   paced 1,000 per minute by a few clients for 60 s — with routing off, least_open and
 *   round_robin. Prints p50/p95/p99 create latency of each and the difference to off (the
 *   routing cost), the server's and the database's CPU per create, how many tickets were
 *   assigned and queued, and the most open tickets any agent holds against their capacity.
 *
 *   npx tsx bench/assignment.ts [--seconds 60] [--per-minute 1000] [--clients 4] [--agents 50]
 *     [--warmup 5] [--rounds 1] [--runner built|tsx] [--log-level warn]
 *
 * PostgreSQL and Redis come from BENCH_POSTGRES_URL / BENCH_REDIS_URL (or DATABASE_URL /
 * REDIS_URL); a throw-away database and Redis prefix are created and removed afterwards.
 * Before each run every open ticket is closed in SQL, so each mode starts with idle agents.
 * The target (p99 ≤ 50 ms added) is reported, never asserted.
 */

// bench/lib reads its service URLs when loaded: map the usual variables first.
for (const [bench, usual] of [
  ['BENCH_POSTGRES_URL', 'DATABASE_URL'],
  ['BENCH_REDIS_URL', 'REDIS_URL'],
] as const) {
  const url = process.env[usual];
  if (!process.env[bench] && url) process.env[bench] = url;
}
const lib = await import('./lib.js');

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    'per-minute': { type: 'string', default: '1000' },
    clients: { type: 'string', default: '4' },
    agents: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '1' },
    runner: { type: 'string', default: 'built' },
    'log-level': { type: 'string', default: 'warn' },
  },
});
const number = (name: keyof typeof values) => {
  const value = Number(values[name]);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number (got ${values[name]})`);
  return value;
};
const settings = {
  seconds: number('seconds'),
  perMinute: number('per-minute'),
  clients: number('clients'),
  agents: number('agents'),
  warmup: number('warmup'),
  rounds: number('rounds'),
};
const MODES = ['off', 'least_open', 'round_robin'] as const;
type Mode = (typeof MODES)[number];
const TARGET_ADDED_P99_MS = 50;
const capacityOf = (index: number) => 4 + (index % 5) * 4;

interface Run {
  mode: Mode;
  latencies: number[];
  serverMsPerCreate: number;
  databaseMsPerCreate: number;
  assigned: number;
  queued: number;
  overCapacity: number;
  fullest: { open: number; capacity: number };
}

await lib.runBenchmark('assignment', async (cleanup) => {
  console.log(
    `assignment: ${settings.agents} agents (capacity 4–20), ${settings.perMinute} creates/min paced over ` +
      `${settings.clients} clients, ${settings.warmup} s warm-up + ${settings.seconds} s per mode, ` +
      `${settings.rounds} round(s) of ${MODES.join(', ')}`,
  );
  console.log(`date: ${new Date().toISOString()}; machine: ${lib.machineSummary()}; ${lib.loadNote()}`);
  const services = await lib.servicesReachable();
  if (!services.ok)
    throw new Error(`the assignment benchmark needs PostgreSQL and Redis: ${services.detail}`);
  const runner = await lib.resolveRunner(lib.parseSingleRunnerOption(values.runner), cleanup);
  const env = await lib.createServicesEnv(cleanup);
  const server = await lib.startSwitchboard(cleanup, runner, {
    ...env,
    RUN_MODE: 'all',
    MIGRATE_ON_START: 'true',
    SEED_DEMO: 'false',
    ALLOW_SIGNUP: 'true',
    LOG_LEVEL: values['log-level'],
    ACCESS_TOKEN_TTL_SECONDS: '86400',
  });
  await lib.waitUntilReady(server, { timeoutMs: 120_000 });
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();
  cleanup.defer('close the benchmark connection', () => db.end());
  const { rows } = await db.query<{ server_version: string }>('show server_version');
  const postgres = `PostgreSQL ${rows[0]!.server_version.split(' ')[0]}`;
  console.log(`server: ${runner.description}, ${postgres}, database ${db.database}`);

  const autovacuum = await lib.autoanalyzeIsOn(db);
  if (!autovacuum)
    console.log('autovacuum is off: the benchmark analyzes the tickets table every 5 s during runs');
  const desk = { ...(await setUpTeam(server.baseUrl)), autoanalyze: autovacuum };
  const runs: Run[] = [];
  for (let round = 1; round <= settings.rounds; round += 1)
    for (const mode of MODES) {
      const run = await measure(server, db, desk, mode);
      runs.push(run);
      console.log(
        `  round ${round} ${mode}: ${run.latencies.length} creates, p99 ${lib.formatLatency(lib.percentile(run.latencies, 99))}, ` +
          `${run.assigned} assigned, ${run.queued} queued`,
      );
    }
  for (const warning of lib.warningsIn(server)) console.log(`  log (pid ${server.pid}): ${warning}`);
  report(runs, postgres);
  console.log(`\nafter: ${lib.loadNote()}`);
});

interface Desk {
  /** Whether PostgreSQL analyzes changed tables by itself. */
  autoanalyze: boolean;
  orgId: string;
  token: string;
  teamId: string;
  capacities: Map<string, number>;
}

async function setUpTeam(baseUrl: string): Promise<Omit<Desk, 'autoanalyze'>> {
  const started = performance.now();
  const password = lib.benchPassword();
  const signup = await lib.callApiJson<{ organization: { id: string }; accessToken: string }>(
    baseUrl,
    'POST',
    '/api/v1/orgs',
    {
      body: { name: 'Assignment Bench', adminEmail: 'admin@bench.example', adminPassword: password },
      expect: 201,
    },
  );
  const token = signup.accessToken;
  const team = await lib.callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/teams', {
    token,
    body: { name: 'Service Desk' },
    expect: 201,
  });
  const indexes = Array.from({ length: settings.agents }, (_, index) => index);
  // Each creation hashes a password (argon2): a few at a time.
  const agentIds = await lib.mapConcurrently(indexes, 4, async (index) => {
    const user = await lib.callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/users', {
      token,
      body: {
        email: `agent${index}@bench.example`,
        name: `Agent ${index}`,
        role: 'agent',
        password,
        teamIds: [team.id],
      },
      expect: 201,
    });
    await lib.callApi(baseUrl, 'PATCH', `/api/v1/agents/${user.id}`, {
      token,
      body: { capacity: capacityOf(index) },
      expect: 200,
    });
    return user.id;
  });
  console.log(
    `\nTeam: ${settings.agents} agents through the API (${((performance.now() - started) / 1000).toFixed(1)} s), ` +
      `capacity ${[...new Set(indexes.map(capacityOf))].join('/')} (${indexes.reduce((sum, index) => sum + capacityOf(index), 0)} in all)`,
  );
  return {
    orgId: signup.organization.id,
    token,
    teamId: team.id,
    capacities: new Map(agentIds.map((id, index) => [id, capacityOf(index)])),
  };
}

/** Creates at the paced rate for `seconds`; returns each create's latency (ms). */
async function pacedCreates(baseUrl: string, desk: Desk, seconds: number, label: string): Promise<number[]> {
  const intervalMs = 60_000 / settings.perMinute;
  const total = Math.floor((seconds * 1000) / intervalMs);
  const latencies: number[] = [];
  const start = performance.now();
  const client = async (first: number) => {
    for (let n = first; n < total; n += settings.clients) {
      const wait = start + n * intervalMs - performance.now();
      if (wait > 0) await lib.sleep(wait);
      const sent = performance.now();
      await lib.callApi(baseUrl, 'POST', '/api/v1/tickets', {
        token: desk.token,
        body: { title: `${label} ticket ${n}`, description: 'Printer queue stuck', teamId: desk.teamId },
        expect: 201,
      });
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: settings.clients }, (_, index) => client(index)));
  return latencies.sort((a, b) => a - b);
}

async function measure(server: NodeServer, db: pg.Client, desk: Desk, mode: Mode): Promise<Run> {
  await lib.callApi(server.baseUrl, 'PUT', `/api/v1/teams/${desk.teamId}/routing`, {
    token: desk.token,
    body: { mode },
    expect: 200,
  });
  await closeOpenTickets(db, desk);
  await pacedCreates(server.baseUrl, desk, settings.warmup, `warm-up ${mode}`);
  await closeOpenTickets(db, desk);
  await lib.waitForOutbox(db);
  const cpuBefore = { server: lib.cpuSeconds(server.pid), database: backendCpu(db.database!) };
  const analyzing = desk.autoanalyze ? undefined : lib.analyzeWhileRunning(db, 'analyze tickets');
  const latencies = await pacedCreates(server.baseUrl, desk, settings.seconds, mode).finally(() =>
    analyzing?.stop(),
  );
  await analyzing?.done;
  const serverCpu = lib.cpuSeconds(server.pid) - cpuBefore.server;
  let databaseCpu = 0;
  for (const [pid, seconds] of backendCpu(db.database!))
    databaseCpu += seconds - (cpuBefore.database.get(pid) ?? 0);
  await lib.waitForOutbox(db);
  const load = await db.query<{ assignee_id: string | null; open: number }>(
    `select assignee_id, count(*)::int as open from tickets
      where org_id = $1 and team_id = $2 and status not in ('resolved', 'closed') and deleted_at is null
      group by assignee_id`,
    [desk.orgId, desk.teamId],
  );
  let assigned = 0;
  let queued = 0;
  let overCapacity = 0;
  let fullest = { open: 0, capacity: 0 };
  for (const row of load.rows) {
    if (row.assignee_id === null) {
      queued = row.open;
      continue;
    }
    assigned += row.open;
    const capacity = desk.capacities.get(row.assignee_id) ?? 0;
    if (row.open > capacity) overCapacity += 1;
    if (fullest.capacity === 0 || row.open * fullest.capacity > fullest.open * capacity)
      fullest = { open: row.open, capacity };
  }
  return {
    mode,
    latencies,
    serverMsPerCreate: (serverCpu * 1000) / latencies.length,
    databaseMsPerCreate: (databaseCpu * 1000) / latencies.length,
    assigned,
    queued,
    overCapacity,
    fullest,
  };
}

/**
 * CPU seconds of each PostgreSQL backend of `database` (by process title). Compared per
 * process: the pool closes connections idle for 30 s, and a sum over the living backends
 * would lose what a closed one had used before the run.
 */
function backendCpu(database: string): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (!readProc(`/proc/${entry}/cmdline`)?.includes(` ${database} `)) continue;
    const stat = readProc(`/proc/${entry}/stat`);
    if (!stat) continue;
    // utime and stime (fields 14, 15; 11, 12 after the closing parenthesis), in ticks of 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    cpu.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / 100);
  }
  return cpu;
}

/** A /proc file, or undefined when the process ended between listing and reading. */
function readProc(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw error;
  }
}

/**
 * Closes the team's open tickets straight in SQL (no events, so no drains): agents start
 * idle. Then refreshes the planner's statistics, as autovacuum would after such a change.
 */
async function closeOpenTickets(db: pg.Client, desk: Desk): Promise<void> {
  await db.query(
    `update tickets set status = 'closed', closed_at = now(), resolved_at = coalesce(resolved_at, now())
      where org_id = $1 and team_id = $2 and status not in ('resolved', 'closed')`,
    [desk.orgId, desk.teamId],
  );
  await db.query('analyze tickets');
}

function report(runs: Run[], postgres: string): void {
  const byMode = new Map<Mode, Run[]>();
  for (const run of runs) byMode.set(run.mode, [...(byMode.get(run.mode) ?? []), run]);
  const merged = (mode: Mode) => {
    const of = byMode.get(mode)!;
    const latencies = of.flatMap((run) => run.latencies).sort((a, b) => a - b);
    const mean = (pick: (run: Run) => number) => of.reduce((sum, run) => sum + pick(run), 0) / of.length;
    return {
      latencies,
      p50: lib.percentile(latencies, 50),
      p95: lib.percentile(latencies, 95),
      p99: lib.percentile(latencies, 99),
      max: latencies.at(-1)!,
      server: mean((run) => run.serverMsPerCreate),
      database: mean((run) => run.databaseMsPerCreate),
      last: of.at(-1)!,
    };
  };
  const off = merged('off');
  const signed = (ms: number) => `${ms >= 0 ? '+' : '−'}${lib.formatLatency(Math.abs(ms))}`;
  console.log(`\nCreate latency per routing mode (${lib.machineSummary()}; ${postgres}):`);
  lib.printTable(
    [
      'mode',
      'creates',
      'p50',
      'p95',
      'p99',
      'max',
      'Δp50',
      'Δp95',
      'Δp99',
      'server CPU/create',
      'db CPU/create',
    ],
    MODES.map((mode) => {
      const m = merged(mode);
      return [
        mode,
        String(m.latencies.length),
        lib.formatLatency(m.p50),
        lib.formatLatency(m.p95),
        lib.formatLatency(m.p99),
        lib.formatLatency(m.max),
        mode === 'off' ? '—' : signed(m.p50 - off.p50),
        mode === 'off' ? '—' : signed(m.p95 - off.p95),
        mode === 'off' ? '—' : signed(m.p99 - off.p99),
        `${m.server.toFixed(2)} ms`,
        `${m.database.toFixed(2)} ms`,
      ];
    }),
  );
  console.log('\nAfter the last run of each mode (open tickets of the team):');
  lib.printTable(
    [
      'mode',
      'assigned',
      'queued',
      'agents over capacity',
      'fullest agent (open / capacity)',
      `added p99 ≤ ${TARGET_ADDED_P99_MS} ms`,
    ],
    MODES.map((mode) => {
      const m = merged(mode);
      return [
        mode,
        String(m.last.assigned),
        String(m.last.queued),
        String(m.last.overCapacity),
        m.last.fullest.capacity ? `${m.last.fullest.open} / ${m.last.fullest.capacity}` : '—',
        mode === 'off' ? '—' : lib.verdict(m.p99 - off.p99 <= TARGET_ADDED_P99_MS),
      ];
    }),
  );
}
