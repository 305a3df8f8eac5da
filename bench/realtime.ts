import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import { LeanSocket } from './lib/lean-socket.js';
import {
  benchPassword,
  type Cleanup,
  callApi,
  callApiJson,
  cpuSeconds,
  createServicesEnv,
  formatLatency,
  formatMb,
  loadNote,
  login,
  machineSummary,
  makeTempDir,
  mapConcurrently,
  parseSingleRunnerOption,
  percentile,
  printTable,
  type Runner,
  readHistogram,
  readMemory,
  readMetric,
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
  waitUntilReady,
  warningsIn,
} from './lib.js';

/**
 * Sockets on PostgreSQL + Redis (the Socket.io Redis adapter on):
 *
 *   1. one API process (`RUN_MODE=api`, with `--workers` `RUN_MODE=worker` processes next to it
 *      for the outbox relay and the jobs, as deployed; `--workers 0`: one `RUN_MODE=all`
 *      process that does both): N authenticated sockets (socket.io-client over WebSocket,
 *      from this process), of which M are agents of one organisation and the rest of another
 *      that gets no events. RSS of the server before and after they connect, after an idle
 *      pause: RSS per idle socket. Then ticket updates (PATCH title through the API) at R/s:
 *      W seconds of warm-up, reported apart, then S measured seconds (the steady state the
 *      target is about); every update is a `ticket:updated` for each of the M sockets. Delivery
 *      latency = time the socket got the event − time the PATCH was sent (commit, relay,
 *      presenting, fan-out and the client's decoding included), with its p99 per second and
 *      the server's own share from its lag histogram;
 *   2. two `RUN_MODE=api` processes and a `RUN_MODE=worker` (the outbox relay) behind one
 *      Redis: M sockets split across both API processes, updates sent to the first. Delivery
 *      latency on each side (the second is cross-process by construction).
 *
 *   npx tsx bench/realtime.ts [--smoke] [--sockets 5000] [--subscribed 1000] [--rate 100]
 *     [--seconds 30] [--warmup-seconds 5] [--cross-subscribed 1000] [--idle-seconds 5] [--runner tsx|built]
 *     [--log-level warn] [--client lean|socket.io] [--workers 1]
 *
 * `--smoke`: 200 sockets, 100 subscribed, 10 updates/s for 10 s, 100 across two processes.
 * `--warmup-seconds 0` measures from the first update a fresh process takes.
 * The clients run in this process and share the machine's cores with the servers: their CPU
 * is printed next to the server's. `--client lean` (the default) speaks the Socket.IO protocol
 * over a plain WebSocket (bench/lib/lean-socket.ts) at a fraction of socket.io-client's CPU per
 * event; `--client socket.io` uses socket.io-client. Figures are printed, never asserted.
 */

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    sockets: { type: 'string' },
    subscribed: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    'cross-subscribed': { type: 'string' },
    'idle-seconds': { type: 'string', default: '5' },
    'warmup-seconds': { type: 'string', default: '5' },
    runner: { type: 'string', default: 'tsx' },
    'log-level': { type: 'string', default: 'warn' },
    client: { type: 'string', default: 'lean' },
    workers: { type: 'string', default: '1' },
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
  sockets: option('sockets', 5_000, 200),
  subscribed: option('subscribed', 1_000, 100),
  rate: option('rate', 100, 10),
  seconds: option('seconds', 30, 10),
  crossSubscribed: option('cross-subscribed', 1_000, 100),
  idleSeconds: option('idle-seconds', 5),
  warmupSeconds: Number(values['warmup-seconds']),
};
if (!(settings.warmupSeconds >= 0) || !Number.isInteger(settings.warmupSeconds))
  throw new Error(`--warmup-seconds must be a whole number (got ${values['warmup-seconds']})`);
const clientKind = values.client;
if (clientKind !== 'lean' && clientKind !== 'socket.io')
  throw new Error(`--client must be lean or socket.io (got ${clientKind})`);
