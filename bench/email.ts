import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { type InboundPlan, planInbound } from './lib/email-mails.js';
import { SmtpSink } from './lib/email-sink.js';
import { ActivitySampler } from './lib/pg-activity.js';
import { insertRequesters } from './lib/ticket-data.js';
import {
  analyzeWhileRunning,
  autoanalyzeIsOn,
  benchPassword,
  type Cleanup,
  callApiJson,
  cpuSeconds,
  cpuSecondsMatching,
  createServicesEnv,
  formatLatency,
  formatPercent,
  freePort,
  loadNote,
  machineSummary,
  makeTempDir,
  mapConcurrently,
  type NodeServer,
  parseSingleRunnerOption,
  percentile,
  printTable,
  REDIS_URL,
  type Runner,
  resolveRunner,
  runBenchmark,
  runToCompletion,
  type Spawned,
  servicesReachable,
  sleep,
  spawnTracked,
  spawnWorkers,
  startSwitchboard,
  stopProcess,
  verdict,
  waitForOutbox,
  waitUntilReady,
} from './lib.js';

/**
 * Mail throughput on PostgreSQL + Redis:
 *
 *   1. inbound: a `RUN_MODE=api` server with its SMTP listener on and `--inbound-workers`
 *      `RUN_MODE=worker` processes next to it (default 1; 0 runs one `RUN_MODE=all` server
 *      instead); an organisation with one `smtp` mailbox (with a team). The benchmark
 *      sends N distinct mails over SMTP with nodemailer (one pooled transport, several
 *      connections, at most one mail in flight per connection): new mails from a set of
 *      senders (each one's first mail creates a requester), replies threading by In-Reply-To,
 *      small attachments on some, and some mails delivered twice (dedupe). Accepted mails/s
 *      (first send → last 250) and ingested mails/s (first send → every Message-ID in
 *      `email_messages`, polled), then an exactly-once check against the database;
 *   2. outbound: a `RUN_MODE=api` server creates N tickets through POST /api/v1/tickets with
 *      no worker running (their `ticket.created` events wait in the outbox); it is stopped
 *      and `--workers` `RUN_MODE=worker` processes (default 2, one per core of the machine the
 *      figures are for) with SMTP_URL pointing at an SMTP sink in this process relay them,
 *      plan the acknowledgements (`email.plan`) and send them (`email.send`).
 *      Sent mails/s from `email_deliveries.sent_at`, queued → sent latency, and every
 *      delivery received once by the sink.
 *
 *   npx tsx bench/email.ts [--smoke] [--mails 10000] [--senders 1000] [--duplicates 300]
 *     [--connections 8] [--outbound 5000] [--clients 8] [--job-concurrency N] [--workers 2]
 *     [--inbound-workers 1]
 *     [--timeout 300] [--seed 1] [--runner tsx|built] [--log-level warn]
 *
 * `--smoke`: 1,000 mails from 100 senders with 30 duplicates, 500 outbound mails.
 * Figures are printed, never asserted.
 */

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    mails: { type: 'string' },
    senders: { type: 'string' },
    duplicates: { type: 'string' },
    connections: { type: 'string', default: '8' },
    outbound: { type: 'string' },
    clients: { type: 'string', default: '8' },
    'job-concurrency': { type: 'string' },
    workers: { type: 'string', default: '2' },
    'inbound-workers': { type: 'string', default: '1' },
    timeout: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    runner: { type: 'string', default: 'tsx' },
    'log-level': { type: 'string', default: 'warn' },
  },
});

function option(name: keyof typeof values, full: number, smoke = full, min = 1): number {
  const given = values[name];
  const text = typeof given === 'string' ? given : String(values.smoke ? smoke : full);
  const number = Number(text);
  if (!(number >= min) || !Number.isInteger(number))
    throw new Error(`--${name} must be a whole number of at least ${min} (got ${text})`);
  return number;
}

const settings = {
  mails: option('mails', 10_000, 1_000),
  senders: option('senders', 1_000, 100),
  duplicates: option('duplicates', 300, 30),
  connections: option('connections', 8),
  outbound: option('outbound', 5_000, 500),
  clients: option('clients', 8),
  timeout: option('timeout', 300),
  seed: option('seed', 1),
  jobConcurrency: values['job-concurrency'] === undefined ? undefined : option('job-concurrency', 5),
  workers: option('workers', 2),
  inboundWorkers: option('inbound-workers', 1, 1, 0),
};
const TARGET = { inboundPerSecond: 200, outboundPerSecond: 300 };
const REPLY_SHARE = 0.3;
const ATTACHMENT_SHARE = 0.1;
/** The server's inbound rate limit: more than 20 mails in 10 minutes per sender and mailbox wait in quarantine. */
const SENDER_LIMIT = 20;
const OUTBOUND_REQUESTERS = 500;
const REPLY_SECRET = 'bench-reply-secret-0123456789abcdef0123';
/** Rows of pg_stat_database read before and after a phase. */
const DATABASE_STATS = [
  'xact_commit',
  'xact_rollback',
  'tup_inserted',
  'tup_updated',
  'tup_fetched',
] as const;

interface Figure {
  figure: string;
  target: string;
  measured: string;
  verdict: string;
}

interface CpuMark {
  at: number;
  server: number;
  database: number;
  client: number;
}

// --- shared ------------------------------------------------------------------------------------

function cpuMark(pids: readonly number[], database: string): CpuMark {
  const usage = process.cpuUsage();
  return {
    at: performance.now(),
    server: pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
    database: cpuSecondsMatching(` ${database} `),
    client: (usage.user + usage.system) / 1e6,
  };
}

