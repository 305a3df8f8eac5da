import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import { CPU_COLUMNS_NOTE, cpuCell, type Measured, measureLoop, type Target } from './measure.js';
import { Random } from './random.js';
import { formatLatency, formatPercent, printTable, spread, verdict } from './report.js';
import { callApi, callApiJson, waitForOutbox } from './services.js';
import {
  BULK_SIZE,
  type Desk,
  type DeskTeam,
  type Figure,
  TARGET,
  type TicketBenchSettings,
} from './ticket-desk.js';
import { TicketTextGenerator } from './ticket-text.js';

/** Bulk updates, and creates through the API next to raw INSERTs of the same rows. */

interface BulkResult {
  updated: number;
  failed: number;
  results: Array<{ id: string; ok: boolean; error?: { code: string; message: string } }>;
}

/** Five kinds of change, as a team lead or admin would apply them to a selection. */
const BULK_CHANGES: Array<{
  describe: string;
  /** The status the change sets, if any: tickets already in it, or closed, are not picked. */
  status?: string;
  teamOnly?: boolean;
  changes: (desk: Desk) => object;
}> = [
  {
    describe: 'status in_progress + assignee (one team)',
    status: 'in_progress',
    teamOnly: true,
    changes: (desk) => ({ status: 'in_progress', assigneeId: desk.teams[0]!.leadId }),
  },
  { describe: 'priority high + add tag', changes: () => ({ priority: 'high', addTags: ['bulk-bench'] }) },
  { describe: 'status pending_user', status: 'pending_user', changes: () => ({ status: 'pending_user' }) },
  {
    describe: 'add + remove tags, priority low',
    changes: () => ({ addTags: ['reviewed'], removeTags: ['urgent'], priority: 'low' }),
  },
  { describe: 'status resolved', status: 'resolved', changes: () => ({ status: 'resolved' }) },
];

export async function measureBulk(
  target: Target,
  db: pg.Client,
  desk: Desk,
  settings: TicketBenchSettings,
): Promise<Figure> {
  console.log(
    `\nBulk update, ${settings.bulkRounds} rounds of ${BULK_SIZE} tickets, one request at a time (admin):`,
  );
  const used: string[] = [];
  const select = async (count: number, change: (typeof BULK_CHANGES)[number]) => {
    // The newest unfinished tickets the change applies to, never the same ticket twice
    // (a resolved ticket may only be reopened, so status changes skip those too).
    const { rows } = await db.query<{ id: string }>(
      `select id from tickets
       where org_id = $1 and deleted_at is null and not (id = any($2::uuid[]))
         and status not in ('closed', $3) and ($4::uuid is null or team_id = $4)
         and ($3 = '' or status <> 'resolved')
       order by created_at desc limit $5`,
      [desk.orgId, used, change.status ?? '', change.teamOnly ? desk.teams[0]!.id : null, count],
    );
    used.push(...rows.map((row) => row.id));
    return rows.map((row) => row.id);
  };
  const bulk = async (ticketIds: string[], changes: object) => {
    const started = performance.now();
    const result = await callApiJson<BulkResult>(target.server.baseUrl, 'POST', '/api/v1/tickets/bulk', {
      token: desk.adminToken,
      body: { ticketIds, changes },
      expect: 200,
    });
    const ms = performance.now() - started;
    if (result.failed > 0)
      throw new Error(
        `bulk update: ${result.failed} of ${ticketIds.length} failed, e.g. ${JSON.stringify(result.results.find((r) => !r.ok))}`,
      );
    return ms;
  };
  await bulk(await select(20, BULK_CHANGES[1]!), { addTags: ['bulk-warmup'] });
  await waitForOutbox(db);
  const durations: number[] = [];
  const rows: string[][] = [];
  for (let round = 0; round < settings.bulkRounds; round += 1) {
    const change = BULK_CHANGES[round % BULK_CHANGES.length]!;
    const ids = await select(BULK_SIZE, change);
    const ms = await bulk(ids, change.changes(desk));
    const drained = await waitForOutbox(db);
    durations.push(ms);
    rows.push([
      String(round + 1),
      change.describe,
      String(ids.length),
      `${Math.round(ms)} ms`,
      `${Math.round(drained)} ms`,
    ]);
  }
  printTable(['round', 'changes', 'tickets', 'duration', 'outbox drained after'], rows);
  const worst = Math.max(...durations);
  const short = rows
    .filter((row) => row[2] !== String(BULK_SIZE))
    .map((row) => `round ${row[0]}: ${row[2]} tickets`);
  return {
    figure: `bulk update of ${BULK_SIZE} tickets (${settings.bulkRounds} rounds)`,
    target: `≤ ${TARGET.bulkMs.toLocaleString('en')} ms`,
    measured:
      `max ${Math.round(worst)} ms (${durations.map((ms) => Math.round(ms)).join(', ')} ms)` +
      (short.length > 0 ? `; only ${short.join(', ')}` : ''),
    verdict: verdict(worst <= TARGET.bulkMs && short.length === 0),
  };
}