if (settings.subscribed > settings.sockets) throw new Error('--subscribed cannot exceed --sockets');
const TARGET = { sockets: 5_000, subscribed: 1_000, rate: 100, fanoutP99Ms: 100, crossP99Ms: 150 };
/** Sockets per user: the connection cap is raised so that a few users hold them all. */
const SOCKETS_PER_USER = 250;
const TICKETS = 50;
/** How long after the last update deliveries are still waited for. */
const DRAIN_MS = 15_000;
const PUBLIC_URL = 'http://switchboard.bench';

interface Figure {
  figure: string;
  target: string;
  measured: string;
  verdict: string;
}

interface Desk {
  adminToken: string;
  agentTokens: string[];
}

/** An organisation with `agents` agents (no team: every agent sees every ticket). */
async function createDesk(baseUrl: string, name: string, agents: number): Promise<Desk> {
  const password = benchPassword();
  const signup = await callApiJson<{ accessToken: string }>(baseUrl, 'POST', '/api/v1/orgs', {
    body: { name, adminEmail: `admin@${slug(name)}.example`, adminPassword: password },
    expect: 201,
  });
  const agentTokens = await mapConcurrently(
    Array.from({ length: agents }, (_, index) => index),
    4,
    async (index) => {
      const email = `agent${index}@${slug(name)}.example`;
      await callApi(baseUrl, 'POST', '/api/v1/admin/users', {
        token: signup.accessToken,
        body: { email, name: `Agent ${index}`, role: 'agent', password },
        expect: 201,
      });
      return login(baseUrl, email, password);
    },
  );
  return { adminToken: signup.accessToken, agentTokens };
}

const slug = (name: string) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** What the benchmark needs of a client socket. */
interface ClientSocket {
  close(): void;
}

/** `"changes":{"title":{"to":"…"` in a ticket:updated payload (the presenter's key order). */
const TITLE_CHANGE = /"changes":\{"title":\{"to":"((?:[^"\\]|\\.)*)"/;

type UpdatePayload = { event?: { changes?: { title?: { to?: string } } } };

/**
 * A connected client (`--client lean`: bench/lib/lean-socket.ts; `--client socket.io`:
 * socket.io-client); `onUpdate` gets the title an update set and the receive time.
 */
async function connectSocket(
  baseUrl: string,
  token: string,
  onUpdate?: (title: string, at: number) => void,
): Promise<ClientSocket> {
  if (clientKind === 'lean') {
    const socket = await LeanSocket.connect(baseUrl, { token });
    if (onUpdate) {
      socket.on('ticket:updated', (json) => {
        // The event's new title, read without parsing the whole ticket (see lean-socket.ts).
        const title = TITLE_CHANGE.exec(json)?.[1];
        if (title) onUpdate(JSON.parse(`"${title}"`) as string, performance.now());
      });
    }
    return socket;
  }
  const socket = io(baseUrl, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  if (onUpdate) {
    socket.on('ticket:updated', (payload: UpdatePayload) => {
      const title = payload.event?.changes?.title?.to;
      if (title) onUpdate(title, performance.now());
    });
  }
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error: Error & { data?: unknown }) =>
      reject(new Error(`socket refused: ${error.message} ${JSON.stringify(error.data ?? {})}`)),
    );
  });
  return socket;
}

async function connectMany(
  baseUrl: string,
  tokens: string[],
  count: number,
  onUpdate?: (title: string, at: number) => void,
): Promise<{ sockets: ClientSocket[]; ms: number }> {
  const started = performance.now();
  const sockets = await mapConcurrently(
    Array.from({ length: count }, (_, index) => index),
    50,
    (index) => connectSocket(baseUrl, tokens[index % tokens.length]!, onUpdate),
  );
  return { sockets, ms: performance.now() - started };
}

async function openTickets(baseUrl: string, token: string): Promise<string[]> {
  return mapConcurrently(
    Array.from({ length: TICKETS }, (_, index) => index),
    8,
    async (index) =>
      (
        await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/tickets', {
          token,
          body: { title: `Realtime bench ticket ${index}` },
          expect: 201,
        })
      ).id,
  );
}

/**
 * Latencies in typed arrays that grow by doubling: a million deliveries are a million numbers,
 * and the clients share the cores with the servers they measure, so the log should not make
 * their garbage collector pause more than it must.
 */