/** "server 1.23 ms (62 %), database 0.80 ms (40 %), bench 0.20 ms (10 %)" per unit, with shares of one core. */
function cpuPer(from: CpuMark, to: CpuMark, units: number, unit: string): string {
  const seconds = (to.at - from.at) / 1000;
  const part = (label: string, value: number) =>
    value < 0
      ? `${label} n/a (backends exited in between)`
      : `${label} ${((value * 1000) / units).toFixed(2)} ms/${unit} (${Math.round((value / seconds) * 100)} % of one core)`;
  return [
    part('server', to.server - from.server),
    part('database', to.database - from.database),
    part('bench', to.client - from.client),
  ].join(', ');
}

async function databaseStats(db: pg.Client): Promise<Record<(typeof DATABASE_STATS)[number], number>> {
  const { rows } = await db.query<Record<(typeof DATABASE_STATS)[number], string>>(
    `select ${DATABASE_STATS.join(', ')} from pg_stat_database where datname = current_database()`,
  );
  return Object.fromEntries(DATABASE_STATS.map((name) => [name, Number(rows[0]![name])])) as Record<
    (typeof DATABASE_STATS)[number],
    number
  >;
}

function statsPer(
  before: Record<(typeof DATABASE_STATS)[number], number>,
  after: Record<(typeof DATABASE_STATS)[number], number>,
  units: number,
): string {
  return DATABASE_STATS.map((name) => `${name} ${((after[name] - before[name]) / units).toFixed(1)}`).join(
    ', ',
  );
}

/** Sequential and index scans per table (pg_stat_user_tables), to diff around a phase. */
async function tableScans(
  db: pg.Client,
): Promise<Map<string, { seq: number; seqRows: number; idx: number }>> {
  const { rows } = await db.query<{
    relname: string;
    seq_scan: string;
    seq_tup_read: string;
    idx_scan: string | null;
  }>('select relname, seq_scan, seq_tup_read, idx_scan from pg_stat_user_tables');
  return new Map(
    rows.map((row) => [
      row.relname,
      { seq: Number(row.seq_scan), seqRows: Number(row.seq_tup_read), idx: Number(row.idx_scan ?? 0) },
    ]),
  );
}

function printScans(
  before: Awaited<ReturnType<typeof tableScans>>,
  after: Awaited<ReturnType<typeof tableScans>>,
  units: number,
): void {
  const rows = [...after]
    .map(([table, now]) => {
      const then = before.get(table) ?? { seq: 0, seqRows: 0, idx: 0 };
      return { table, seq: now.seq - then.seq, seqRows: now.seqRows - then.seqRows, idx: now.idx - then.idx };
    })
    .filter((row) => row.seqRows > 0)
    .sort((a, b) => b.seqRows - a.seqRows)
    .slice(0, 6);
  if (rows.length === 0) return;
  console.log(
    `  sequential scans per mail (pg_stat_user_tables): ${rows
      .map(
        (row) =>
          `${row.table} ${(row.seq / units).toFixed(2)} scans reading ${Math.round(row.seqRows / units)} rows (index scans ${(row.idx / units).toFixed(1)})`,
      )
      .join('; ')}`,
  );
}

function printActivity(activity: Awaited<ReturnType<ActivitySampler['stop']>>): void {
  console.log(
    `  database backends busy ${activity.busyBackends.toFixed(1)} on average: ${activity.activities
      .slice(0, 5)
      .map((entry) => `${entry.text} ${formatPercent(entry.share)}`)
      .join(', ')}`,
  );
  for (const statement of activity.statements.slice(0, 5))
    console.log(`    running ${formatPercent(statement.share)}: ${statement.text}`);
}

/** Waiting / active jobs of the BullMQ queues that mail and ticket events use. */
class QueueCounts {
  private readonly connection: Redis;
  private readonly queues: Queue[];

  constructor(prefix: string, names: string[]) {
    this.connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 3, connectionName: 'bench-email-queues' });
    this.queues = names.map((name) => new Queue(name, { connection: this.connection, prefix }));
  }

  async read(): Promise<{ text: string; busy: number }> {
    const parts: string[] = [];
    let busy = 0;
    for (const queue of this.queues) {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active');
      const waiting = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
      busy += waiting + (counts.active ?? 0);
      parts.push(`${queue.name} ${waiting} waiting/${counts.active ?? 0} active`);
    }
    return { text: parts.join(', '), busy };
  }

  async close(): Promise<void> {
    for (const queue of this.queues) await queue.close();
    this.connection.disconnect();
  }
}

const JOB_QUEUES = ['email', 'notifications', 'assignment', 'sla', 'surveys', 'maintenance'];

/** Waits for the outbox to be relayed and the job queues to run empty; returns the ms it took. */
async function waitForJobs(db: pg.Client, prefix: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await waitForOutbox(db, timeoutMs);
  const queues = new QueueCounts(prefix, JOB_QUEUES);
  try {
    for (let idle = 0; idle < 3; ) {
      if (performance.now() - started > timeoutMs)
        throw new Error(`job queues still busy after ${timeoutMs} ms`);
      idle = (await queues.read()).busy === 0 ? idle + 1 : 0;
      await sleep(200);
    }
  } finally {
    await queues.close();
  }
  return performance.now() - started - 600;
}

