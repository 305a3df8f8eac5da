import type pg from 'pg';
import {
  indexedMonths,
  type MonthRange,
  searchedMonths,
} from '../../src/server/modules/tickets/search-months.js';

/**
 * The SQL behind the measured ticket endpoints, for EXPLAIN on the loaded data, and the
 * search queries the benchmark rotates through. The statements mirror what
 * src/server/modules/tickets (tickets.list.ts, tickets.search.ts, tickets.repository.ts,
 * tickets.policy.ts) builds for an agent; when those change, these go stale, so the plans are
 * a diagnosis aid, not a measurement. The statements the API really ran show up, shortened, in
 * each run's pg_stat_activity sample (pg-activity.ts).
 */

export interface SearchQuery {
  q: string;
  kind: string;
}

/** Realistic 1–3 word queries in web-search syntax, from very common to rare, plus a typo. */
export const SEARCH_QUERIES: readonly SearchQuery[] = [
  { q: 'outlook', kind: 'one common word' },
  { q: 'password reset', kind: 'two common words' },
  { q: 'vpn disconnecting', kind: 'two words' },
  { q: 'docking station monitor', kind: 'three words' },
  { q: '"blue screen"', kind: 'phrase' },
  { q: 'printer jams', kind: 'two words' },
  { q: 'salesforce export', kind: 'two words, rare together' },
  { q: 'bitlocker recovery key', kind: 'three words' },
  { q: '0x80070005', kind: 'error code' },
  { q: 'lt-02718', kind: 'host name, rare' },
  { q: 'berlin wifi', kind: 'place + topic' },
  { q: 'outlok crashing', kind: 'typo' },
];

/** The queries the EXPLAIN output uses: the common, the rare and the misspelt case. */
export const COMMON_QUERY = SEARCH_QUERIES[0]!;
export const RARE_QUERY = SEARCH_QUERIES[9]!;
export const TYPO_QUERY = SEARCH_QUERIES[11]!;

const TICKET_COLUMNS = `id, org_id, number, title, description, status, priority, priority_rank, category_id, tags,
  team_id, assignee_id, requester_id, created_by_id, channel, custom_fields, first_response_at, resolved_at,
  closed_at, merged_into_id, version, last_activity_at, created_at, updated_at, deleted_at`;

const MESSAGE_COLUMNS = `id, org_id, ticket_id, author_id, is_internal, by_agent, body, channel, mentions,
  split_to_ticket_id, created_at`;

/** tickets.policy.ts visibleCondition for an agent ($team: the agent's one team, $user: the agent). */
const AGENT_VISIBLE = `(team_id is null or team_id in ($team::uuid) or requester_id = $user::uuid
  or assignee_id = $user::uuid or exists (select 1 from ticket_followers f
    where f.ticket_id = tickets.id and f.user_id = $user::uuid))`;

const TEXT_QUERY = "websearch_to_tsquery('english', $q)";

/** tickets.list.ts for `?status=open&team=…`, as an agent: newest first, ordered like the index. */
export const LIST_SQL = `select ${TICKET_COLUMNS}, created_at::text as sort_key from tickets
  where org_id = $org::uuid and deleted_at is null and status in ('open') and team_id = $team::uuid
    and ${AGENT_VISIBLE}
  order by created_at desc nulls last, id desc nulls last limit 51`;

/** Scope of a search for an agent: organisation, live tickets, visibility (no other filter). */
const SEARCH_SCOPE = `org_id = $org::uuid and deleted_at is null and ${AGENT_VISIBLE}`;

/** tickets.search.ts isFuzzyCandidate: the typo fallback runs for 1–2 plain words. */
const isFuzzyCandidate = (q: string) => q.split(/\s+/).length <= 2 && !/"|(^|\s)-\S/.test(q);

/**
 * tickets.search.ts searchHitQuery inside the page query of tickets.list.ts, for an agent and
 * no other filter: up to 200 ticket matches as candidates, taken from the `months` (from
 * `searchMonthsOf`, newest first, each through its own index) and then from every other
 * ticket, and up to 200 message matches only when the tickets' own text matched fewer than
 * 200, ranked. With `typoFallback` (one or two plain words), the trigram fallback on titles
 * when fewer than 5 exact hits survive: the API runs that statement only after the exact one
 * found fewer than 5, and then needs pg_trgm.word_similarity_threshold = 0.3 (SEARCH_SETTINGS).
 */