class Latencies {
  private values = new Float64Array(1024);
  private seconds = new Uint16Array(1024);
  count = 0;

  add(latency: number, second: number): void {
    if (this.count === this.values.length) {
      const values = new Float64Array(this.values.length * 2);
      values.set(this.values);
      this.values = values;
      const seconds = new Uint16Array(this.seconds.length * 2);
      seconds.set(this.seconds);
      this.seconds = seconds;
    }
    this.values[this.count] = latency;
    this.seconds[this.count] = second;
    this.count += 1;
  }

  /** The latencies, sorted ascending (a copy). */
  sorted(): Float64Array {
    return this.values.slice(0, this.count).sort();
  }

  /** The p99 of each second's latencies, in whole milliseconds. */
  perSecondP99(): string {
    const bySecond: number[][] = [];
    for (let index = 0; index < this.count; index += 1) {
      const second = this.seconds[index]!;
      bySecond[second] ??= [];
      bySecond[second].push(this.values[index]!);
    }
    return Array.from(bySecond, (latencies) =>
      latencies ? String(Math.round(percentile(Float64Array.from(latencies).sort(), 99))) : '–',
    ).join(' ');
  }
}

/** Deliveries of every update to every subscribed socket, keyed by the title the update set. */
class DeliveryLog {
  private readonly sentAt = new Map<string, { at: number; warm: boolean }>();
  private firstSentAt: number | undefined;
  readonly latencies = new Latencies();
  /** Latencies of the warm-up's updates (not measured against the target). */
  readonly warmLatencies = new Latencies();
  received = 0;

  sent(title: string, at: number, warm = false): void {
    if (!warm) this.firstSentAt ??= at;
    this.sentAt.set(title, { at, warm });
  }

  delivered = (title: string, at: number): void => {
    const sent = this.sentAt.get(title);
    if (sent === undefined) return;
    if (sent.warm) {
      this.warmLatencies.add(at - sent.at, 0);
      return;
    }
    this.received += 1;
    this.latencies.add(at - sent.at, Math.floor((sent.at - this.firstSentAt!) / 1000));
  };
}

/** Open-loop updates at `rate`/s for `seconds` through `baseUrl`; returns HTTP latencies. */
async function sendUpdates(
  baseUrl: string,
  token: string,
  tickets: string[],
  logs: DeliveryLog[],
  label: string,
  seconds = settings.seconds,
  warm = false,
): Promise<{ sent: number; httpMs: number[]; errors: number }> {
  const total = settings.rate * seconds;
  const interval = 1000 / settings.rate;
  const started = performance.now();
  const httpMs: number[] = [];
  let errors = 0;
  const inFlight: Array<Promise<void>> = [];
  for (let sequence = 0; sequence < total; sequence += 1) {
    const due = started + sequence * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const title = `${label} update ${sequence}`;
    const at = performance.now();
    for (const log of logs) log.sent(title, at, warm);
    inFlight.push(
      callApi(baseUrl, 'PATCH', `/api/v1/tickets/${tickets[sequence % tickets.length]}`, {
        token,
        body: { title },
        expect: 200,
      }).then(
        () => {
          httpMs.push(performance.now() - at);
        },
        (error: unknown) => {
          errors += 1;
          if (errors <= 3) console.log(`  update failed: ${String(error).slice(0, 300)}`);
        },
      ),
    );
  }
  await Promise.all(inFlight);
  return { sent: total, httpMs: httpMs.sort((a, b) => a - b), errors };
}

/**
 * `--warmup-seconds` of updates at the measured rate, before the measured window: the first
 * seconds of load on a fresh process (connections opened, code compiled and optimised) are
 * reported apart from the steady state the target is about. Then a second to drain.
 */
async function warmUp(baseUrl: string, token: string, tickets: string[], logs: DeliveryLog[]): Promise<void> {
  if (settings.warmupSeconds === 0) return;
  const warm = await sendUpdates(baseUrl, token, tickets, logs, 'warm-up', settings.warmupSeconds, true);
  await sleep(1_000);
  console.log(
    `  warm-up, not measured: ${warm.sent.toLocaleString('en')} updates in ${settings.warmupSeconds} s, PATCH ${describeLatencies(warm.httpMs)}; ` +
      `deliveries ${logs.map((log) => describeLatencies(log.warmLatencies)).join(' / ')}`,
  );
}