async function checkServerStopped(server: Spawned): Promise<void> {
  const shutdown = await stopProcess(server);
  // Log records at warn and above, grouped by message and error (the first 200 characters).
  const grouped = new Map<string, number>();
  for (const record of server.logRecords()) {
    if (typeof record.level !== 'number' || record.level < 40) continue;
    const error = record.err as { message?: string } | undefined;
    const key = `[${record.level}] ${String(record.msg)}${error?.message ? `: ${error.message.slice(error.message.lastIndexOf(': ') + 2).slice(0, 200)}` : ''}`;
    grouped.set(key, (grouped.get(key) ?? 0) + 1);
  }
  for (const [warning, count] of [...grouped].slice(0, 10))
    console.log(`  log (pid ${server.pid}), ${count}×: ${warning}`);
  if (shutdown.code !== 0)
    throw new Error(`server pid ${server.pid} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
  console.log(`  server pid ${server.pid} stopped (SIGTERM, exit 0 after ${Math.round(shutdown.ms)} ms)`);
}

/**
 * The latency of a one-row INSERT committed on its own (synchronous commit: a WAL flush),
 * the floor under every transaction of the server: ingesting a mail commits about ten.
 */
async function commitProbe(db: pg.Client, count = 200): Promise<string> {
  await db.query('create table bench_commit_probe (id serial primary key, at timestamptz default now())');
  const times: number[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const started = performance.now();
      await db.query('insert into bench_commit_probe default values');
      times.push(performance.now() - started);
    }
  } finally {
    await db.query('drop table bench_commit_probe');
  }
  times.sort((a, b) => a - b);
  return `p50 ${formatLatency(percentile(times, 50))}, p99 ${formatLatency(percentile(times, 99))} (${count} one-row INSERTs, each its own transaction)`;
}

async function signUp(baseUrl: string, name: string, admin: string) {
  const signup = await callApiJson<{ organization: { id: string }; accessToken: string }>(
    baseUrl,
    'POST',
    '/api/v1/orgs',
    { body: { name, adminEmail: admin, adminPassword: benchPassword() }, expect: 201 },
  );
  const token = signup.accessToken;
  const team = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/teams', {
    token,
    body: { name: 'Service Desk' },
    expect: 201,
  });
  return { orgId: signup.organization.id, token, teamId: team.id };
}

async function createMailbox(baseUrl: string, token: string, address: string, teamId: string) {
  return callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/mailboxes', {
    token,
    body: { address, name: 'Bench Support', teamId, inboundMethod: 'smtp' },
    expect: 201,
  });
}

// --- 1. inbound ----------------------------------------------------------------------------------

async function measureInbound(
  cleanup: Cleanup,
  runner: Runner,
  serverEnv: Record<string, string>,
  db: pg.Client,
): Promise<Figure[]> {
  const smtpPort = await freePort();
  // With workers, the listener's process is an API process and the jobs the mails cause
  // (acknowledgements, SLA clocks) run next to it, as on a deployment with one process per core.
  const split = settings.inboundWorkers > 0;
  const server = await startSwitchboard(cleanup, runner, {
    ...serverEnv,
    RUN_MODE: split ? 'api' : 'all',
    SMTP_LISTEN_PORT: String(smtpPort),
    SMTP_LISTEN_HOST: '127.0.0.1',
  });
  await waitUntilReady(server, { timeoutMs: 120_000 });
  const workers = spawnWorkers(cleanup, runner, serverEnv, settings.inboundWorkers);
  const pids = [server.pid, ...workers.map((worker) => worker.pid)];
  const desk = await signUp(server.baseUrl, 'Inbound Bench', 'admin@inbound.example');
  const address = 'support@inbound.example';
  await createMailbox(server.baseUrl, desk.token, address, desk.teamId);
  await waitForJobs(db, serverEnv.REDIS_PREFIX!, 60_000);

  const plan = await planInbound({
    mails: settings.mails,
    senders: settings.senders,
    replyShare: REPLY_SHARE,
    attachmentShare: ATTACHMENT_SHARE,
    duplicates: settings.duplicates,
    to: address,
    senderLimit: SENDER_LIMIT,
    seed: settings.seed,
  });
  const replies = plan.mails.filter((mail) => mail.parent !== undefined).length;
  const attachments = plan.mails.filter((mail) => mail.hasAttachment).length;
  console.log(
    (split
      ? `\n1. Inbound over SMTP: a RUN_MODE=api process with the SMTP listener (pid ${server.pid}) and ` +
        `${workers.length} RUN_MODE=worker process(es) (pid ${workers.map((worker) => worker.pid).join(', ')}); `
      : `\n1. Inbound over SMTP: one server process, RUN_MODE=all (API with the SMTP listener + workers), pid ${server.pid}; `) +
      'no SMTP_URL, so the acknowledgements the new tickets cause are planned and "sent" by the log driver',
  );
  console.log(
    `  plan: ${plan.mails.length.toLocaleString('en')} distinct mails (${(plan.mails.length - replies).toLocaleString('en')} new, ` +
      `${replies.toLocaleString('en')} replies by In-Reply-To + References, ${attachments} with one 1–16 KB attachment), ` +
      `${plan.duplicated.size} of them delivered twice (${plan.concurrentDuplicates} copies right behind the original, ` +
      `${plan.duplicated.size - plan.concurrentDuplicates} about ${Math.floor(settings.mails / 10)} mails later): ` +
      `${plan.order.length.toLocaleString('en')} SMTP transactions, ${(plan.rawBytes / 1024 / 1024).toFixed(1)} MB of MIME ` +
      `(average ${(plan.rawBytes / plan.mails.length / 1024).toFixed(1)} KB), rendered in ${(plan.buildMs / 1000).toFixed(1)} s ` +
      `before the run; ${plan.senders} senders, at most ${plan.maxPerSender} mails from one (the server quarantines more ` +
      `than ${SENDER_LIMIT} per sender in 10 minutes)`,
  );

  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtpPort,
    secure: false,
    ignoreTLS: true,
    pool: true,
    maxConnections: settings.connections,
    maxMessages: Number.POSITIVE_INFINITY,
  });
  cleanup.defer('close the SMTP client pool', () => transport.close());
  await transport.verify();

  const database = db.database!;
  const uniqueIds = plan.mails.length;
  const firstDone = plan.mails.map(() => {
    let resolve!: () => void;
    const promise = new Promise<void>((done) => {
      resolve = done;
    });
    return { promise, resolve, settled: false };
  });
  const latencies: number[] = [];
  const acceptedAt: number[] = [];
  const failures: string[] = [];
  let parentWaits = 0;
  let ingestedAt: number | undefined;
  let ingestedSeen = 0;
  let pollStop = false;

  const sampler = await ActivitySampler.start(serverEnv.DATABASE_URL!, 100);
  const statsBefore = await databaseStats(db);
  const scansBefore = await tableScans(db);
  const before = cpuMark(pids, database);
  const start = performance.now();
  const poll = (async () => {
    while (!pollStop) {
      const { rows } = await db.query<{ n: number }>(
        `select count(*)::int as n from email_messages where org_id = $1 and direction = 'in'`,
        [desk.orgId],
      );
      ingestedSeen = rows[0]!.n;
      if (ingestedSeen >= uniqueIds) {
        ingestedAt = performance.now();
        return;
      }
      await sleep(100);
    }
  })();
  const progress = setInterval(() => {
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `  +${seconds.toFixed(0)} s: ${acceptedAt.length} accepted (${Math.round(acceptedAt.length / seconds)}/s), ` +
        `${ingestedSeen} Message-IDs in email_messages`,
    );
  }, 10_000);
  try {
    await mapConcurrently(plan.order, settings.connections, async (index) => {
      const mail = plan.mails[index]!;
      const own = firstDone[index]!;
      if (mail.parent !== undefined && !firstDone[mail.parent]!.settled) {
        parentWaits += 1;
        await firstDone[mail.parent]!.promise;
      }
      const sent = performance.now();
      try {
        const info = await transport.sendMail({
          envelope: { from: mail.from, to: [address] },
          raw: mail.raw,
        });
        if (!String(info.response).startsWith('250')) failures.push(`${mail.messageId}: ${info.response}`);
      } catch (error) {
        failures.push(`${mail.messageId}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const done = performance.now();
      latencies.push(done - sent);
      acceptedAt.push(done);
      if (!own.settled) {
        own.settled = true;
        own.resolve();
      }
    });
    const lastAccepted = performance.now();
    // The listener answers 250 after the ingesting transaction committed: what is missing
    // now was quarantined or refused. Wait 10 s at most for stragglers.
    const deadline = lastAccepted + 10_000;
    while (ingestedAt === undefined && performance.now() < deadline) await sleep(50);
    pollStop = true;
    await poll;
    const afterIngest = cpuMark(pids, database);
    const statsAfter = await databaseStats(db);
    const scansAfter = await tableScans(db);
    const activity = await sampler.stop();
    clearInterval(progress);
    const jobsMs = await waitForJobs(db, serverEnv.REDIS_PREFIX!, settings.timeout * 1000);
    const afterJobs = cpuMark(pids, database);
    await sleep(1_000); // pg_stat_database is flushed by the backends about once a second
    const statsJobs = await databaseStats(db);

    latencies.sort((a, b) => a - b);
    const acceptSeconds = (lastAccepted - start) / 1000;
    const ingestSeconds = ingestedAt === undefined ? Number.NaN : (ingestedAt - start) / 1000;
    const acceptedRate = plan.order.length / acceptSeconds;
    const ingestedRate = uniqueIds / ingestSeconds;
    console.log(
      `  ${plan.order.length.toLocaleString('en')} SMTP transactions accepted in ${acceptSeconds.toFixed(1)} s ` +
        `(${Math.round(acceptedRate)}/s; per transaction p50 ${formatLatency(percentile(latencies, 50))}, ` +
        `p99 ${formatLatency(percentile(latencies, 99))}, max ${formatLatency(latencies.at(-1)!)}; ${failures.length} refused; ` +
        `${parentWaits} replies waited for their parent's 250)`,
    );
    for (const failure of failures.slice(0, 5)) console.log(`    refused: ${failure}`);
    console.log(
      ingestedAt === undefined
        ? `  INCOMPLETE: ${ingestedSeen} of ${uniqueIds} Message-IDs in email_messages 10 s after the last 250`
        : `  all ${uniqueIds.toLocaleString('en')} Message-IDs in email_messages ${ingestSeconds.toFixed(1)} s after the first send ` +
            `(${Math.round(ingestedRate)}/s; ${Math.round((ingestedAt - lastAccepted) as number)} ms after the last 250, ` +
            'polled every 100 ms: the listener answers 250 only after the ingesting transaction committed)',
    );
    console.log(`  CPU while ingesting: ${cpuPer(before, afterIngest, uniqueIds, 'mail')}`);
    console.log(
      `  pg_stat_database per mail while ingesting: ${statsPer(statsBefore, statsAfter, uniqueIds)} ` +
        '(includes the benchmark’s own polling, about 10 + 10 queries a second)',
    );
    printActivity(activity);
    printScans(scansBefore, scansAfter, uniqueIds);
    console.log(
      `  the jobs the mails caused (outbox relay, acknowledgement planning and log "sending", notifications, ` +
        `assignment) drained ${(jobsMs / 1000).toFixed(1)} s after the last mail was ingested; CPU then: ` +
        `${cpuPer(afterIngest, afterJobs, uniqueIds, 'mail')}`,
    );
    console.log(
      `  whole inbound run, ingesting and its jobs: ${cpuPer(before, afterJobs, uniqueIds, 'mail')}; ` +
        `pg_stat_database per mail ${statsPer(statsBefore, statsJobs, uniqueIds)}`,
    );

    const check = await checkInbound(db, desk.orgId, plan);
    console.log(
      `  exactly once: ${check.present} of ${uniqueIds} Message-IDs stored (${check.missing} missing, ${check.unexpected} ` +
        `unexpected rows); new mails → ${check.tickets} tickets for ${check.expectedTickets} new mails ` +
        `(${check.wrongRoots} not on a ticket of their own); replies on their thread's ticket: ${check.repliesOnThread} of ` +
        `${check.expectedReplies} (${check.wrongReplies} elsewhere or without a message); ticket messages ${check.messages} ` +
        `for ${check.expectedMessages} expected (replies + first messages carrying a new mail's attachment), ` +
        `${check.ticketsWithWrongCount} tickets with another count; attachments ${check.attachments} for ${attachments}; ` +
        `requesters ${check.requesters} for ${check.sendersUsed} senders; quarantined: ${check.quarantine || 'none'}; ` +
        `decisions: ${check.decisions}`,
    );
    console.log(
      `  acknowledgements planned: ${check.deliveries} (${check.deliveriesLogged} logged), one per new ticket expected`,
    );
    // Open client connections would hold the listener's close (and the server's shutdown).
    transport.close();
    await checkServerStopped(server);
    for (const worker of workers) await checkServerStopped(worker);

    // Every mail counts once: a missing one is also a root or a reply not where it belongs.
    const lost = check.wrongRoots + check.wrongReplies;
    const duplicated =
      check.unexpected +
      Math.max(0, check.tickets - check.expectedTickets) +
      Math.max(0, check.messages - check.expectedMessages) +
      check.ticketsWithWrongCount;
    return [
      {
        figure: `inbound: accepted mails/s (${plan.order.length.toLocaleString('en')} SMTP transactions, ${settings.connections} connections, first send → last 250)`,
        target: '(reported)',
        measured: `${Math.round(acceptedRate)}/s (p50 ${formatLatency(percentile(latencies, 50))}, p99 ${formatLatency(percentile(latencies, 99))} per transaction)`,
        verdict: '—',
      },
      {
        figure: `inbound: ingested mails/s (${uniqueIds.toLocaleString('en')} distinct, until all in email_messages)`,
        target: `≥ ${TARGET.inboundPerSecond}/s`,
        measured:
          ingestedAt === undefined
            ? `${ingestedSeen} of ${uniqueIds} stored`
            : `${Math.round(ingestedRate)}/s`,
        verdict: ingestedAt === undefined ? 'MISSED' : verdict(ingestedRate >= TARGET.inboundPerSecond),
      },
      {
        figure: 'inbound: lost (distinct mails missing or not on the expected ticket)',
        target: '0',
        measured: `${lost} (${check.missing} not in email_messages, ${failures.length} refused)`,
        verdict: verdict(lost === 0),
      },
      {
        figure: `inbound: duplicated (${plan.duplicated.size} mails delivered twice)`,
        target: '0',
        measured: `${duplicated} (quarantined: ${check.quarantine || 'none'})`,
        verdict: verdict(duplicated === 0),
      },
      {
        figure: 'inbound: CPU per mail while ingesting',
        target: '(reported)',
        measured: cpuPer(before, afterIngest, uniqueIds, 'mail').replace(/ \(\d+ % of one core\)/g, ''),
        verdict: '—',
      },
    ];
  } finally {
    clearInterval(progress);
    pollStop = true;
  }
}

