import type pg from 'pg';
import { formatPercent, printTable } from './report.js';
import type { LoadResult } from './ticket-data.js';
import type { Desk } from './ticket-desk.js';
import { LONG_CONVERSATION } from './ticket-plan.js';
import {
  bind,
  COMMON_QUERY,
  type ExplainOptions,
  explainAsApp,
  GET_MESSAGES_SQL,
  LIST_SQL,
  RARE_QUERY,
  SEARCH_SETTINGS,
  searchMonthsOf,
  searchSelectivity,
  searchSql,
  TYPO_QUERY,
} from './ticket-queries.js';
import { vocabularySize } from './ticket-vocabulary.js';

/** What was loaded, what the search queries match, and the query plans on that data. */

export async function reportLoad(db: pg.Client, load: LoadResult): Promise<void> {
  console.log(
    `\nLoaded ${load.tickets.toLocaleString('en')} tickets (${load.firstDay} … ${load.lastDay}) and ` +
      `${load.messages.toLocaleString('en')} messages (${load.internalNotes.toLocaleString('en')} internal notes; ` +
      `${load.longConversations.length} tickets with exactly ${LONG_CONVERSATION}) in ` +
      `${(load.totalMs / 1000).toFixed(1)} s. Text from ${vocabularySize()} hand-written words plus generated ` +
      'host, server and printer names, asset tags and error codes.',
  );
  printTable(
    ['phase', 'seconds'],
    [
      ...load.phases.map((phase) => [phase.name, (phase.ms / 1000).toFixed(1)]),
      ['total', (load.totalMs / 1000).toFixed(1)],
    ],
  );
  console.log(
    `statuses: ${Object.entries(load.statusCounts)
      .sort((a, b) => b[1] - a[1])
      .map(([status, count]) => `${status} ${formatPercent(count / load.tickets)}`)
      .join(', ')}`,
  );
  printTable(
    ['table', 'rows (estimate)', 'size with indexes'],
    (await tableSizes(db)).map((row) => [row.table, row.rows?.toLocaleString('en') ?? '—', row.size]),
  );
}

/** Sizes of the loaded tables with their indexes. */
async function tableSizes(
  client: pg.Client,
): Promise<Array<{ table: string; rows: number | null; size: string }>> {
  const { rows } = await client.query<{ table: string; rows: string; size: string }>(
    `select c.relname as table, c.reltuples::bigint as rows, pg_size_pretty(pg_total_relation_size(c.oid)) as size
     from pg_class c
     where c.relname in ('tickets', 'ticket_messages', 'ticket_events', 'users', 'outbox')
       and c.relnamespace = 'public'::regnamespace
     order by pg_total_relation_size(c.oid) desc`,
  );
  // reltuples is -1 for a table never vacuumed or analysed (the small ones here).
  return rows.map((row) => ({
    table: row.table,
    rows: Number(row.rows) < 0 ? null : Number(row.rows),
    size: row.size,
  }));
}

/**
 * The search queries' selectivity, then EXPLAIN (ANALYZE, BUFFERS) of the endpoints' SQL as
 * an agent of the first team, and of variants that show what a change would do.
 */
export async function reportSql(db: pg.Client, desk: Desk, load: LoadResult): Promise<void> {
  console.log('\nSearch queries (web-search syntax), rotated by the search test, and what they match:');
  const selectivity = await searchSelectivity(db);
  const share = (count: number) => `${count.toLocaleString('en')} (${formatPercent(count / load.tickets)})`;
  printTable(
    ['query', 'kind', 'tickets matching (title, description)', 'tickets matching via messages'],
    selectivity.map((row) => [row.q, row.kind, share(row.tickets), share(row.viaMessages)]),
  );
  const team = desk.teams[0]!;
  const values = { org: desk.orgId, team: team.id, user: team.agents[0]!.id };
  const months = await searchMonthsOf(db);
  console.log(
    `\nMonths searched through their own index first: ${months.map((month) => month.from.toISOString().slice(0, 7)).join(', ') || 'none'}`,
  );
  const search = (query: { q: string }, label: string, bypassRowSecurity = false) => ({
    label: bypassRowSecurity
      ? `VARIANT (not what the API runs): search "${query.q}" without row-level security (org_id filters kept)`
      : `search "${query.q}" (${label}), as an agent`,
    statement: bind(searchSql(query.q, months, query === TYPO_QUERY), { ...values, q: query.q }),
    options: { settings: SEARCH_SETTINGS, bypassRowSecurity },
  });
  const ticket = load.longConversations[0];
  const plans: Array<{ label: string; statement: string; options?: ExplainOptions }> = [
    { label: 'list: 50 newest open tickets of a team, as an agent', statement: bind(LIST_SQL, values) },
    search(COMMON_QUERY, 'most common'),
    search(RARE_QUERY, 'rare'),
    search(TYPO_QUERY, 'typo: trigram fallback'),
    ...(ticket
      ? [
          {
            label: `messages of a ticket with ${LONG_CONVERSATION}`,
            statement: bind(GET_MESSAGES_SQL, { ticket: ticket.id }),
          },
        ]
      : []),
    // Under row-level security an operator that is not LEAKPROOF cannot drive an index scan;
    // migration 0003 marks @@ and the trigram operators LEAKPROOF (docs/decisions.md, 015),
    // which needs a superuser. The same statement without the policies shows whether they
    // still cost anything: the two plans should match.
    search(RARE_QUERY, 'rare', true),
  ];
  console.log(
    '\nEXPLAIN (ANALYZE, BUFFERS) as the application role (row-level security on), second run of each;\n' +
      'the statements mirror src/server/modules/tickets (see bench/lib/ticket-queries.ts):',
  );
  for (const plan of plans) {
    await explainAsApp(db, desk.orgId, plan.statement, plan.options);
    console.log(`\n-- ${plan.label}\n${await explainAsApp(db, desk.orgId, plan.statement, plan.options)}`);
  }
}
