import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Random } from './random.js';
import { dropIndexes, type IndexBuild, rebuildIndexes } from './ticket-indexes.js';
import {
  CLOSED,
  DAY_MS,
  LONG_CONVERSATION,
  NEW,
  type Plan,
  type PlanOptions,
  planTickets,
  RESOLVED,
  STATUSES,
} from './ticket-plan.js';
import { type MessageKind, TicketTextGenerator } from './ticket-text.js';
import { FIRST_NAMES, LAST_NAMES, type TopicName } from './ticket-vocabulary.js';

/**
 * Bulk loading of a helpdesk's history straight into PostgreSQL: requesters, tickets over
 * the last N days and their messages, shaped like the API would have written them (UUIDv7
 * ids matching created_at, TKT-YYYYMMDD-NNNNN numbers per UTC day with matching
 * ticket_number_counters rows, status by age, generated search vectors).
 *
 * Speed comes from the usual bulk-load moves, all undone before the function returns: the
 * secondary indexes of tickets and ticket_messages are dropped and rebuilt from their own
 * definitions afterwards (checked equal), foreign-key triggers are skipped on the load
 * connections (session_replication_role = replica; the generated references are valid by
 * construction), and two connections insert in parallel while this process generates.
 */

const PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
const PRIORITY_WEIGHTS = [0.25, 0.5, 0.2, 0.05];
const CHANNELS = ['web', 'email', 'api', 'slack', 'teams'] as const;
const CHANNEL_WEIGHTS = [0.5, 0.35, 0.05, 0.07, 0.03];

const MINUTE_MS = 60_000;
const TICKET_BATCH = 5_000;
const MESSAGE_BATCH = 10_000;

export interface LoadTeam {
  id: string;
  topic: TopicName;
  agentIds: readonly string[];
}

export interface LoadOptions extends PlanOptions {
  databaseUrl: string;
  orgId: string;
  teams: readonly LoadTeam[];
  requesterIds: readonly string[];
  log: (line: string) => void;
}

export interface Phase {
  name: string;
  ms: number;
}

export interface LoadResult {
  tickets: number;
  messages: number;
  internalNotes: number;
  /** Tickets with exactly LONG_CONVERSATION messages, and their team. */
  longConversations: Array<{ id: string; teamId: string | null }>;
  statusCounts: Record<string, number>;
  firstDay: string;
  lastDay: string;
  phases: Phase[];
  indexBuilds: IndexBuild[];
  totalMs: number;
}

/** Inserts requesters the way the admin API would store them (no password: they never sign in here). */
export async function insertRequesters(client: pg.Client, orgId: string, count: number, seed: number) {
  const random = new Random(seed);
  const createdAt = Date.now() - 800 * DAY_MS;
  const rows = Array.from({ length: count }, (_, index) => {
    const first = random.pick(FIRST_NAMES);
    const last = random.pick(LAST_NAMES);
    return {
      id: random.uuid7(createdAt + index * MINUTE_MS),
      email: `${first}.${last}.${index + 1}@acme.example`,
      name: `${first.charAt(0).toUpperCase()}${first.slice(1)} ${last.charAt(0).toUpperCase()}${last.slice(1)}`,
      created_ms: createdAt + index * MINUTE_MS,
    };
  });
  await client.query(
    `insert into users (id, org_id, email, name, role, created_at, updated_at)
     select r.id, $2::uuid, r.email, r.name, 'requester', to_timestamp(r.created_ms / 1000.0), to_timestamp(r.created_ms / 1000.0)
     from json_to_recordset($1::json) as r(id uuid, email text, name text, created_ms bigint)`,
    [JSON.stringify(rows), orgId],
  );
  return rows.map((row) => row.id);
}

/** Loads tickets and messages, rebuilds indexes, vacuums and analyses; see the file comment. */
export async function loadTickets(options: LoadOptions): Promise<LoadResult> {
  const started = performance.now();
  const phases: Phase[] = [];
  const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const phaseStarted = performance.now();
    const value = await work();
    phases.push({ name, ms: performance.now() - phaseStarted });
    options.log(`  ${name}: ${((performance.now() - phaseStarted) / 1000).toFixed(1)} s`);
    return value;
  };
  const connections = [await connect(options.databaseUrl), await connect(options.databaseUrl)];
  try {
    const plan = planTickets(options);
    const indexes = await timed('drop secondary indexes', () => dropIndexes(connections[0]!));
    const generated = await timed('generate + insert tickets and messages', () =>
      insertHistory(connections, options, plan),
    );
    await timed('ticket_number_counters', () => insertCounters(connections[0]!, options.orgId, plan));
    const indexBuilds = await timed('rebuild indexes (2 connections)', () =>
      rebuildIndexes(connections, indexes, options.log),
    );
    await timed('vacuum (analyze)', () =>
      Promise.all([
        connections[0]!.query('vacuum (analyze) ticket_messages'),
        connections[1]!.query('vacuum (analyze) tickets, users, ticket_number_counters'),
      ]),
    );
    await timed('checkpoint', () => connections[0]!.query('checkpoint'));
    return {
      ...generated,
      firstDay: plan.days[0]!.label,
      lastDay: plan.days.at(-1)!.label,
      phases,
      indexBuilds,
      totalMs: performance.now() - started,
    };
  } finally {
    for (const connection of connections) await connection.end();
  }
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query("set synchronous_commit = off; set maintenance_work_mem = '1GB'");
  // Skips the foreign-key triggers (superuser only); every generated reference is valid.
  await client.query('set session_replication_role = replica');
  return client;
}

