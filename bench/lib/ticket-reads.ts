import { CPU_COLUMNS_NOTE, cpuCell, type Measured, measureLoop, type Target } from './measure.js';
import { formatLatency, printTable, verdict } from './report.js';
import { callApi, callApiJson } from './services.js';
import type { LoadResult } from './ticket-data.js';
import { type Desk, type Figure, TARGET, type TicketBenchSettings, tokenForTeam } from './ticket-desk.js';
import { LONG_CONVERSATION } from './ticket-plan.js';
import { SEARCH_QUERIES } from './ticket-queries.js';

/** Read latency: the queue list, text search and a ticket with its conversation, as agents. */

const listPath = (teamId: string) => `/api/v1/tickets?status=open&team=${teamId}&limit=50`;
const searchPath = (q: string) => `/api/v1/tickets?q=${encodeURIComponent(q)}&limit=50`;

interface TicketList {
  data: Array<{ id: string; status: string; createdAt: string; team?: { id: string } | null }>;
}

/** The responses the timed runs rely on, checked once before timing. */
export async function checkReadResponses(baseUrl: string, desk: Desk, load: LoadResult): Promise<void> {
  for (const team of desk.teams) {
    const list = await callApiJson<TicketList>(baseUrl, 'GET', listPath(team.id), {
      token: team.agents[0]!.token,
      expect: 200,
    });
    const newestFirst = list.data.every(
      (row, index) => index === 0 || row.createdAt <= list.data[index - 1]!.createdAt,
    );
    const matching = list.data.every(
      (row) => row.status === 'open' && (row.team === undefined || row.team?.id === team.id),
    );
    if (list.data.length !== 50 || !newestFirst || !matching)
      throw new Error(
        `list for ${team.name}: ${list.data.length} rows, newest first ${newestFirst}, all open and of the team ${matching}`,
      );
  }
  const sample = load.longConversations[0];
  if (!sample) return;
  const detail = await callApiJson<{ messages: unknown[] }>(baseUrl, 'GET', `/api/v1/tickets/${sample.id}`, {
    token: tokenForTeam(desk, sample.teamId, 0),
    expect: 200,
  });
  if (detail.messages.length !== LONG_CONVERSATION)
    throw new Error(
      `ticket ${sample.id} came back with ${detail.messages.length} messages, not ${LONG_CONVERSATION}`,
    );
}

export async function measureReads(
  target: Target,
  desk: Desk,
  load: LoadResult,
  settings: TicketBenchSettings,
): Promise<Figure[]> {
  const { latencyClients: workers, latencyDuration: seconds, warmup: warmupSeconds } = settings;
  console.log(
    `\nRead latency, ${workers} concurrent clients (closed loop), agents' tokens.\n${CPU_COLUMNS_NOTE}`,
  );
  const get = async (path: string, token: string) => {
    await callApi(target.server.baseUrl, 'GET', path, { token, expect: 200 });
  };
  const list = await measureLoop(target, {
    label: 'list 50 newest open of a team',
    workers,
    warmupSeconds,
    seconds,
    task: (worker, sequence) => {
      const team = desk.teams[sequence % desk.teams.length]!;
      return get(listPath(team.id), team.agents[worker % team.agents.length]!.token);
    },
  });
  const search = await measureLoop(target, {
    label: 'text search',
    workers,
    warmupSeconds,
    seconds,
    task: (worker, sequence) =>
      get(
        searchPath(SEARCH_QUERIES[sequence % SEARCH_QUERIES.length]!.q),
        tokenForTeam(desk, desk.teams[worker % desk.teams.length]!.id, sequence),
      ),
  });
  const conversations = load.longConversations;
  const detail = await measureLoop(target, {
    label: `get ticket with ${LONG_CONVERSATION} messages`,
    workers,
    warmupSeconds,
    seconds,
    task: (_, sequence) => {
      const ticket = conversations[sequence % conversations.length]!;
      return get(`/api/v1/tickets/${ticket.id}`, tokenForTeam(desk, ticket.teamId, sequence));
    },
  });
  console.log('');
  printTable(
    [
      'endpoint',
      'clients',
      'requests',
      'req/s',
      'p50',
      'p95',
      'p99',
      'max',
      'server CPU',
      'worker CPU',
      'database CPU',
      'client CPU',
    ],
    [list, search, detail].map((m) => [
      m.label,
      String(m.run.workers),
      String(m.summary.count),
      String(Math.round(m.summary.perSecond)),
      formatLatency(m.summary.p50),
      formatLatency(m.summary.p95),
      formatLatency(m.summary.p99),
      formatLatency(m.summary.max),
      cpuCell(m.serverCpu, m.serverMsPerRequest),
      cpuCell(m.workerCpu, m.workerMsPerRequest),
      cpuCell(m.databaseCpu, m.databaseMsPerRequest),
      cpuCell(m.clientCpu, m.clientMsPerRequest),
    ]),
  );
  const scale = `${settings.tickets.toLocaleString('en')} tickets, ${workers} clients`;
  return [
    figure(`list 50 newest, status=open + team (${scale})`, list, 'p99', TARGET.listP99),
    figure(
      `text search, ${SEARCH_QUERIES.length} queries rotated (${scale})`,
      search,
      'p95',
      TARGET.searchP95,
    ),
    figure(`get ticket with ${LONG_CONVERSATION} messages (${scale})`, detail, 'p99', TARGET.getP99),
  ];
}

function figure(name: string, measured: Measured, key: 'p95' | 'p99', targetMs: number): Figure {
  const { summary } = measured;
  const others = (['p50', 'p95', 'p99'] as const).filter((other) => other !== key);
  return {
    figure: name,
    target: `${key} ≤ ${targetMs} ms`,
    measured:
      `${key} ${formatLatency(summary[key])} ` +
      `(${others.map((other) => `${other} ${formatLatency(summary[other])}`).join(', ')}; ${summary.count} requests)`,
    verdict: verdict(summary[key] <= targetMs),
  };
}