/** The row a raw INSERT writes: the columns the API sets for a new ticket; the rest are defaults. */
const RAW_INSERT = `insert into tickets (id, org_id, number, title, description, priority, tags, team_id,
  requester_id, created_by_id, channel) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

/** What an agent would type: the same generator as the loaded history. */
function ticketBodies(desk: Desk, seed: number) {
  const random = new Random(seed);
  const text = new TicketTextGenerator(random);
  return (team: DeskTeam) => {
    const content = text.ticket();
    return {
      title: content.title,
      description: content.description,
      priority: random.pick(['low', 'medium', 'medium', 'high']),
      teamId: team.id,
      requesterId: random.skewed(desk.requesterIds, 1.7),
      channel: 'web',
      tags: content.tags,
    };
  };
}

export async function measureCreates(
  target: Target,
  db: pg.Client,
  desk: Desk,
  settings: TicketBenchSettings,
  apiReady: boolean,
): Promise<Figure[]> {
  const { clients: workers, duration: seconds, warmup: warmupSeconds, rounds } = settings;
  console.log(
    `\nCreate, ${workers} concurrent clients, ${rounds} round(s); raw INSERT then API in each round.\n${CPU_COLUMNS_NOTE}`,
  );
  const nextBody = ticketBodies(desk, settings.seed + 4);
  const agents = desk.teams.flatMap((team) => team.agents.map((agent) => ({ ...agent, team })));
  const connections = await Promise.all(
    Array.from({ length: workers }, async () => {
      const client = new pg.Client({ connectionString: target.databaseUrl });
      await client.connect();
      return client;
    }),
  );
  const raw: Measured[] = [];
  const api: Measured[] = [];
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const day = new Date().toISOString().slice(0, 10);
      // Raw rows take the next numbers of the day; the counter moves past them afterwards, so
      // the API's numbers continue without a collision.
      const { rows } = await db.query<{ last: number }>(
        'select coalesce(max(last_value), 0) as last from ticket_number_counters where org_id = $1 and day = $2',
        [desk.orgId, day],
      );
      let sequence = rows[0]!.last;
      const rawRun = await measureLoop(target, {
        label: `round ${round} raw INSERT`,
        workers,
        warmupSeconds,
        seconds,
        task: async (worker) => {
          const agent = agents[worker % agents.length]!;
          const body = nextBody(agent.team);
          sequence += 1;
          await connections[worker]!.query(RAW_INSERT, [
            uuidv7(),
            desk.orgId,
            `TKT-${day.replaceAll('-', '')}-${String(sequence).padStart(5, '0')}`,
            body.title,
            body.description,
            body.priority,
            body.tags,
            body.teamId,
            body.requesterId,
            agent.id,
            body.channel,
          ]);
        },
      });
      raw.push(rawRun);
      await db.query(
        `insert into ticket_number_counters (org_id, day, last_value) values ($1, $2, $3)
         on conflict (org_id, day) do update set last_value = greatest(ticket_number_counters.last_value, excluded.last_value)`,
        [desk.orgId, day, sequence],
      );
      if (!apiReady) continue;
      const apiRun = await measureLoop(target, {
        label: `round ${round} POST /api/v1/tickets`,
        workers,
        warmupSeconds,
        seconds,
        task: async (worker) => {
          const agent = agents[worker % agents.length]!;
          await callApi(target.server.baseUrl, 'POST', '/api/v1/tickets', {
            token: agent.token,
            body: nextBody(agent.team),
            expect: 201,
          });
        },
      });
      api.push(apiRun);
      console.log(`    outbox drained ${Math.round(await waitForOutbox(db))} ms after the run`);
    }
  } finally {
    for (const connection of connections) await connection.end();
  }
  printCreates(raw, api);
  return createFigures(raw, api, settings);
}

function printCreates(raw: Measured[], api: Measured[]): void {
  const row = (round: number, kind: string, m: Measured, ratio: string) => [
    String(round),
    kind,
    String(Math.round(m.summary.perSecond)),
    formatLatency(m.summary.p50),
    formatLatency(m.summary.p99),
    cpuCell(m.serverCpu, m.serverMsPerRequest),
    cpuCell(m.workerCpu, m.workerMsPerRequest),
    cpuCell(m.databaseCpu, m.databaseMsPerRequest),
    cpuCell(m.clientCpu, m.clientMsPerRequest),
    ratio,
  ];
  console.log('');
  printTable(
    [
      'round',
      'kind',
      'tickets/s',
      'p50',
      'p99',
      'server CPU',
      'worker CPU',
      'database CPU',
      'client CPU',
      'API ÷ raw',
    ],
    raw.flatMap((rawRun, index) => {
      const apiRun = api[index];
      const ratio = apiRun ? formatPercent(apiRun.summary.perSecond / rawRun.summary.perSecond) : '';
      return [
        row(index + 1, 'raw INSERT', rawRun, ''),
        ...(apiRun ? [row(index + 1, 'API', apiRun, ratio)] : []),
      ];
    }),
  );
}

function createFigures(raw: Measured[], api: Measured[], settings: TicketBenchSettings): Figure[] {
  const rawRate = spread(raw.map((m) => m.summary.perSecond));
  const rawText = `raw INSERT ${Math.round(rawRate.median).toLocaleString('en')}/s (${settings.clients} connections)`;
  if (api.length === 0)
    return [
      {
        figure: `create, ${settings.clients} clients`,
        target: `≥ ${TARGET.createPerSecond.toLocaleString('en')} tickets/s`,
        measured: `API not measured; ${rawText}`,
        verdict: '—',
      },
    ];
  const apiRate = spread(api.map((m) => m.summary.perSecond));
  const ratio = spread(api.map((m, index) => m.summary.perSecond / raw[index]!.summary.perSecond));
  return [
    {
      figure: `create via API, ${settings.clients} clients (median of ${api.length})`,
      target: `≥ ${TARGET.createPerSecond.toLocaleString('en')} tickets/s`,
      measured: `${Math.round(apiRate.median).toLocaleString('en')}/s (${Math.round(apiRate.min)}–${Math.round(apiRate.max)})`,
      verdict: verdict(apiRate.median >= TARGET.createPerSecond),
    },
    {
      figure: 'create via API ÷ raw single-row INSERT (same run)',
      target: '(reported)',
      measured: `${formatPercent(ratio.median)}; ${rawText}`,
      verdict: '—',
    },
  ];
}