// --- generation and insertion -----------------------------------------------------------------

const TICKET_INSERT = `
  insert into tickets (id, org_id, number, title, description, status, priority, tags, team_id, assignee_id,
    requester_id, created_by_id, channel, first_response_at, resolved_at, closed_at, version, last_activity_at,
    created_at, updated_at)
  select r.id, $2::uuid, r.number, r.title, r.description, r.status, r.priority, r.tags, r.team_id, r.assignee_id,
    r.requester_id, r.created_by_id, r.channel, to_timestamp(r.first_response_ms / 1000.0),
    to_timestamp(r.resolved_ms / 1000.0), to_timestamp(r.closed_ms / 1000.0), r.version,
    to_timestamp(r.activity_ms / 1000.0), to_timestamp(r.created_ms / 1000.0), to_timestamp(r.updated_ms / 1000.0)
  from json_to_recordset($1::json) as r(id uuid, number text, title text, description text, status text,
    priority text, tags text[], team_id uuid, assignee_id uuid, requester_id uuid, created_by_id uuid, channel text,
    first_response_ms bigint, resolved_ms bigint, closed_ms bigint, version int, activity_ms bigint,
    created_ms bigint, updated_ms bigint)`;

const MESSAGE_INSERT = `
  insert into ticket_messages (id, org_id, ticket_id, author_id, is_internal, by_agent, body, channel, created_at)
  select r.id, $2::uuid, r.ticket_id, r.author_id, r.is_internal, r.by_agent, r.body, r.channel,
    to_timestamp(r.created_ms / 1000.0)
  from json_to_recordset($1::json) as r(id uuid, ticket_id uuid, author_id uuid, is_internal boolean,
    by_agent boolean, body text, channel text, created_ms bigint)`;

interface MessageRow {
  id: string;
  ticket_id: string;
  author_id: string;
  is_internal: boolean;
  by_agent: boolean;
  body: string;
  channel: string;
  created_ms: number;
}

/**
 * Generates tickets in creation order and their messages, which are held back by day and
 * written in time order too: a long conversation's messages land on different pages, as
 * they would in a real table, instead of side by side.
 */