async function waitForDeliveries(logs: Array<{ log: DeliveryLog; expected: number }>): Promise<void> {
  const deadline = performance.now() + DRAIN_MS;
  while (performance.now() < deadline && logs.some(({ log, expected }) => log.received < expected))
    await sleep(100);
}

function describeLatencies(latencies: Latencies | number[]): string {
  const sorted = Array.isArray(latencies) ? Float64Array.from(latencies).sort() : latencies.sorted();
  if (sorted.length === 0) return 'none delivered';
  return `p50 ${formatLatency(percentile(sorted, 50))}, p95 ${formatLatency(percentile(sorted, 95))}, p99 ${formatLatency(percentile(sorted, 99))}, max ${formatLatency(sorted.at(-1)!)}`;
}

function p99(latencies: Latencies): number {
  const sorted = latencies.sorted();
  return sorted.length === 0 ? Number.POSITIVE_INFINITY : percentile(sorted, 99);
}

/** Fan-out passes of a server so far, from its /metrics (each socket gets one write per pass). */
async function fanoutPasses(baseUrl: string): Promise<string> {
  const value = async (name: string) => (await readMetric(baseUrl, name)) ?? Number.NaN;
  const passes = await value('switchboard_realtime_fanout_batch_events_count');
  const events = await value('switchboard_realtime_fanout_batch_events_sum');
  const writes = await value('switchboard_realtime_fanout_batch_sockets_sum');
  return (
    `fan-out: ${passes.toLocaleString('en')} passes, ${(events / passes).toFixed(1)} events and ` +
    `${Math.round(writes / passes).toLocaleString('en')} sockets per pass`
  );
}

const LAG_METRIC = 'switchboard_realtime_fanout_lag_seconds';

/** The lag histogram's buckets of a server now, to subtract from a later reading. */
function lagBuckets(baseUrl: string) {
  return readHistogram(baseUrl, LAG_METRIC);
}

/**
 * The server's own share of the latency over a measured window, from the difference of two
 * readings of its lag histogram (event recorded in PostgreSQL → written to the sockets).
 */
async function describeServerLag(
  baseUrl: string,
  before: Array<{ le: number; count: number }>,
): Promise<string> {
  const after = await lagBuckets(baseUrl);
  const counts = after.map((bucket, index) => ({
    le: bucket.le,
    count: bucket.count - (before[index]?.count ?? 0),
  }));
  const total = counts.at(-1)?.count ?? 0;
  if (total === 0) return 'server lag: no events';
  const within = (le: number) => counts.find((bucket) => bucket.le === le)?.count ?? 0;
  const p99 = counts.find((bucket) => bucket.count >= total * 0.99)?.le ?? Number.POSITIVE_INFINITY;
  return (
    `server lag (event recorded → written to its sockets, /metrics): ` +
    `${((within(0.05) / total) * 100).toFixed(1)} % within 50 ms, ${((within(0.1) / total) * 100).toFixed(1)} % within 100 ms, ` +
    `p99 ≤ ${Number.isFinite(p99) ? `${p99 * 1000} ms` : 'beyond the last bucket'} (${total.toLocaleString('en')} events)`
  );
}

/** How the measured window began, for the summary. */
function warmNote(): string {
  return settings.warmupSeconds > 0
    ? ` after ${settings.warmupSeconds} s of warm-up`
    : ', from a cold process';
}

/** A verdict of a run below the target's size (`--smoke`) says so. */
function sized(text: string, subscribed: number): string {
  return settings.rate < TARGET.rate || subscribed < TARGET.subscribed ? `${text} (smaller run)` : text;
}

function closeAll(sockets: ClientSocket[]): void {
  for (const socket of sockets) socket.close();
}