async function checkInbound(db: pg.Client, orgId: string, plan: InboundPlan) {
  const { rows } = await db.query<{
    message_id: string;
    ticket_id: string | null;
    ticket_message_id: string | null;
    decision: string;
  }>(
    `select message_id, ticket_id, ticket_message_id, decision from email_messages
      where org_id = $1 and direction = 'in'`,
    [orgId],
  );
  const stored = new Map(rows.map((row) => [row.message_id, row]));
  const messages = await db.query<{ id: string; ticket_id: string }>(
    'select id, ticket_id from ticket_messages where org_id = $1',
    [orgId],
  );
  const messageTicket = new Map(messages.rows.map((row) => [row.id, row.ticket_id]));
  const perTicket = new Map<string, number>();
  for (const row of messages.rows) perTicket.set(row.ticket_id, (perTicket.get(row.ticket_id) ?? 0) + 1);
  const ticketOf = new Map<number, string>();
  const expectedPerTicket = new Map<string, number>();
  let present = 0;
  let missing = 0;
  let wrongRoots = 0;
  let wrongReplies = 0;
  let repliesOnThread = 0;
  let expectedReplies = 0;
  let expectedMessages = 0;
  const rootTickets = new Set<string>();
  for (const mail of plan.mails) {
    const row = stored.get(mail.messageId);
    if (row) present += 1;
    else missing += 1;
    if (mail.parent === undefined) {
      if (mail.hasAttachment) expectedMessages += 1;
      if (!row?.ticket_id || rootTickets.has(row.ticket_id) || !row.decision.startsWith('new ticket')) {
        wrongRoots += 1;
        continue;
      }
      rootTickets.add(row.ticket_id);
      ticketOf.set(mail.index, row.ticket_id);
      expectedPerTicket.set(row.ticket_id, mail.hasAttachment ? 1 : 0);
    } else {
      expectedReplies += 1;
      expectedMessages += 1;
      const ticket = ticketOf.get(mail.root);
      const ok =
        ticket !== undefined &&
        row?.ticket_id === ticket &&
        row.ticket_message_id !== null &&
        messageTicket.get(row.ticket_message_id) === ticket;
      if (ok) {
        repliesOnThread += 1;
        expectedPerTicket.set(ticket, (expectedPerTicket.get(ticket) ?? 0) + 1);
      } else wrongReplies += 1;
    }
  }
  const planned = new Set(plan.mails.map((mail) => mail.messageId));
  const unexpected = rows.filter((row) => !planned.has(row.message_id)).length;
  let ticketsWithWrongCount = 0;
  for (const [ticket, expected] of expectedPerTicket)
    if ((perTicket.get(ticket) ?? 0) !== expected) ticketsWithWrongCount += 1;
  const one = async (sql: string) => (await db.query<{ n: number }>(sql, [orgId])).rows[0]!.n;
  const quarantine = await db.query<{ reason: string; n: number }>(
    'select reason, count(*)::int as n from email_quarantine where org_id = $1 group by reason order by reason',
    [orgId],
  );
  const decisions = new Map<string, number>();
  for (const row of rows) {
    const key = row.decision.replace(/<[^>]*>/g, '<…>');
    decisions.set(key, (decisions.get(key) ?? 0) + 1);
  }
  return {
    present,
    missing,
    unexpected,
    wrongRoots,
    wrongReplies,
    repliesOnThread,
    expectedReplies,
    expectedTickets: plan.mails.length - expectedReplies,
    tickets: await one('select count(*)::int as n from tickets where org_id = $1'),
    messages: messages.rows.length,
    expectedMessages,
    ticketsWithWrongCount,
    attachments: await one('select count(*)::int as n from ticket_attachments where org_id = $1'),
    requesters: await one(`select count(*)::int as n from users where org_id = $1 and role = 'requester'`),
    sendersUsed: new Set(plan.mails.map((mail) => mail.from)).size,
    quarantine: quarantine.rows.map((row) => `${row.reason} ${row.n}`).join(', '),
    decisions: [...decisions]
      .sort((a, b) => b[1] - a[1])
      .map(([decision, n]) => `"${decision}" ${n}`)
      .join(', '),
    deliveries: await one('select count(*)::int as n from email_deliveries where org_id = $1'),
    deliveriesLogged: await one(
      `select count(*)::int as n from email_deliveries where org_id = $1 and status = 'sent' and smtp_response = 'logged'`,
    ),
  };
}

