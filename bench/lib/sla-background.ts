import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { Random } from './random.js';

/**
 * The SLA benchmark's background: open tickets with one running resolution timer each,
 * written straight into PostgreSQL as the SLA module would have stored them (creating
 * 100,000 tickets through the API would take the whole run), and the SQL that makes some
 * of them overdue for the sweep.
 *
 * Each timer is consistent with the organisation's real policy (`POLICY_TARGETS`) and with
 * itself: started `due - target` ago (which is also the ticket's creation), nothing
 * consumed, never paused, `at_risk_at = start + share × target`, `due_at = start + target`,
 * `next_fire_at = at_risk_at`. Due times are spread evenly over 1–30 days ahead; the
 * priority (hence the target) is the one whose target keeps the at-risk step at least six
 * hours ahead, so nothing in the background fires while the benchmark runs.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
const BATCH = 5_000;

/** Resolution targets per priority (minutes) and the due times (days ahead) given to each. */
export const BACKGROUND_TARGETS = [
  { priority: 'high', minutes: 3 * 1_440, fromDays: 1, toDays: 3 },
  { priority: 'medium', minutes: 11 * 1_440, fromDays: 3, toDays: 11 },
  { priority: 'low', minutes: 30 * 1_440, fromDays: 11, toDays: 30 },
] as const;

/**
 * The benchmark's one SLA policy (targets in minutes, as the API takes them): critical
 * tickets get a one-minute first response and nothing else, the background priorities a
 * resolution target only.
 */
export const POLICY_TARGETS = {
  critical: { firstResponse: 1 },
  ...Object.fromEntries(
    BACKGROUND_TARGETS.map((target) => [target.priority, { resolution: target.minutes }]),
  ),
};

export interface BackgroundOptions {
  orgId: string;
  policyId: string;
  /** The policy's at-risk share as stored (`sla_policies.at_risk_share`). */
  atRiskShare: number;
  teamId: string;
  agentIds: readonly string[];
  requesterIds: readonly string[];
  count: number;
  seed: number;
  /** The instant due times count from (ms). */
  now: number;
}

export interface BackgroundResult {
  tickets: number;
  byPriority: Record<string, number>;
  insertMs: number;
  vacuumMs: number;
  earliestNextFire: Date;
}

interface Row {
  ticketId: string;
  timerId: string;
  priority: string;
  targetSeconds: number;
  startedAt: number;
  atRiskAt: number;
  dueAt: number;
  assigneeId: string;
  requesterId: string;
}