async function stopServer(server: Spawned, name: string): Promise<void> {
  const shutdown = await stopProcess(server);
  const warnings = warningsIn(server);
  for (const warning of warnings.slice(0, 5)) console.log(`  log of ${name}: ${warning.slice(0, 300)}`);
  if (warnings.length > 5) console.log(`  log of ${name}: ${warnings.length - 5} more warnings`);
  if (shutdown.code !== 0)
    throw new Error(`${name} exited ${shutdown.code ?? shutdown.signal}:\n${server.tail()}`);
}

// --- 1. one process ----------------------------------------------------------------------------

async function measureOneProcess(
  cleanup: Cleanup,
  runner: Runner,
  env: Record<string, string>,
): Promise<Figure[]> {
  const workerCount = Number(values.workers);
  if (!Number.isInteger(workerCount) || workerCount < 0)
    throw new Error(`--workers must be a whole number (got ${values.workers})`);
  const server = await startSwitchboard(cleanup, runner, {
    ...env,
    RUN_MODE: workerCount > 0 ? 'api' : 'all',
  });
  await waitUntilReady(server, { timeoutMs: 120_000 });
  const workers = spawnWorkers(cleanup, runner, { ...env, MIGRATE_ON_START: 'false' }, workerCount);
  const workersCpu = () => workers.reduce((sum, worker) => sum + cpuSeconds(worker.pid), 0);
  const subscribedUsers = Math.ceil(settings.subscribed / SOCKETS_PER_USER);
  const idleCount = settings.sockets - settings.subscribed;
  const subscribed = await createDesk(server.baseUrl, 'Realtime Subscribed', subscribedUsers);
  const idle = await createDesk(
    server.baseUrl,
    'Realtime Idle',
    Math.max(1, Math.ceil(idleCount / SOCKETS_PER_USER)),
  );
  const tickets = await openTickets(server.baseUrl, subscribed.agentTokens[0]!);
  console.log(
    (workers.length > 0
      ? `\n1. One API process, RUN_MODE=api, pid ${server.pid}, with ${workers.length} RUN_MODE=worker process(es) ` +
        `(the relay and jobs; pid ${workers.map((worker) => worker.pid).join(', ')}): `
      : `\n1. One server process, RUN_MODE=all (API + relay), pid ${server.pid}: `) +
      `${settings.sockets.toLocaleString('en')} sockets ` +
      `(${settings.subscribed.toLocaleString('en')} agents of one organisation, ${idleCount.toLocaleString('en')} of another that gets no events), ` +
      `${SOCKETS_PER_USER} per user (REALTIME_MAX_CONNECTIONS_PER_USER raised for the benchmark)`,
  );

  // A few sockets first, so that the baseline has the socket code loaded and warm.
  closeAll((await connectMany(server.baseUrl, idle.agentTokens, 20)).sockets);
  await sleep(2_000);
  const before = readMemory(server.pid);
  const log = new DeliveryLog();
  const idleSockets = await connectMany(server.baseUrl, idle.agentTokens, idleCount);
  const live = await connectMany(server.baseUrl, subscribed.agentTokens, settings.subscribed, log.delivered);
  const sockets = [...idleSockets.sockets, ...live.sockets];
  cleanup.defer('close the sockets of phase 1', () => closeAll(sockets));
  await sleep(settings.idleSeconds * 1000);
  const after = readMemory(server.pid);
  const perSocketKb = ((after.rssMb - before.rssMb) * 1024) / settings.sockets;
  console.log(
    `  connected ${settings.sockets.toLocaleString('en')} sockets in ${((idleSockets.ms + live.ms) / 1000).toFixed(1)} s ` +
      `(50 handshakes at a time); server RSS ${formatMb(before.rssMb)} before, ${formatMb(after.rssMb)} after ${settings.idleSeconds} s idle ` +
      `(peak ${formatMb(after.peakRssMb)}): ${perSocketKb.toFixed(1)} KB per idle socket`,
  );

  await warmUp(server.baseUrl, subscribed.agentTokens[0]!, tickets, [log]);
  const lagBefore = await lagBuckets(server.baseUrl);
  const cpuBefore = {
    server: cpuSeconds(server.pid),
    workers: workersCpu(),
    bench: process.cpuUsage(),
    at: performance.now(),
  };
  const sent = await sendUpdates(server.baseUrl, subscribed.agentTokens[0]!, tickets, [log], 'one');
  const expected = (sent.sent - sent.errors) * settings.subscribed;
  await waitForDeliveries([{ log, expected }]);
  const elapsed = (performance.now() - cpuBefore.at) / 1000;
  const bench = process.cpuUsage(cpuBefore.bench);
  console.log(
    `  ${sent.sent.toLocaleString('en')} updates at ${settings.rate}/s for ${settings.seconds} s (${sent.errors} failed), ` +
      `PATCH ${describeLatencies(sent.httpMs)}`,
  );
  console.log(
    `  deliveries ${log.received.toLocaleString('en')} of ${expected.toLocaleString('en')} expected; latency ${describeLatencies(log.latencies)}`,
  );
  console.log(`  p99 of each second's updates (ms): ${log.latencies.perSecondP99()}`);
  console.log(`  ${await describeServerLag(server.baseUrl, lagBefore)}`);
  console.log(
    `  CPU over ${elapsed.toFixed(1)} s: server ${Math.round(((cpuSeconds(server.pid) - cpuBefore.server) / elapsed) * 100)} % of one core, ` +
      (workers.length > 0
        ? `workers ${Math.round(((workersCpu() - cpuBefore.workers) / elapsed) * 100)} %, `
        : '') +
      `benchmark (clients) ${Math.round(((bench.user + bench.system) / 1e6 / elapsed) * 100)} %`,
  );
  console.log(`  ${await fanoutPasses(server.baseUrl)}`);
  closeAll(sockets);
  await stopServer(server, 'the server');
  for (const worker of workers) await stopServer(worker, `worker pid ${worker.pid}`);
  const fanoutP99 = p99(log.latencies);
  return [
    {
      figure: 'concurrent authenticated sockets, one process',
      target: TARGET.sockets.toLocaleString('en'),
      measured: `${settings.sockets.toLocaleString('en')} (${perSocketKb.toFixed(1)} KB RSS per idle socket)`,
      verdict: settings.sockets >= TARGET.sockets ? verdict(true) : 'smaller run',
    },
    {
      figure: `delivery p99, ${settings.rate} updates/s to ${settings.subscribed.toLocaleString('en')} sockets`,
      target: `≤ ${TARGET.fanoutP99Ms} ms`,
      measured: `${formatLatency(fanoutP99)} (${log.received.toLocaleString('en')}/${expected.toLocaleString('en')} delivered${warmNote()})`,
      verdict: sized(
        verdict(fanoutP99 <= TARGET.fanoutP99Ms && log.received === expected),
        settings.subscribed,
      ),
    },
  ];
}