// --- 2. outbound ---------------------------------------------------------------------------------

async function measureOutbound(
  cleanup: Cleanup,
  runner: Runner,
  serverEnv: Record<string, string>,
  db: pg.Client,
): Promise<Figure[]> {
  const total = settings.outbound;
  console.log(
    `\n2. Outbound: ${total.toLocaleString('en')} tickets through POST /api/v1/tickets on a RUN_MODE=api server ` +
      `(${settings.clients} keep-alive clients; no worker runs, so their ticket.created events wait in the outbox), then ` +
      `that server is stopped and ${settings.workers} RUN_MODE=worker process(es) relay them, plan one acknowledgement each ` +
      '(email.plan) and send it (email.send, a queue of its own), each through its pooled nodemailer transport (5 connections, ' +
      'smtp.driver.ts), to an SMTP sink in this process (smtp-server, accepts everything, keeps the Message-IDs)',
  );
  const sink = new SmtpSink();
  const sinkPort = await sink.listen();
  cleanup.defer('close the SMTP sink', () => sink.close());

  const api: NodeServer = await startSwitchboard(cleanup, runner, { ...serverEnv, RUN_MODE: 'api' });
  await waitUntilReady(api, { timeoutMs: 120_000 });
  const desk = await signUp(api.baseUrl, 'Outbound Bench', 'admin@outbound.example');
  await createMailbox(api.baseUrl, desk.token, 'help@outbound.example', desk.teamId);
  const requesterIds = await insertRequesters(db, desk.orgId, OUTBOUND_REQUESTERS, settings.seed + 11);

  const createStart = performance.now();
  const createLatencies: number[] = [];
  await mapConcurrently(
    Array.from({ length: total }, (_, index) => index),
    settings.clients,
    async (index) => {
      const sent = performance.now();
      await callApiJson<{ id: string }>(api.baseUrl, 'POST', '/api/v1/tickets', {
        token: desk.token,
        body: {
          title: `Delivery ${index} is late`,
          description: 'The parcel has not arrived; tracking shows no update since Monday.',
          teamId: desk.teamId,
          requesterId: requesterIds[index % requesterIds.length],
          channel: 'web',
        },
        expect: 201,
      });
      createLatencies.push(performance.now() - sent);
    },
  );
  const createSeconds = (performance.now() - createStart) / 1000;
  createLatencies.sort((a, b) => a - b);
  console.log(
    `  created ${total.toLocaleString('en')} tickets in ${createSeconds.toFixed(1)} s (${Math.round(total / createSeconds)}/s, ` +
      `p50 ${formatLatency(percentile(createLatencies, 50))}, p99 ${formatLatency(percentile(createLatencies, 99))})`,
  );
  await checkServerStopped(api);
  const pending = await db.query<{ n: number }>(
    'select count(*)::int as n from outbox where published_at is null',
  );
  console.log(`  outbox: ${pending.rows[0]!.n} events waiting for a relay`);

  const database = db.database!;
  const queues = new QueueCounts(serverEnv.REDIS_PREFIX!, ['email', 'email-send']);
  cleanup.defer('close the queue counter', () => queues.close());
  const sampler = await ActivitySampler.start(serverEnv.DATABASE_URL!, 100);
  const statsBefore = await databaseStats(db);
  const scansBefore = await tableScans(db);
  const spawnedAtMs = Date.now();
  const workers = spawnWorkers(
    cleanup,
    runner,
    { ...serverEnv, SMTP_URL: `smtp://127.0.0.1:${sinkPort}` },
    settings.workers,
  );
  const workerPids = workers.map((worker) => worker.pid);
  const before = cpuMark(workerPids, database);
  const deadline = performance.now() + settings.timeout * 1000;
  let counts = { sent: 0, failed: 0, planned: 0 };
  // The worker's start (tsx, platform) costs CPU too: also measured from the first planned delivery.
  let drainStart: CpuMark | undefined;
  let lastReport = performance.now();
  while (performance.now() < deadline) {
    for (const worker of workers)
      if (!worker.isRunning())
        throw new Error(`the worker pid ${worker.pid} exited before sending everything:\n${worker.tail()}`);
    const { rows } = await db.query<{ sent: number; failed: number; planned: number }>(
      `select count(*) filter (where status = 'sent')::int as sent,
              count(*) filter (where status = 'failed')::int as failed,
              count(*)::int as planned
         from email_deliveries where org_id = $1`,
      [desk.orgId],
    );
    counts = rows[0]!;
    if (!drainStart && counts.planned > 0) drainStart = cpuMark(workerPids, database);
    if (counts.sent + counts.failed >= total) break;
    if (performance.now() - lastReport >= 5_000) {
      lastReport = performance.now();
      console.log(
        `  +${((Date.now() - spawnedAtMs) / 1000).toFixed(0)} s: ${counts.planned} planned, ${counts.sent} sent, ` +
          `${counts.failed} failed; sink ${sink.received.length}; ${(await queues.read()).text}`,
      );
    }
    await sleep(100);
  }
  const after = cpuMark(workerPids, database);
  const statsAfter = await databaseStats(db);
  const scansAfter = await tableScans(db);
  const activity = await sampler.stop();
  await sleep(2_000); // a mail sent twice would need a second try to arrive
  const { rows: deliveries } = await db.query<{
    message_id: string;
    status: string;
    attempts: number;
    queued_ms: number;
    sent_ms: number | null;
  }>(
    `select message_id, status, attempts,
            (extract(epoch from queued_at) * 1000)::float8 as queued_ms,
            (extract(epoch from sent_at) * 1000)::float8 as sent_ms
       from email_deliveries where org_id = $1`,
    [desk.orgId],
  );
  for (const worker of workers) await checkServerStopped(worker);

  const sent = deliveries.filter((row) => row.sent_ms !== null);
  const sentTimes = sent.map((row) => row.sent_ms!).sort((a, b) => a - b);
  const queuedTimes = deliveries.map((row) => row.queued_ms).sort((a, b) => a - b);
  const toSent = sent.map((row) => row.sent_ms! - row.queued_ms).sort((a, b) => a - b);
  const allSent = sent.length >= total;
  const firstSent = sentTimes[0] ?? Number.NaN;
  const lastSent = sentTimes.at(-1) ?? Number.NaN;
  const sentRate = sent.length / ((lastSent - firstSent) / 1000);
  const p10 = sentTimes[Math.floor(sentTimes.length * 0.1)] ?? Number.NaN;
  const p90 = sentTimes[Math.floor(sentTimes.length * 0.9)] ?? Number.NaN;
  const middleRate =
    (Math.floor(sentTimes.length * 0.9) - Math.floor(sentTimes.length * 0.1)) / ((p90 - p10) / 1000);
  const plannedRate = deliveries.length / ((queuedTimes.at(-1)! - queuedTimes[0]!) / 1000);
  const since = (ms: number) => `${((ms - spawnedAtMs) / 1000).toFixed(1)} s`;
  const sinkTimes = sink.received.map((mail) => mail.at);
  const sinkRate = sink.received.length / ((Math.max(...sinkTimes) - Math.min(...sinkTimes)) / 1000);
  const ours = new Set(deliveries.map((row) => row.message_id));
  const seen = new Map<string, number>();
  for (const mail of sink.received)
    if (mail.messageId) seen.set(mail.messageId, (seen.get(mail.messageId) ?? 0) + 1);
  const receivedOnce = [...ours].filter((id) => seen.get(id) === 1).length;
  const sinkDuplicates = [...seen.values()].filter((count) => count > 1).length;
  const sinkUnknown = sink.received.filter((mail) => !mail.messageId || !ours.has(mail.messageId)).length;
  const retried = deliveries.filter((row) => row.attempts > 1).length;

  console.log(
    allSent
      ? `  all ${total.toLocaleString('en')} acknowledgements sent; after the worker was spawned: first planned ${since(queuedTimes[0]!)}, ` +
          `first sent ${since(firstSent)}, last planned ${since(queuedTimes.at(-1)!)}, last sent ${since(lastSent)}`
      : `  TIMEOUT: ${sent.length} of ${total} sent after ${settings.timeout} s (${counts.failed} failed)`,
  );
  console.log(
    `  sent ${Math.round(sentRate)}/s from the first to the last sent_at (${Math.round(middleRate)}/s between the 10th and ` +
      `90th percentile of sent_at); planned ${Math.round(plannedRate)}/s (queued_at span); the sink received ` +
      `${Math.round(sinkRate)}/s over ${sink.connections} connections`,
  );
  if (toSent.length > 0)
    console.log(
      `  queued → sent (sent_at − queued_at): p50 ${formatLatency(percentile(toSent, 50))}, p99 ${formatLatency(percentile(toSent, 99))}, ` +
        `max ${formatLatency(toSent.at(-1)!)} (sends run on their own queue, email-send, next to the planning on email)`,
    );
  console.log(`  CPU from the worker's spawn to the last send: ${cpuPer(before, after, total, 'mail')}`);
  if (drainStart)
    console.log(
      `  CPU from the first planned delivery (polled every 100 ms) to the last send: ${cpuPer(drainStart, after, total, 'mail')}`,
    );
  console.log(`  pg_stat_database per mail: ${statsPer(statsBefore, statsAfter, total)}`);
  printActivity(activity);
  printScans(scansBefore, scansAfter, total);
  console.log(
    `  exactly once: ${deliveries.length} deliveries for ${total} tickets, ${sent.length} sent, ${counts.failed} failed, ` +
      `${retried} needed more than one attempt; the sink got ${sink.received.length} mails: ${receivedOnce} deliveries ` +
      `exactly once, ${sinkDuplicates} twice or more, ${sinkUnknown} unknown`,
  );

  const exact =
    deliveries.length === total && receivedOnce === total && sinkDuplicates === 0 && sinkUnknown === 0;
  return [
    {
      figure: `outbound: sent mails/s (${total.toLocaleString('en')} acknowledgements, email_deliveries first → last sent_at)`,
      target: `≥ ${TARGET.outboundPerSecond}/s`,
      measured: allSent
        ? `${Math.round(sentRate)}/s (10–90 %: ${Math.round(middleRate)}/s; planned ${Math.round(plannedRate)}/s)`
        : `${sent.length} of ${total} sent`,
      verdict: allSent ? verdict(sentRate >= TARGET.outboundPerSecond) : 'MISSED',
    },
    {
      figure: 'outbound: queued → sent (sent_at − queued_at)',
      target: '(reported)',
      measured:
        toSent.length > 0
          ? `p50 ${formatLatency(percentile(toSent, 50))}, p99 ${formatLatency(percentile(toSent, 99))}`
          : '—',
      verdict: '—',
    },
    {
      figure: 'outbound: every delivery received once by the sink',
      target: 'all, duplicates = 0',
      measured: `${receivedOnce} of ${total}, duplicates = ${sinkDuplicates}`,
      verdict: verdict(exact),
    },
    {
      figure: 'outbound: CPU per mail (first planned → last send)',
      target: '(reported)',
      measured: cpuPer(drainStart ?? before, after, total, 'mail').replace(/ \(\d+ % of one core\)/g, ''),
      verdict: '—',
    },
  ];
}