export function searchSql(q: string, months: readonly MonthRange[], typoFallback: boolean): string {
  const fuzzy = typoFallback && isFuzzyCandidate(q);
  const fuzzyCtes = `,
  exact_count as (select count(*) as hits from (select 1 from tickets join best_hit on best_hit.hit_id = tickets.id
    where ${SEARCH_SCOPE} limit 5) as surviving),
  fuzzy_hit as (select tickets.id as hit_id, (0.99 * word_similarity($q::text, tickets.title))::real as hit_rank,
      'fuzzy' as hit_matched_in
    from (select * from tickets where org_id = $org::uuid and $q::text <% title limit 100) as tickets
    where (select hits from exact_count) < 5 and ${SEARCH_SCOPE}
    order by hit_rank desc, hit_id desc limit 50)`;
  return `with search_hit as (
  with ticket_hit as materialized (${ticketHitSql(months)}),
  exact_hit as materialized (
    (select ticket_hit.id as hit_id,
        (case when ticket_hit.in_title then 4 else 2 end + ticket_hit.rank)::real as hit_rank,
        case when ticket_hit.in_title then 'title' else 'description' end as hit_matched_in
      from ticket_hit)
    union all
    (select message_hit.ticket_id, (1 + max(message_hit.rank))::real,
        (array_agg(case when message_hit.is_internal then 'note' else 'message' end order by message_hit.rank desc))[1]
      from (select ticket_id, is_internal, ts_rank_cd(search_vector, ${TEXT_QUERY}, 32) as rank
        from ticket_messages where (select count(*) from ticket_hit) < 200
          and org_id = $org::uuid and search_vector @@ ${TEXT_QUERY} limit 200) as message_hit
      group by message_hit.ticket_id)),
  best_hit as (select distinct on (hit_id) hit_id, hit_rank, hit_matched_in from exact_hit
    order by hit_id, hit_rank desc)${fuzzy ? fuzzyCtes : ''}
  select * from (select hit_id, hit_rank, hit_matched_in from best_hit${
    fuzzy
      ? `
    union all select hit_id, hit_rank, hit_matched_in from fuzzy_hit where hit_id not in (select hit_id from best_hit)`
      : ''
  }) as hit order by hit_rank desc, hit_id desc)
select ${TICKET_COLUMNS}, hit_rank, hit_matched_in from tickets join search_hit on hit_id = tickets.id
where ${SEARCH_SCOPE} and tickets.id = hit_id
order by hit_rank desc, hit_id desc limit 51`;
}

function ticketHitSql(months: readonly MonthRange[]): string {
  const matches = (
    condition: string,
  ) => `select id, ts_filter(search_vector, '{a}') @@ ${TEXT_QUERY} as in_title,
      ts_rank_cd(search_vector, ${TEXT_QUERY}, 32) as rank
    from tickets where search_vector @@ ${TEXT_QUERY}${condition} and ${SEARCH_SCOPE} limit 200`;
  if (months.length === 0) return matches('');
  const at = (date: Date) => `'${date.toISOString()}'::timestamptz`;
  const conditions = months.map(
    (month) => ` and created_at >= ${at(month.from)} and created_at < ${at(month.to)}`,
  );
  conditions.push(` and (created_at < ${at(months.at(-1)!.from)} or created_at >= ${at(months[0]!.to)})`);
  return `select * from (${conditions.map((condition) => `(${matches(condition)})`).join('\n    union all ')}) as by_month limit 200`;
}

/** The months search reads through their own indexes (src/server/modules/tickets/search-months.ts). */
export async function searchMonthsOf(client: pg.Client): Promise<MonthRange[]> {
  return searchedMonths(
    await indexedMonths(async (statement) => (await client.query(statement)).rows),
    new Date(),
  );
}

/** The session setting the API's search transaction makes. */
export const SEARCH_SETTINGS = { 'pg_trgm.word_similarity_threshold': '0.3' };

export const GET_TICKET_SQL = `select ${TICKET_COLUMNS} from tickets
  where org_id = $org::uuid and id = $ticket::uuid and deleted_at is null`;

export const GET_MESSAGES_SQL = `select ${MESSAGE_COLUMNS} from ticket_messages
  where ticket_id = $ticket::uuid order by created_at, id`;

/** Replaces `$name` placeholders with quoted literals (EXPLAIN shows the values then). */
export function bind(statement: string, values: Record<string, string>): string {
  return statement.replace(/\$([a-z]+)/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${match}`);
    return `'${value.replaceAll("'", "''")}'`;
  });
}

export interface ExplainOptions {
  /** Session settings of the transaction (set_config … true). */
  settings?: Record<string, string>;
  /**
   * Stay the connecting superuser instead of switching to the application role, so row-level
   * security does not apply: for variants that show what the policies cost.
   */
  bypassRowSecurity?: boolean;
}

/**
 * EXPLAIN (ANALYZE, BUFFERS) of a statement the way the API runs it: as the application role
 * with the organisation set, so row-level security is part of the plan. Rolled back.
 */
export async function explainAsApp(
  client: pg.Client,
  orgId: string,
  statement: string,
  options: ExplainOptions = {},
): Promise<string> {
  await client.query('begin');
  try {
    const role = options.bypassRowSecurity ? 'none' : 'switchboard_app';
    await client.query("select set_config('role', $1, true), set_config('app.org', $2, true)", [role, orgId]);
    for (const [name, value] of Object.entries(options.settings ?? {}))
      await client.query('select set_config($1, $2, true)', [name, value]);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${statement}`);
    return rows.map((row) => row['QUERY PLAN']).join('\n');
  } finally {
    await client.query('rollback');
  }
}

export interface SearchSelectivity extends SearchQuery {
  /** Tickets whose own title/description match. */
  tickets: number;
  /** Distinct tickets with a matching message. */
  viaMessages: number;
}

/** How many tickets each search query matches (as the database owner, all tickets). */
export async function searchSelectivity(client: pg.Client): Promise<SearchSelectivity[]> {
  const results: SearchSelectivity[] = [];
  for (const query of SEARCH_QUERIES) {
    const tickets = await client.query<{ count: string }>(
      "select count(*) from tickets where search_vector @@ websearch_to_tsquery('english', $1)",
      [query.q],
    );
    const messages = await client.query<{ count: string }>(
      "select count(distinct ticket_id) from ticket_messages where search_vector @@ websearch_to_tsquery('english', $1)",
      [query.q],
    );
    results.push({
      ...query,
      tickets: Number(tickets.rows[0]!.count),
      viaMessages: Number(messages.rows[0]!.count),
    });
  }
  return results;
}