// --- 2. two API processes ------------------------------------------------------------------------

async function measureTwoProcesses(
  cleanup: Cleanup,
  runner: Runner,
  env: Record<string, string>,
): Promise<Figure[]> {
  const a = await startSwitchboard(cleanup, runner, { ...env, RUN_MODE: 'api' });
  const b = await startSwitchboard(cleanup, runner, { ...env, RUN_MODE: 'api' });
  const worker = await startSwitchboard(cleanup, runner, { ...env, RUN_MODE: 'worker' });
  await Promise.all([a, b].map((server) => waitUntilReady(server, { timeoutMs: 120_000 })));
  const desk = await createDesk(
    a.baseUrl,
    'Realtime Two Processes',
    Math.ceil(settings.crossSubscribed / SOCKETS_PER_USER),
  );
  const tickets = await openTickets(a.baseUrl, desk.agentTokens[0]!);
  console.log(
    `\n2. Two RUN_MODE=api processes (pids ${a.pid}, ${b.pid}) and a RUN_MODE=worker (pid ${worker.pid}, the relay) on one Redis: ` +
      `${settings.crossSubscribed.toLocaleString('en')} sockets, half on each API process; updates sent to the first`,
  );
  const half = Math.floor(settings.crossSubscribed / 2);
  const onA = new DeliveryLog();
  const onB = new DeliveryLog();
  const socketsA = await connectMany(a.baseUrl, desk.agentTokens, half, onA.delivered);
  const socketsB = await connectMany(
    b.baseUrl,
    desk.agentTokens,
    settings.crossSubscribed - half,
    onB.delivered,
  );
  const sockets = [...socketsA.sockets, ...socketsB.sockets];
  cleanup.defer('close the sockets of phase 2', () => closeAll(sockets));
  await warmUp(a.baseUrl, desk.agentTokens[0]!, tickets, [onA, onB]);
  const lagBefore = await Promise.all([lagBuckets(a.baseUrl), lagBuckets(b.baseUrl)]);
  const sent = await sendUpdates(a.baseUrl, desk.agentTokens[0]!, tickets, [onA, onB], 'two');
  const updates = sent.sent - sent.errors;
  await waitForDeliveries([
    { log: onA, expected: updates * half },
    { log: onB, expected: updates * (settings.crossSubscribed - half) },
  ]);
  console.log(
    `  ${sent.sent.toLocaleString('en')} updates (${sent.errors} failed), PATCH ${describeLatencies(sent.httpMs)}`,
  );
  console.log(
    `  sockets on the process that took the updates: ${onA.received.toLocaleString('en')} deliveries, ${describeLatencies(onA.latencies)}`,
  );
  console.log(
    `  sockets on the other process: ${onB.received.toLocaleString('en')} deliveries, ${describeLatencies(onB.latencies)}`,
  );
  console.log(`  p99 of each second's updates on the other process (ms): ${onB.latencies.perSecondP99()}`);
  console.log(`  process that took the updates: ${await describeServerLag(a.baseUrl, lagBefore[0])}`);
  console.log(`  the other process: ${await describeServerLag(b.baseUrl, lagBefore[1])}`);
  closeAll(sockets);
  for (const [server, name] of [
    [a, 'API process A'],
    [b, 'API process B'],
    [worker, 'the worker'],
  ] as const)
    await stopServer(server, name);
  const crossP99 = p99(onB.latencies);
  const expected = updates * (settings.crossSubscribed - half);
  return [
    {
      figure: 'cross-process delivery p99 (two API processes, Redis)',
      target: `≤ ${TARGET.crossP99Ms} ms`,
      measured: `${formatLatency(crossP99)} (${onB.received.toLocaleString('en')}/${expected.toLocaleString('en')} delivered${warmNote()})`,
      verdict: sized(
        verdict(crossP99 <= TARGET.crossP99Ms && onB.received === expected),
        settings.crossSubscribed,
      ),
    },
  ];
}