/** Inserts the background tickets and their timers, then VACUUM (ANALYZE) of both tables. */
export async function loadBackground(
  client: pg.Client,
  options: BackgroundOptions,
): Promise<BackgroundResult> {
  const random = new Random(options.seed);
  const rows: Row[] = [];
  const byPriority: Record<string, number> = {};
  for (let index = 0; index < options.count; index += 1) {
    const dueAt = options.now + Math.round((1 + random.next() * 29) * DAY_MS);
    const daysAhead = (dueAt - options.now) / DAY_MS;
    const target =
      BACKGROUND_TARGETS.find((candidate) => daysAhead <= candidate.toDays) ?? BACKGROUND_TARGETS.at(-1)!;
    const targetSeconds = target.minutes * 60;
    const startedAt = dueAt - targetSeconds * 1000;
    rows.push({
      ticketId: random.uuid7(startedAt),
      timerId: random.uuid7(startedAt),
      priority: target.priority,
      targetSeconds,
      startedAt,
      // As timers.ts computes it: threshold = round(target ms × share), counted from the start.
      atRiskAt: startedAt + Math.round(targetSeconds * 1000 * options.atRiskShare),
      dueAt,
      assigneeId: options.agentIds[index % options.agentIds.length]!,
      requesterId: random.pick(options.requesterIds),
    });
    byPriority[target.priority] = (byPriority[target.priority] ?? 0) + 1;
  }
  // Numbers per UTC day of creation, in creation order, like TicketNumbers hands them out.
  rows.sort((left, right) => left.startedAt - right.startedAt);
  const lastOfDay = new Map<string, number>();
  const numbers = rows.map((row) => {
    const day = new Date(row.startedAt).toISOString().slice(0, 10);
    const sequence = (lastOfDay.get(day) ?? 0) + 1;
    lastOfDay.set(day, sequence);
    return `TKT-${day.replaceAll('-', '')}-${String(sequence).padStart(5, '0')}`;
  });

  const started = performance.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  for (let from = 0; from < rows.length; from += BATCH) {
    const batch = rows.slice(from, from + BATCH);
    await client.query('begin');
    await client.query(
      `insert into tickets (id, org_id, number, title, description, status, priority, team_id, assignee_id,
                            requester_id, created_by_id, channel, created_at, updated_at, last_activity_at)
       select id, $1, number, title, 'Background ticket of the SLA benchmark', 'open', priority, $2, assignee_id,
              requester_id, requester_id, 'web', created_at, created_at, created_at
         from unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::timestamptz[])
           as t(id, number, title, priority, assignee_id, requester_id, created_at)`,
      [
        options.orgId,
        options.teamId,
        batch.map((row) => row.ticketId),
        batch.map((_, index) => numbers[from + index]!),
        batch.map(
          (_, index) => `Printer queue stuck on floor ${(from + index) % 40} (${numbers[from + index]})`,
        ),
        batch.map((row) => row.priority),
        batch.map((row) => row.assigneeId),
        batch.map((row) => row.requesterId),
        batch.map((row) => iso(row.startedAt)),
      ],
    );
    await client.query(
      `insert into sla_timers (id, org_id, ticket_id, policy_id, kind, cycle, target_seconds, calendar_id,
                               at_risk_share, state, started_at, segment_started_at, consumed_ms, at_risk_at,
                               due_at, next_fire_at, created_at, updated_at)
       select id, $1, ticket_id, $2, 'resolution', 1, target_seconds, null,
              $3, 'running', started_at, started_at, 0, at_risk_at,
              due_at, at_risk_at, started_at, started_at
         from unnest($4::uuid[], $5::uuid[], $6::int[], $7::timestamptz[], $8::timestamptz[], $9::timestamptz[])
           as t(id, ticket_id, target_seconds, started_at, at_risk_at, due_at)`,
      [
        options.orgId,
        options.policyId,
        options.atRiskShare,
        batch.map((row) => row.timerId),
        batch.map((row) => row.ticketId),
        batch.map((row) => row.targetSeconds),
        batch.map((row) => iso(row.startedAt)),
        batch.map((row) => iso(row.atRiskAt)),
        batch.map((row) => iso(row.dueAt)),
      ],
    );
    await client.query('commit');
  }
  // The API's numbers continue after the loaded ones (today's included).
  await client.query(
    `insert into ticket_number_counters (org_id, day, last_value)
     select $1, day, last_value from unnest($2::date[], $3::int[]) as t(day, last_value)
     on conflict (org_id, day) do update
       set last_value = greatest(ticket_number_counters.last_value, excluded.last_value)`,
    [options.orgId, [...lastOfDay.keys()], [...lastOfDay.values()]],
  );
  const insertMs = performance.now() - started;
  // This machine's PostgreSQL runs without autovacuum: statistics and the visibility map by hand.
  const vacuumStarted = performance.now();
  await client.query('vacuum (analyze) tickets, sla_timers');
  const vacuumMs = performance.now() - vacuumStarted;
  const earliest = rows.reduce((soonest, row) => Math.min(soonest, row.atRiskAt), Number.POSITIVE_INFINITY);
  return { tickets: rows.length, byPriority, insertMs, vacuumMs, earliestNextFire: new Date(earliest) };
}

/**
 * Makes `count` background timers overdue, consistently: each is moved back so that it
 * started `target + overdue` ago (overdue 1–30 min), so both its at-risk step and its
 * breach are due; `next_fire_at` is the at-risk instant, as the module would have left it
 * had nothing fired. Returns the timers' ids.
 */
export async function makeOverdue(
  client: pg.Client,
  options: { orgId: string; count: number; seed: number; now: number },
): Promise<string[]> {
  const random = new Random(options.seed);
  const { rows } = await client.query<{ id: string; target_seconds: number; at_risk_share: number }>(
    `select id, target_seconds, at_risk_share from sla_timers
      where org_id = $1 and kind = 'resolution' and completed_at is null and next_fire_at > $2
      order by md5(id::text) limit $3`,
    [options.orgId, new Date(options.now), options.count],
  );
  if (rows.length < options.count)
    throw new Error(`only ${rows.length} background timers can be made overdue (wanted ${options.count})`);
  const moved = rows.map((row) => {
    const overdueMs = MINUTE_MS + Math.round(random.next() * 29 * MINUTE_MS);
    const startedAt = options.now - row.target_seconds * 1000 - overdueMs;
    return {
      id: row.id,
      startedAt: new Date(startedAt).toISOString(),
      atRiskAt: new Date(startedAt + Math.round(row.target_seconds * 1000 * row.at_risk_share)).toISOString(),
      dueAt: new Date(startedAt + row.target_seconds * 1000).toISOString(),
    };
  });
  await client.query(
    `update sla_timers t
        set started_at = m.started_at, segment_started_at = m.started_at, at_risk_at = m.at_risk_at,
            due_at = m.due_at, next_fire_at = m.at_risk_at, state = 'running', updated_at = now()
       from unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::timestamptz[])
         as m(id, started_at, at_risk_at, due_at)
      where t.id = m.id`,
    [
      moved.map((row) => row.id),
      moved.map((row) => row.startedAt),
      moved.map((row) => row.atRiskAt),
      moved.map((row) => row.dueAt),
    ],
  );
  return moved.map((row) => row.id);
}