// --- main (last: the classes and constants above must be initialised first) -------------------

await runBenchmark('email', async (cleanup) => {
  const started = new Date();
  console.log(
    `email: inbound ${settings.mails.toLocaleString('en')} mails from ${settings.senders.toLocaleString('en')} senders ` +
      `(${formatPercent(REPLY_SHARE)} replies, ${formatPercent(ATTACHMENT_SHARE)} with an attachment, ` +
      `${settings.duplicates} delivered twice) over ${settings.connections} SMTP connections; outbound ` +
      `${settings.outbound.toLocaleString('en')} acknowledgements${values.smoke ? ' (--smoke)' : ''}`,
  );
  console.log(`date: ${started.toISOString()}; machine: ${machineSummary()}; ${loadNote()}`);
  const services = await servicesReachable();
  if (!services.ok) throw new Error(`the email benchmark needs PostgreSQL and Redis: ${services.detail}`);

  const runner = await resolveRunner(parseSingleRunnerOption(values.runner), cleanup);
  const env: Record<string, string> = {
    ...(await createServicesEnv(cleanup)),
    LOG_LEVEL: values['log-level'],
  };
  const dataDir = makeTempDir(cleanup, 'sb-email-bench');
  const migrateMs = await runToCompletion(
    spawnTracked(cleanup, process.execPath, runner.nodeArgs, {
      ...env,
      RUN_MODE: 'migrate',
      DATA_DIR: dataDir,
    }),
  );
  const serverEnv: Record<string, string> = {
    ...env,
    MIGRATE_ON_START: 'false',
    SEED_DEMO: 'false',
    ALLOW_SIGNUP: 'true',
    DATA_DIR: dataDir,
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    MAIL_REPLY_SECRET: REPLY_SECRET,
    ...(settings.jobConcurrency ? { JOB_CONCURRENCY: String(settings.jobConcurrency) } : {}),
  };
  const db = new pg.Client({ connectionString: env.DATABASE_URL! });
  await db.connect();
  cleanup.defer('close the benchmark connection', () => db.end());
  const { rows } = await db.query<{ server_version: string }>('show server_version');
  const postgres = `PostgreSQL ${rows[0]!.server_version.split(' ')[0]}`;
  console.log(
    `${postgres}, database ${db.database}, migrated by RUN_MODE=migrate in ${(migrateMs / 1000).toFixed(1)} s; ` +
      `server ${runner.description}, JOB_CONCURRENCY=${settings.jobConcurrency ?? '5 (default)'}, storage on local disk (DATA_DIR in ${dataDir})`,
  );

  console.log(`commit latency on this database before the run: ${await commitProbe(db)}`);
  // Both phases add thousands of users and tickets to tables that start empty.
  let analyzing: ReturnType<typeof analyzeWhileRunning> | undefined;
  if (!(await autoanalyzeIsOn(db))) {
    console.log('autovacuum is off: the benchmark analyzes the database every 5 s, as autoanalyze would');
    const analyzer = new pg.Client({ connectionString: env.DATABASE_URL! });
    await analyzer.connect();
    analyzing = analyzeWhileRunning(analyzer);
    cleanup.defer('stop analyzing', async () => {
      analyzing?.stop();
      await analyzing?.done;
      await analyzer.end();
    });
  }
  const inbound = await measureInbound(cleanup, runner, serverEnv, db);
  const outbound = await measureOutbound(cleanup, runner, serverEnv, db);

  console.log(`\nSummary (${started.toISOString().slice(0, 10)}; ${machineSummary()}; ${postgres}):`);
  printTable(
    ['figure', 'target', 'measured', 'verdict'],
    [...inbound, ...outbound].map((line) => [line.figure, line.target, line.measured, line.verdict]),
  );
  console.log(`\nafter: ${loadNote()}`);
});