await runBenchmark('realtime benchmark', async (cleanup) => {
  const started = new Date();
  console.log(`realtime benchmark, ${started.toISOString()}; ${machineSummary()}; before: ${loadNote()}`);
  const services = await servicesReachable();
  if (!services.ok) throw new Error(`the realtime benchmark needs PostgreSQL and Redis: ${services.detail}`);
  const runner = await resolveRunner(parseSingleRunnerOption(values.runner), cleanup);
  const env: Record<string, string> = {
    ...(await createServicesEnv(cleanup)),
    LOG_LEVEL: values['log-level'],
  };
  const dataDir = makeTempDir(cleanup, 'sb-realtime-bench');
  await runToCompletion(
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
    PUBLIC_URL,
    ACCESS_TOKEN_TTL_SECONDS: '86400',
    REALTIME_MAX_CONNECTIONS_PER_USER: String(SOCKETS_PER_USER),
  };
  console.log(`server ${runner.description}; PostgreSQL + Redis (${env.REDIS_PREFIX})`);
  const figures = [
    ...(await measureOneProcess(cleanup, runner, serverEnv)),
    ...(await measureTwoProcesses(cleanup, runner, serverEnv)),
  ];
  console.log(`\nSummary (${started.toISOString().slice(0, 10)}; ${machineSummary()}):`);
  printTable(
    ['figure', 'target', 'measured', 'verdict'],
    figures.map((line) => [line.figure, line.target, line.measured, line.verdict]),
  );
  console.log(`\nafter: ${loadNote()}`);
});