async function insertHistory(connections: pg.Client[], options: LoadOptions, plan: Plan) {
  const random = new Random(options.seed + 1);
  const text = new TicketTextGenerator(random);
  const ticketWriter = new BatchWriter(connections[0]!, TICKET_INSERT, options.orgId);
  const messageWriter = new BatchWriter(connections[1]!, MESSAGE_INSERT, options.orgId);
  const teamOfTopic = new Map(options.teams.map((team) => [team.topic, team]));
  const allAgents = options.teams.flatMap((team) => team.agentIds);
  const now = Date.now();
  const pending = new Map<number, MessageRow[]>();
  const statusCounts: Record<string, number> = {};
  const longConversations: LoadResult['longConversations'] = [];
  let tickets: unknown[] = [];
  let messageCount = 0;
  let internalNotes = 0;
  let lastReport = performance.now();

  const flushMessagesBefore = async (dayIndex: number) => {
    for (const key of [...pending.keys()].sort((a, b) => a - b)) {
      if (key >= dayIndex) break;
      const rows = pending.get(key)!.sort((a, b) => a.created_ms - b.created_ms);
      pending.delete(key);
      for (let start = 0; start < rows.length; start += MESSAGE_BATCH)
        await messageWriter.write(rows.slice(start, start + MESSAGE_BATCH));
    }
  };

  for (const [dayIndex, day] of plan.days.entries()) {
    await flushMessagesBefore(dayIndex);
    for (let k = 0; k < day.count; k += 1) {
      const index = day.first + k;
      const createdMs = plan.createdAt[index]!;
      const status = plan.status[index]!;
      const content = text.ticket();
      const teamDraw = random.next();
      const team =
        teamDraw < 0.85
          ? teamOfTopic.get(content.topic)!
          : teamDraw < 0.95
            ? random.pick(options.teams)
            : undefined;
      const agents = team?.agentIds ?? allAgents;
      const assigneeId = status === NEW || (!team && random.chance(0.5)) ? null : random.skewed(agents, 1.5);
      const requesterId = random.skewed(options.requesterIds, 1.7);
      const channel = CHANNELS[random.weighted(CHANNEL_WEIGHTS)]!;
      const done = status === RESOLVED || status === CLOSED;
      const ageMs = now - createdMs - MINUTE_MS;
      const spanMs = Math.floor(
        Math.min(ageMs, 10 * MINUTE_MS + random.exponential(done ? 2 * DAY_MS : 4 * DAY_MS)),
      );
      const count = plan.messages[index]!;
      const id = random.uuid7(createdMs);
      let firstResponseMs: number | null = null;
      let activityMs = createdMs;
      let updatedMs = createdMs;
      for (let m = 0; m < count; m += 1) {
        const messageMs = createdMs + Math.floor((spanMs * (m + random.next())) / count);
        // Untriaged tickets have only the requester's follow-ups; otherwise agent and requester take turns.
        const byAgent = status !== NEW && m % 2 === 0;
        const kind: MessageKind = byAgent ? (random.chance(0.12) ? 'internal' : 'agent') : 'requester';
        const authorId = byAgent ? (assigneeId ?? random.pick(agents)) : requesterId;
        if (kind === 'agent' && firstResponseMs === null) firstResponseMs = messageMs;
        if (kind !== 'internal') activityMs = messageMs;
        else internalNotes += 1;
        updatedMs = messageMs;
        const bucket = Math.floor((messageMs - plan.days[0]!.start) / DAY_MS);
        const rows = pending.get(bucket) ?? [];
        if (rows.length === 0) pending.set(bucket, rows);
        rows.push({
          id: random.uuid7(messageMs),
          ticket_id: id,
          author_id: authorId,
          is_internal: kind === 'internal',
          by_agent: byAgent,
          body: text.message(kind),
          channel: byAgent ? 'web' : channel === 'email' ? 'email' : 'web',
          created_ms: messageMs,
        });
      }
      messageCount += count;
      const resolvedMs = done
        ? Math.min(now - MINUTE_MS, createdMs + spanMs + random.int(4 * 60) * MINUTE_MS)
        : null;
      const closedMs =
        status === CLOSED ? Math.min(now - MINUTE_MS, resolvedMs! + (1 + random.int(7)) * DAY_MS) : null;
      activityMs = Math.max(activityMs, resolvedMs ?? 0, closedMs ?? 0);
      updatedMs = Math.max(updatedMs, activityMs);
      if (count === LONG_CONVERSATION) longConversations.push({ id, teamId: team?.id ?? null });
      const statusName = STATUSES[status]!;
      statusCounts[statusName] = (statusCounts[statusName] ?? 0) + 1;
      tickets.push({
        id,
        number: `TKT-${day.label.replaceAll('-', '')}-${String(k + 1).padStart(5, '0')}`,
        title: content.title,
        description: content.description,
        status: statusName,
        priority: PRIORITIES[random.weighted(PRIORITY_WEIGHTS)],
        tags: content.tags,
        team_id: team?.id ?? null,
        assignee_id: assigneeId,
        requester_id: requesterId,
        created_by_id: channel === 'api' || random.chance(0.1) ? random.pick(agents) : requesterId,
        channel,
        first_response_ms: firstResponseMs,
        resolved_ms: resolvedMs,
        closed_ms: closedMs,
        version: 1 + count + (status === NEW ? 0 : 1) + (done ? 1 : 0) + (status === CLOSED ? 1 : 0),
        activity_ms: activityMs,
        created_ms: createdMs,
        updated_ms: updatedMs,
      });
      if (tickets.length >= TICKET_BATCH) {
        await ticketWriter.write(tickets);
        tickets = [];
      }
    }
    if (performance.now() - lastReport > 15_000) {
      lastReport = performance.now();
      options.log(
        `    … ${day.label}: ${(day.first + day.count).toLocaleString('en')} tickets, ${messageCount.toLocaleString('en')} messages generated`,
      );
    }
  }
  if (tickets.length > 0) await ticketWriter.write(tickets);
  await flushMessagesBefore(Number.POSITIVE_INFINITY);
  await Promise.all([ticketWriter.drain(), messageWriter.drain()]);
  return {
    tickets: options.tickets,
    messages: messageCount,
    internalNotes,
    longConversations,
    statusCounts,
  };
}

/** Sends batches through one connection, at most two queued, so generation runs ahead a little. */
class BatchWriter {
  private readonly inFlight: Array<Promise<unknown>> = [];

  constructor(
    private readonly client: pg.Client,
    private readonly statement: string,
    private readonly orgId: string,
  ) {}

  async write(rows: unknown[]): Promise<void> {
    const query = this.client.query(this.statement, [JSON.stringify(rows), this.orgId]);
    // Failures surface through drain or the next wait; never left unhandled meanwhile.
    query.catch(() => undefined);
    this.inFlight.push(query);
    if (this.inFlight.length >= 2) await this.inFlight.shift();
  }

  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }
}

async function insertCounters(client: pg.Client, orgId: string, plan: Plan): Promise<void> {
  const rows = plan.days
    .filter((day) => day.count > 0)
    .map((day) => ({ day: day.label, last_value: day.count }));
  await client.query(
    `insert into ticket_number_counters (org_id, day, last_value)
     select $2::uuid, r.day, r.last_value from json_to_recordset($1::json) as r(day date, last_value int)`,
    [JSON.stringify(rows), orgId],
  );
}
