import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { loadConfig } from '../src/server/config.js';
import { createDomain } from '../src/server/domain.js';
import { defineJobs } from '../src/server/jobs.js';
import { dueTimers } from '../src/server/modules/sla/timers.repository.js';
import type { Executor } from '../src/server/platform/db/database.js';
import { createLogger } from '../src/server/platform/logger.js';
import { createPlatform } from '../src/server/platform/platform.js';
import { BACKGROUND_TARGETS, loadBackground, makeOverdue, POLICY_TARGETS } from './lib/sla-background.js';
import {
  blockingTimeoutOvershoot,
  type FinishedJob,
  type QueueSample,
  SlaQueueSampler,
} from './lib/sla-jobs.js';
import { insertRequesters } from './lib/ticket-data.js';
import {
  benchPassword,
  callApi,
  callApiJson,
  cpuSeconds,
  cpuSecondsMatching,
  createServicesEnv,
  formatLatency,
  loadNote,
  login,
  machineSummary,
  makeTempDir,
  mapConcurrently,
  type NodeServer,
  parseSingleRunnerOption,
  percentile,
  printTable,
  REDIS_URL,
  resolveRunner,
  runBenchmark,
  runToCompletion,
  servicesReachable,
  sleep,
  spawnTracked,
  spread,
  startSwitchboard,
  stopProcess,
  verdict,
  waitForOutbox,
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * The SLA figures of the issue, on PostgreSQL + Redis:
 *
 *   1. a background of 100,000 open tickets, each with a running resolution timer due 1–30
 *      days ahead (bulk-loaded in SQL, consistent with the real policy; see
 *      bench/lib/sla-background.ts);
 *   2. breach detection lag: tickets created through POST /api/v1/tickets at a paced 50/s for
 *      60 s under a policy with a 1-minute first-response target, so their at-risk steps
 *      (45 s) and breaches (60 s) come due at 50/s each and are fired by the real delayed
 *      jobs of one `RUN_MODE=all` server process (API + worker). Lag = fired_at − due_at of
 *      `sla_timer_events`, per step, with who fired it (job or sweep), duplicates, and where
 *      the lag went (BullMQ's wait, the handler) from the queue's own job timestamps;
 *   3. with the server stopped, the sweep in this process (createPlatform + createDomain, no
 *      workers): a pass over all live timers with nothing due, a sweep that fires 1,000
 *      overdue timers, and EXPLAIN (ANALYZE, BUFFERS) of its due-timer query.
 *
 *   npx tsx bench/sla.ts [--smoke] [--background 100000] [--rate 50] [--seconds 60]
 *     [--clients 4] [--overdue 1000] [--repetitions 15] [--timeout 180] [--seed 1]
 *     [--job-concurrency N] [--runner tsx|built] [--log-level warn]
 *
 * `--smoke`: 10,000 background timers, 10/s for 10 s, 200 overdue (about three minutes,
 * most of it waiting for the one-minute targets). Figures are printed, never asserted.
 */

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    background: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    clients: { type: 'string', default: '4' },
    overdue: { type: 'string' },
    repetitions: { type: 'string', default: '15' },
    timeout: { type: 'string', default: '180' },
    seed: { type: 'string', default: '1' },
    'job-concurrency': { type: 'string' },
    runner: { type: 'string', default: 'tsx' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

function option(name: keyof typeof values, full: number, smoke = full): number {
  const given = values[name];
  const text = typeof given === 'string' ? given : String(values.smoke ? smoke : full);
  const number = Number(text);
  if (!(number > 0) || !Number.isInteger(number))
    throw new Error(`--${name} must be a positive whole number (got ${text})`);
  return number;
}

const settings = {
  background: option('background', 100_000, 10_000),
  rate: option('rate', 50, 10),
  seconds: option('seconds', 60, 10),
  clients: option('clients', 4),
  overdue: option('overdue', 1_000, 200),
  repetitions: option('repetitions', 15),
  timeout: option('timeout', 180),
  seed: option('seed', 1),
  jobConcurrency: values['job-concurrency'] === undefined ? undefined : option('job-concurrency', 5),
};
const TARGET = { breachP99Ms: 1_000, sweepMs: 2_000 };
/** The policy's first-response target for the measured tickets, and its at-risk share. */
const FIRST_RESPONSE_MS = 60_000;
const AT_RISK_PERCENT = 75;
const AGENTS = Math.max(4, settings.clients);
const REQUESTERS = 200;
const SWEEP_BATCH = 500;

interface Desk {
  orgId: string;
  teamId: string;
  agents: Array<{ id: string; token: string }>;
  requesterIds: string[];
  policyId: string;
  atRiskShare: number;
}

interface Figure {
  figure: string;
  target: string;
  measured: string;
  verdict: string;
}

await runBenchmark('sla', async (cleanup) => {
  const started = new Date();
  const total = settings.rate * settings.seconds;
  console.log(
    `sla: ${settings.background.toLocaleString('en')} background timers; ${total.toLocaleString('en')} tickets ` +
      `created at ${settings.rate}/s for ${settings.seconds} s by ${settings.clients} clients (1-minute first ` +
      `response, at risk at ${AT_RISK_PERCENT} %); sweep with ${settings.overdue.toLocaleString('en')} overdue, ` +
      `${settings.repetitions} repetitions${values.smoke ? ' (--smoke)' : ''}`,
  );
  console.log(`date: ${started.toISOString()}; machine: ${machineSummary()}; ${loadNote()}`);
  const services = await servicesReachable();
  if (!services.ok) throw new Error(`the SLA benchmark needs PostgreSQL and Redis: ${services.detail}`);

  const runner = await resolveRunner(parseSingleRunnerOption(values.runner), cleanup);
  const env: Record<string, string> = {
    ...(await createServicesEnv(cleanup)),
    LOG_LEVEL: values['log-level'],
  };
  const dataDir = makeTempDir(cleanup, 'sb-sla-bench');
  const migrateMs = await runToCompletion(
    spawnTracked(cleanup, process.execPath, runner.nodeArgs, {
      ...env,
      RUN_MODE: 'migrate',
      DATA_DIR: dataDir,
    }),
  );
  const serverEnv: Record<string, string> = {
    ...env,
    RUN_MODE: 'all',
    MIGRATE_ON_START: 'false',
    SEED_DEMO: 'false',
    ALLOW_SIGNUP: 'true',
    DATA_DIR: dataDir,
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    ...(settings.jobConcurrency ? { JOB_CONCURRENCY: String(settings.jobConcurrency) } : {}),
  };
  const server = await startSwitchboard(cleanup, runner, serverEnv);
  await waitUntilReady(server, { timeoutMs: 120_000 });
  const probe = await blockingTimeoutOvershoot(REDIS_URL, env.REDIS_PREFIX!);
  console.log(
    `Redis ${probe.version}, hz ${probe.hz ?? 'unknown'}: a BZPOPMIN timing out (how BullMQ workers wait for the next ` +
      `delayed job) returned ${formatLatency(percentile(probe.overshoots, 50))} late at the median, ` +
      `${formatLatency(probe.overshoots.at(-1)!)} at most (${probe.overshoots.length} tries, idle Redis)`,
  );
  const databaseUrl = env.DATABASE_URL!;
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  cleanup.defer('close the benchmark connection', () => db.end());
  const { rows } = await db.query<{ server_version: string }>('show server_version');
  const postgres = `PostgreSQL ${rows[0]!.server_version.split(' ')[0]}`;
  console.log(
    `server: one process, RUN_MODE=all (API + workers), ${runner.description}, JOB_CONCURRENCY=` +
      `${settings.jobConcurrency ?? '5 (default)'}; ${postgres}, database ${db.database}; migrated by ` +
      `RUN_MODE=migrate in ${(migrateMs / 1000).toFixed(1)} s`,
  );

  const desk = await setUpDesk(server.baseUrl, db);
  // The policy and escalation changes start recompute jobs; let them finish on an empty table.
  await waitForOutbox(db);
  await waitForQueueIdle(env.REDIS_PREFIX!);

  // 1. Background.
  console.log('\n1. Background (straight into PostgreSQL, see bench/lib/sla-background.ts):');
  const background = await loadBackground(db, {
    orgId: desk.orgId,
    policyId: desk.policyId,
    atRiskShare: desk.atRiskShare,
    teamId: desk.teamId,
    agentIds: desk.agents.map((agent) => agent.id),
    requesterIds: desk.requesterIds,
    count: settings.background,
    seed: settings.seed,
    now: Date.now(),
  });
  console.log(
    `  ${background.tickets.toLocaleString('en')} open tickets with a running resolution timer each ` +
      `(${BACKGROUND_TARGETS.map((t) => `${t.priority} ${background.byPriority[t.priority] ?? 0}: target ${t.minutes / 1_440} d, due ${t.fromDays}–${t.toDays} d ahead`).join('; ')}); ` +
      `insert ${(background.insertMs / 1000).toFixed(1)} s, VACUUM (ANALYZE) ${(background.vacuumMs / 1000).toFixed(1)} s; ` +
      `earliest next step ${background.earliestNextFire.toISOString()}`,
  );
  const liveBefore = await liveTimers(db);
  console.log(
    `  live timers: ${liveBefore.live.toLocaleString('en')} (${liveBefore.scheduled.toLocaleString('en')} with a next step); ` +
      'they have no delayed jobs in Redis (their steps are days away)',
  );

  // 2. Detection lag.
  const detection = await measureDetection(server, db, desk, env.REDIS_PREFIX!);
  const shutdown = await stopProcess(server);
  for (const warning of warningsIn(server)) console.log(`  log (pid ${server.pid}): ${warning}`);
  if (shutdown.code !== 0)
    throw new Error(`server pid ${server.pid} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
  console.log(`  server stopped (SIGTERM, exit 0 after ${Math.round(shutdown.ms)} ms)`);

  // 3. Sweep.
  const sweep = await measureSweep(db, desk, { ...env, DATA_DIR: dataDir });

  console.log(`\nSummary (${started.toISOString().slice(0, 10)}; ${machineSummary()}; ${postgres}):`);
  printTable(
    ['figure', 'target', 'measured', 'verdict'],
    [...detection, ...sweep].map((line) => [line.figure, line.target, line.measured, line.verdict]),
  );
  console.log(`\nafter: ${loadNote()}`);
});

// --- set-up ----------------------------------------------------------------------------------

async function setUpDesk(baseUrl: string, db: pg.Client): Promise<Desk> {
  const started = performance.now();
  const password = benchPassword();
  const signup = await callApiJson<{ organization: { id: string }; accessToken: string }>(
    baseUrl,
    'POST',
    '/api/v1/orgs',
    { body: { name: 'SLA Bench', adminEmail: 'admin@sla.example', adminPassword: password }, expect: 201 },
  );
  const token = signup.accessToken;
  const team = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/teams', {
    token,
    body: { name: 'Service Desk' },
    expect: 201,
  });
  const indexes = Array.from({ length: AGENTS }, (_, index) => index);
  // Each creation hashes a password (argon2): a few at a time.
  const agents = await mapConcurrently(indexes, 4, async (index) => {
    const email = `agent${index + 1}@sla.example`;
    const user = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/users', {
      token,
      body: { email, name: `Agent ${index + 1}`, role: 'agent', password, teamIds: [team.id] },
      expect: 201,
    });
    return { id: user.id, token: await login(baseUrl, email, password) };
  });
  const policy = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/sla/policies', {
    token,
    body: {
      name: 'Bench SLA',
      conditions: {},
      businessHours: 'always',
      targets: POLICY_TARGETS,
      atRiskPercent: AT_RISK_PERCENT,
    },
    expect: 201,
  });
  await callApi(baseUrl, 'PUT', '/api/v1/sla/escalation-policy', {
    token,
    body: { levels: [{ trigger: 'breach', notify: ['assignee'] }], managerIds: [], seniorRole: null },
    expect: 200,
  });
  const { rows } = await db.query<{ at_risk_share: number }>(
    'select at_risk_share from sla_policies where id = $1',
    [policy.id],
  );
  const requesterIds = await insertRequesters(db, signup.organization.id, REQUESTERS, settings.seed + 1);
  console.log(
    `\nDesk: organisation, team, ${AGENTS} agents, policy (always; critical: first response 1 min; ` +
      `${BACKGROUND_TARGETS.map((t) => `${t.priority}: resolution ${t.minutes} min`).join(', ')}; at risk at ` +
      `${AT_RISK_PERCENT} %), escalation (breach → notify the assignee) through the API ` +
      `(${((performance.now() - started) / 1000).toFixed(1)} s); ${REQUESTERS} requesters in SQL`,
  );
  return {
    orgId: signup.organization.id,
    teamId: team.id,
    agents,
    requesterIds,
    policyId: policy.id,
    atRiskShare: rows[0]!.at_risk_share,
  };
}

/** Waits until the SLA queue has nothing waiting or running (the recompute jobs of the set-up). */
async function waitForQueueIdle(prefix: string, timeoutMs = 60_000): Promise<void> {
  const sampler = await SlaQueueSampler.start(REDIS_URL, prefix);
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const counts = await sampler.counts();
      if (counts.waiting === 0 && counts.active === 0) return;
      await sleep(200);
    }
    throw new Error(`the SLA queue was still busy after ${timeoutMs} ms`);
  } finally {
    await sampler.stop();
  }
}

async function liveTimers(db: pg.Client) {
  const { rows } = await db.query<{ live: number; scheduled: number }>(
    `select count(*) filter (where completed_at is null)::int as live,
            count(*) filter (where next_fire_at is not null)::int as scheduled
       from sla_timers`,
  );
  return rows[0]!;
}

// --- 2. detection lag --------------------------------------------------------------------------

interface Created {
  ticketIds: string[];
  latencies: number[];
  /** How late the latest request left after its slot (the clients falling behind). */
  maxSendDelayMs: number;
  seconds: number;
}

/** Creates `rate × seconds` tickets at a paced rate, each client sending its share of the slots. */
async function pacedCreates(baseUrl: string, desk: Desk): Promise<Created> {
  const intervalMs = 1000 / settings.rate;
  const total = settings.rate * settings.seconds;
  const ticketIds: string[] = [];
  const latencies: number[] = [];
  let maxSendDelayMs = 0;
  const start = performance.now();
  const client = async (index: number) => {
    const agent = desk.agents[index % desk.agents.length]!;
    for (let n = index; n < total; n += settings.clients) {
      const slot = start + n * intervalMs;
      const wait = slot - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = performance.now();
      maxSendDelayMs = Math.max(maxSendDelayMs, sent - slot);
      const ticket = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/tickets', {
        token: agent.token,
        body: {
          title: `Payment terminal offline at till ${n % 30}`,
          description: 'The card reader shows error E-42 since this morning.',
          priority: 'critical',
          teamId: desk.teamId,
          assigneeId: agent.id,
          requesterId: desk.requesterIds[n % desk.requesterIds.length],
          channel: 'web',
        },
        expect: 201,
      });
      latencies.push(performance.now() - sent);
      ticketIds.push(ticket.id);
    }
  };
  await Promise.all(Array.from({ length: settings.clients }, (_, index) => client(index)));
  latencies.sort((a, b) => a - b);
  return { ticketIds, latencies, maxSendDelayMs, seconds: (performance.now() - start) / 1000 };
}

interface EventRow {
  kind: 'at_risk' | 'breached' | 'escalated';
  level: number;
  fired_by: string;
  timer_id: string;
  ticket_id: string;
  due_ms: number;
  fired_ms: number;
}

interface CpuMark {
  at: number;
  wall: number;
  server: number;
  database: number;
  client: number;
}

function cpuMark(server: NodeServer, database: string): CpuMark {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    wall: Date.now(),
    server: cpuSeconds(server.pid),
    database: cpuSecondsMatching(` ${database} `),
    client: (usage.user + usage.system) / 1e6,
  };
}

/** Shares of one core between two marks, as "server x %, database y %, bench z %". */
function cpuBetween(from: CpuMark, to: CpuMark): string {
  const seconds = (to.at - from.at) / 1000;
  const share = (value: number) => `${Math.round((value / seconds) * 100)} %`;
  return (
    `server ${share(to.server - from.server)}, database ${share(to.database - from.database)}, ` +
    `bench ${share(to.client - from.client)} of one core over ${seconds.toFixed(0)} s`
  );
}

async function measureDetection(
  server: NodeServer,
  db: pg.Client,
  desk: Desk,
  prefix: string,
): Promise<Figure[]> {
  const total = settings.rate * settings.seconds;
  console.log(
    `\n2. Detection lag: ${total.toLocaleString('en')} critical tickets through POST /api/v1/tickets at ` +
      `${settings.rate}/s for ${settings.seconds} s (${settings.clients} keep-alive clients, one agent each, ` +
      'assigned to that agent); at-risk steps come due 45 s and breaches 60 s after each creation, fired by ' +
      'their delayed jobs (the sweep takes what is ≥ 2 s overdue every 5 s)',
  );
  const database = db.database!;
  const sampler = await SlaQueueSampler.start(REDIS_URL, prefix);
  const runStarted = new Date();
  const before = cpuMark(server, database);
  const created = await pacedCreates(server.baseUrl, desk);
  const afterCreates = cpuMark(server, database);
  console.log(
    `  created ${created.ticketIds.length} in ${created.seconds.toFixed(1)} s ` +
      `(${(created.ticketIds.length / created.seconds).toFixed(1)}/s; latency p50 ${formatLatency(percentile(created.latencies, 50))}, ` +
      `p99 ${formatLatency(percentile(created.latencies, 99))}, max ${formatLatency(created.latencies.at(-1)!)}; ` +
      `latest send ${formatLatency(created.maxSendDelayMs)} after its slot)`,
  );
  console.log(`  CPU while creating: ${cpuBetween(before, afterCreates)}`);

  // Wait for every breach: the last is due a minute after the last creation.
  const deadline = Date.now() + FIRST_RESPONSE_MS + settings.timeout * 1000;
  let counts = { at_risk: 0, breached: 0 };
  let lastReport = 0;
  while (Date.now() < deadline) {
    const { rows } = await db.query<{ at_risk: number; breached: number }>(
      `select count(*) filter (where kind = 'at_risk')::int as at_risk,
              count(*) filter (where kind = 'breached')::int as breached
         from sla_timer_events where org_id = $1 and fired_at >= $2`,
      [desk.orgId, runStarted],
    );
    counts = rows[0]!;
    if (counts.breached >= total) break;
    if (Date.now() - lastReport >= 15_000) {
      lastReport = Date.now();
      const queue = await sampler.counts();
      console.log(
        `  +${Math.round((Date.now() - runStarted.getTime()) / 1000)} s: ${counts.at_risk} at risk, ${counts.breached} breached; ` +
          `SLA queue ${queue.waiting} waiting, ${queue.active} active, ${queue.delayed} delayed`,
      );
    }
    await sleep(1_000);
  }
  const afterFiring = cpuMark(server, database);
  const allFired = counts.breached >= total;
  console.log(
    allFired
      ? `  all ${total} breaches recorded ${((Date.now() - runStarted.getTime()) / 1000).toFixed(0)} s after the first creation`
      : `  TIMEOUT: ${counts.breached} of ${total} breaches after ${settings.timeout} s past the last due time`,
  );
  console.log(`  CPU while firing (after the last creation): ${cpuBetween(afterCreates, afterFiring)}`);
  // A duplicate would need a second try to commit: give any a moment to appear.
  await sleep(3_000);
  const { jobs, samples } = await sampler.stop();

  const { rows: events } = await db.query<EventRow>(
    `select kind, level, fired_by, timer_id, ticket_id,
            (extract(epoch from due_at) * 1000)::float8 as due_ms,
            (extract(epoch from fired_at) * 1000)::float8 as fired_ms
       from sla_timer_events where ticket_id = any($1::uuid[])`,
    [created.ticketIds],
  );
  const checks = await exactlyOnce(db, created.ticketIds, events);
  const breaches = events.filter((event) => event.kind === 'breached');
  const atRisk = events.filter((event) => event.kind === 'at_risk');
  const lags = (list: EventRow[]) => list.map((event) => event.fired_ms - event.due_ms).sort((a, b) => a - b);
  const breachLags = lags(breaches);
  const firedWhileFiring = events.filter(
    (event) =>
      event.kind !== 'escalated' && event.fired_ms >= afterCreates.wall && event.fired_ms <= afterFiring.wall,
  ).length;
  console.log(
    `  server CPU per step fired after the last creation: ${(((afterFiring.server - afterCreates.server) * 1000) / Math.max(1, firedWhileFiring)).toFixed(1)} ms ` +
      `(${firedWhileFiring} at-risk and breach steps; includes the server's other work then: notification jobs, outbox relay, sweeps)`,
  );
  const atRiskLags = lags(atRisk);

  console.log(
    '\n  Lag = fired_at − due_at (fired_at is the firing transaction’s start, now() in PostgreSQL):',
  );
  printTable(
    ['step', 'events', 'p50', 'p95', 'p99', 'max', 'by job', 'by sweep'],
    [['breach', breaches, breachLags] as const, ['at risk', atRisk, atRiskLags] as const].map(
      ([label, list, sorted]) => [
        label,
        String(list.length),
        ...(sorted.length > 0
          ? [50, 95, 99]
              .map((p) => formatLatency(percentile(sorted, p)))
              .concat(formatLatency(sorted.at(-1)!))
          : ['—', '—', '—', '—']),
        String(list.filter((event) => event.fired_by === 'job').length),
        String(list.filter((event) => event.fired_by === 'sweep').length),
      ],
    ),
  );
  printLagOverTime(breaches, atRisk);
  printJobBreakdown(events, jobs, samples);
  console.log(
    `\n  Exactly once: ${checks.timersWithBreach} of ${total} timers breached; breach events per timer above one: ` +
      `${checks.duplicateEvents}; tickets with more than one sla_breached timeline entry: ${checks.duplicateTimeline}; ` +
      `escalations (breach level): ${checks.escalations}; timer states: ${checks.states}`,
  );

  const p99 = breachLags.length > 0 ? percentile(breachLags, 99) : Number.NaN;
  return [
    {
      figure: 'live timers in the background',
      target: '(set-up)',
      measured: `${(await liveTimers(db)).scheduled.toLocaleString('en')} with a next step (plus the run's own)`,
      verdict: '—',
    },
    {
      figure: `breach detection lag p99, ${settings.rate} timers/s coming due (${breaches.length} breaches)`,
      target: `≤ ${TARGET.breachP99Ms / 1000} s`,
      measured: allFired
        ? `${formatLatency(p99)} (p50 ${formatLatency(percentile(breachLags, 50))}, max ${formatLatency(breachLags.at(-1)!)})`
        : `${breaches.length} of ${total} fired before the timeout`,
      verdict: allFired ? verdict(p99 <= TARGET.breachP99Ms) : 'MISSED',
    },
    {
      figure: 'at-risk detection lag p99 (same run)',
      target: '(reported)',
      measured: atRiskLags.length > 0 ? formatLatency(percentile(atRiskLags, 99)) : '—',
      verdict: '—',
    },
    {
      figure: 'steps fired by job / by sweep',
      target: '(reported)',
      measured: `${events.filter((e) => e.kind !== 'escalated' && e.fired_by === 'job').length} / ${events.filter((e) => e.kind !== 'escalated' && e.fired_by === 'sweep').length}`,
      verdict: '—',
    },
    {
      figure: 'exactly one breach per timer',
      target: 'duplicates = 0',
      measured: `${checks.timersWithBreach} of ${total} timers, duplicates = ${checks.duplicateEvents + checks.duplicateTimeline}`,
      verdict: verdict(
        checks.timersWithBreach === total && checks.duplicateEvents === 0 && checks.duplicateTimeline === 0,
      ),
    },
  ];
}

async function exactlyOnce(db: pg.Client, ticketIds: string[], events: EventRow[]) {
  const perStep = new Map<string, number>();
  for (const event of events) {
    const key = `${event.timer_id}/${event.kind}/${event.level}`;
    perStep.set(key, (perStep.get(key) ?? 0) + 1);
  }
  const timeline = await db.query<{ duplicates: number }>(
    `select count(*)::int as duplicates from (
       select ticket_id from ticket_events where ticket_id = any($1::uuid[]) and type = 'sla_breached'
        group by ticket_id having count(*) > 1) d`,
    [ticketIds],
  );
  const states = await db.query<{ state: string; n: number }>(
    `select state, count(*)::int as n from sla_timers where ticket_id = any($1::uuid[]) group by state order by state`,
    [ticketIds],
  );
  return {
    timersWithBreach: new Set(events.filter((e) => e.kind === 'breached').map((e) => e.timer_id)).size,
    duplicateEvents: [...perStep.values()].filter((count) => count > 1).length,
    duplicateTimeline: timeline.rows[0]!.duplicates,
    escalations: events.filter((event) => event.kind === 'escalated').length,
    states: states.rows.map((row) => `${row.state} ${row.n}`).join(', '),
  };
}

/** Lag by when the steps came due (10 s windows): a backlog shows as lag growing over the run. */
function printLagOverTime(breaches: EventRow[], atRisk: EventRow[]): void {
  const all = [...breaches, ...atRisk];
  if (all.length === 0) return;
  const first = Math.min(...all.map((event) => event.due_ms));
  const windowMs = 10_000;
  const windows = new Map<number, { breach: number[]; atRisk: number[] }>();
  for (const [list, key] of [
    [breaches, 'breach'],
    [atRisk, 'atRisk'],
  ] as const)
    for (const event of list) {
      const window = Math.floor((event.due_ms - first) / windowMs);
      const entry = windows.get(window) ?? { breach: [], atRisk: [] };
      entry[key].push(event.fired_ms - event.due_ms);
      windows.set(window, entry);
    }
  const cell = (values: number[]) => {
    if (values.length === 0) return ['0', '—', '—'];
    values.sort((a, b) => a - b);
    return [String(values.length), formatLatency(percentile(values, 99)), formatLatency(values.at(-1)!)];
  };
  console.log('\n  By when the step came due (s after the first at-risk step):');
  printTable(
    ['due window', 'at risk', 'p99', 'max', 'breaches', 'p99', 'max'],
    [...windows]
      .sort((a, b) => a[0] - b[0])
      .map(([window, entry]) => [
        `${(window * windowMs) / 1000}–${((window + 1) * windowMs) / 1000} s`,
        ...cell(entry.atRisk),
        ...cell(entry.breach),
      ]),
  );
}

/**
 * Splits the lag of job-fired steps with BullMQ's own timestamps: from due to the handler
 * starting (the delayed job's promotion and the wait for one of the queue's worker slots),
 * from there to the firing transaction's start, and the handler's whole run.
 */
function printJobBreakdown(events: EventRow[], jobs: FinishedJob[], samples: QueueSample[]): void {
  const byStep = new Map(
    jobs
      .filter((job) => job.name === 'sla.fire' && job.deduplicationId)
      .map((job) => [job.deduplicationId!, job]),
  );
  const rows: string[][] = [];
  const distribution = (label: string, values: number[]) => {
    if (values.length === 0) return;
    values.sort((a, b) => a - b);
    rows.push([
      label,
      String(values.length),
      ...[50, 95, 99].map((p) => formatLatency(percentile(values, p))),
      formatLatency(values.at(-1)!),
    ]);
  };
  let matched = 0;
  for (const kind of ['at_risk', 'breached'] as const) {
    const toStart: number[] = [];
    const toFire: number[] = [];
    const run: number[] = [];
    const toFinish: number[] = [];
    for (const event of events) {
      if (event.kind !== kind || event.fired_by !== 'job') continue;
      const job = byStep.get(`sla-fire-${event.timer_id}-${Math.round(event.due_ms)}`);
      if (!job) continue;
      matched += 1;
      toStart.push(job.processedOn - event.due_ms);
      toFire.push(event.fired_ms - job.processedOn);
      run.push(job.finishedOn - job.processedOn);
      toFinish.push(job.finishedOn - event.due_ms);
    }
    const step = kind === 'at_risk' ? 'at risk' : 'breach';
    distribution(`${step}: due → handler started (processedOn)`, toStart);
    distribution(`${step}: handler started → transaction start (fired_at)`, toFire);
    distribution(`${step}: handler run (finishedOn − processedOn)`, run);
    distribution(`${step}: due → handler finished, committed (finishedOn)`, toFinish);
  }
  const fireJobs = jobs.filter((job) => job.name === 'sla.fire');
  const sweeps = jobs.filter((job) => job.name === 'sla.sweep');
  distribution(
    'sla.sweep job run',
    sweeps.map((job) => job.finishedOn - job.processedOn),
  );
  console.log(
    `\n  Where the lag went (BullMQ job timestamps, ${matched} job-fired steps matched to their job; ` +
      'negative: before the due time):',
  );
  printTable(['component', 'n', 'p50', 'p95', 'p99', 'max'], rows);
  const busiest = samples.reduce((max, sample) => (sample.waiting > max.waiting ? sample : max), samples[0]!);
  const waitingSamples = samples.filter((sample) => sample.waiting > 0).length;
  console.log(
    `  sla.fire jobs seen: ${fireJobs.length} (${fireJobs.filter((job) => job.attemptsMade > 1).length} retried, ` +
      `${fireJobs.filter((job) => job.failed).length} failed); SLA queue waiting > 0 in ${waitingSamples} of ` +
      `${samples.length} one-second samples (most: ${busiest?.waiting ?? 0}); most active at once: ` +
      `${Math.max(...samples.map((sample) => sample.active))}`,
  );
}

// --- 3. sweep ------------------------------------------------------------------------------

async function measureSweep(db: pg.Client, desk: Desk, env: Record<string, string>): Promise<Figure[]> {
  console.log(
    '\n3. Sweep, in this process (createPlatform + createDomain, jobs defined but no worker; the server is stopped):',
  );
  const logger = createLogger('warn', { role: 'bench' });
  const platform = await createPlatform(loadConfig({ ...env, RUN_MODE: 'worker' }), logger);
  try {
    const domain = createDomain(platform);
    defineJobs(platform, domain);
    await domain.start();
    const firing = domain.sla.firing;
    const live = await liveTimers(db);

    // a. Nothing due: the pass is the due-timer query.
    const first = await firing.sweep({ now: new Date() });
    if (first !== 0) console.log(`  (the first pass fired ${first} timers left over from the run)`);
    const times: number[] = [];
    for (let repetition = 0; repetition < settings.repetitions; repetition += 1) {
      const started = performance.now();
      const fired = await firing.sweep({ now: new Date() });
      times.push(performance.now() - started);
      if (fired !== 0) throw new Error(`a sweep with nothing due fired ${fired} timers`);
    }
    const pass = spread(times);
    console.log(
      `  a. pass over ${live.live.toLocaleString('en')} live timers (${live.scheduled.toLocaleString('en')} with a ` +
        `next step, none due): median ${formatLatency(pass.median)} (${formatLatency(pass.min)}–` +
        `${formatLatency(pass.max)}, ${settings.repetitions} passes after one warm-up)`,
    );

    // c. The plan of its query, nothing due.
    await explainDueTimers(db, new Date(), 'nothing due');

    // b. k overdue.
    const now = Date.now();
    const overdueIds = await makeOverdue(db, {
      orgId: desk.orgId,
      count: settings.overdue,
      seed: settings.seed + 7,
      now,
    });
    await explainDueTimers(
      db,
      new Date(),
      `${settings.overdue.toLocaleString('en')} due, first batch of ${SWEEP_BATCH}`,
    );
    const databaseName = ` ${db.database} `;
    const cpuBefore = process.cpuUsage();
    const databaseBefore = cpuSecondsMatching(databaseName);
    const started = performance.now();
    const fired = await firing.sweep({ now: new Date() });
    const ms = performance.now() - started;
    const databaseSeconds = cpuSecondsMatching(databaseName) - databaseBefore;
    const cpu = process.cpuUsage(cpuBefore);
    const outcome = await db.query<{ kind: string; fired_by: string; n: number }>(
      `select kind, fired_by, count(*)::int as n from sla_timer_events
        where timer_id = any($1::uuid[]) group by kind, fired_by order by kind, fired_by`,
      [overdueIds],
    );
    const left = await db.query<{ n: number }>(
      'select count(*)::int as n from sla_timers where id = any($1::uuid[]) and next_fire_at is not null',
      [overdueIds],
    );
    const perTimer = ms / settings.overdue;
    console.log(
      `  b. sweep with ${settings.overdue.toLocaleString('en')} timers overdue (at-risk step and breach both due, ` +
        `the breach escalating: 3 events and 3 timeline entries each) among ${live.scheduled.toLocaleString('en')}: ` +
        `fired ${fired} in ${(ms / 1000).toFixed(2)} s = ${perTimer.toFixed(2)} ms per timer (the sweep fires 4 at a time) ` +
        `(this process ${((cpu.user + cpu.system) / 1e3 / settings.overdue).toFixed(2)} ms CPU per timer, database backends ` +
        `${((databaseSeconds * 1000) / settings.overdue).toFixed(2)} ms); events: ` +
        `${outcome.rows.map((row) => `${row.kind} by ${row.fired_by} ${row.n}`).join(', ')}; ` +
        `still with a next step: ${left.rows[0]!.n}`,
    );
    console.log(
      `     (extrapolated, not measured: firing all ${live.scheduled.toLocaleString('en')} timers in one sweep ` +
        `at this rate would take ${((perTimer * live.scheduled) / 1000).toFixed(0)} s)`,
    );
    return [
      {
        figure: `sweep pass over ${live.scheduled.toLocaleString('en')} live timers (none due: its query), median of ${settings.repetitions}`,
        target: `≤ ${TARGET.sweepMs / 1000} s`,
        measured: formatLatency(pass.median),
        verdict: verdict(pass.median <= TARGET.sweepMs),
      },
      {
        figure: `sweep firing ${settings.overdue.toLocaleString('en')} overdue timers among them`,
        target: '(reported)',
        measured: `${(ms / 1000).toFixed(2)} s, ${perTimer.toFixed(2)} ms per timer`,
        verdict: '—',
      },
    ];
  } finally {
    await platform.close();
  }
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the sweep's due-timer query exactly as the repository
 * builds it (captured by running timers.repository's dueTimers with a logging drizzle).
 */
async function explainDueTimers(db: pg.Client, before: Date, label: string): Promise<void> {
  let captured: { query: string; params: unknown[] } | undefined;
  const logged = drizzle({
    client: db,
    logger: {
      logQuery: (query, params) => {
        captured = { query, params };
      },
    },
  }) as unknown as Executor;
  const due = await dueTimers(logged, before, SWEEP_BATCH);
  if (!captured) throw new Error('dueTimers ran no query');
  const { rows } = await db.query<{ 'QUERY PLAN': string }>(
    `explain (analyze, buffers) ${captured.query}`,
    captured.params,
  );
  console.log(`  c. EXPLAIN (ANALYZE, BUFFERS) of the due-timer query, ${label} (${due.length} rows):`);
  console.log(`     ${captured.query}`);
  for (const row of rows) console.log(`       ${row['QUERY PLAN']}`);
}
