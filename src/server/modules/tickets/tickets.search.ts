import { and, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { rowsOf } from '../../platform/db/migrations.js';
import { type Actor, directory } from '../identity/index.js';
import { type MonthRange, monthConditions, type SearchMonths } from './search-months.js';
import { isAgent, type Viewer } from './tickets.policy.js';
import { ticketFollowers, ticketMessages, tickets } from './tickets.table.js';

/**
 * Ticket search (`GET /tickets?q=`): ticket number, requester name or e-mail, full text over
 * tickets and their messages (internal notes for agents only) and a trigram fallback on the
 * title for typos. docs/tickets.md ("Search") describes the behaviour for API users.
 *
 * One search reads a bounded number of rows, whatever the query: full text takes the first
 * matches the GIN indexes yield, month by month newest first through each month's own index
 * (search-months.ts), then the rest in storage order (no sort over all matches). Only the
 * capped candidates are ranked.
 *
 * Trap: under row-level security (Database.withOrg) PostgreSQL lets a condition run before
 * the policy's, as an index condition, only if its function is LEAKPROOF. `@@` (ts_match_vq)
 * and pg_trgm's `<%` are not, so it filters every row of the organisation instead of using
 * the GIN indexes. The SQL here is written for the indexes; making them usable is a
 * migration's job.
 */
export const SEARCH_LIMITS = {
  /**
   * Tickets whose own text matches, after filters and visibility. Four pages of 50; more
   * candidates cost heap reads (and, while the cap is not reached, the message search) on
   * every search, for matches only a fifth page would show.
   */
  ticketMatches: 200,
  /** Matching messages read (before filters); their tickets become candidates. */
  messageMatches: 200,
  /** Users whose name or e-mail contains q. */
  requesters: 20,
  /** Newest tickets of those users. */
  requesterTickets: 200,
  /** The trigram fallback runs when fewer exact hits than this survive filters. */
  fuzzyBelow: 5,
  /** Title trigram matches read by the fallback (about 5 µs per title tried), and the best of them kept. */
  fuzzyScan: 100,
  fuzzyMatches: 50,
} as const;

/** `word_similarity` a title needs for the fallback: catches a transposition like "pritner". */
const FUZZY_THRESHOLD = 0.3;

/** Where a hit matched. `TIER` ranks them (a note counts as a message, a typo match is 0). */
export type MatchedIn = 'number' | 'title' | 'requester' | 'description' | 'message' | 'note' | 'fuzzy';
const TIER = { number: 5, title: 4, requester: 3, description: 2, message: 1 } as const;

const TICKET_NUMBER = /^tkt-\d{8}-\d{5,}$/i;

/** A search query with what had to be looked up for it. */
export interface TicketSearch {
  /** The query as searched (`searchText`). */
  q: string;
  /** Internal notes count (the viewer is an agent). */
  agent: boolean;
  /** The ticket number q spells, upper-cased. */
  number: string | null;
  /** Users whose name or e-mail contains q. */
  requesterIds: readonly string[];
  /** Months whose tickets are read through their own index first, newest first. */
  months: readonly MonthRange[];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/g;

/** q as searched: control characters (a NUL would fail the statement) become spaces. */
export function searchText(q: string): string {
  return q.replace(CONTROL, ' ').trim();
}

/** Looks up what q names (users) and which months have their own index. */
export async function prepareSearch(
  tx: Executor,
  actor: Actor,
  text: string,
  searchMonths?: SearchMonths,
): Promise<TicketSearch> {
  const q = searchText(text);
  const number = TICKET_NUMBER.test(q) ? q.toUpperCase() : null;
  const name = q.replaceAll('"', '').trim();
  const requesterIds =
    number || name.length < 3
      ? []
      : await directory.matchUserIds(tx, actor.orgId, name, SEARCH_LIMITS.requesters);
  const months = searchMonths ? await searchMonths.searched(tx) : [];
  return { q, agent: isAgent(actor), number, requesterIds, months };
}

/**
 * Sets what a statement with the typo fallback needs, for the rest of the transaction: the
 * trigram threshold, and plans made for its words (`force_custom_plan`). A generic plan of
 * the prepared statement, which PostgreSQL picks after five runs, ran the fallback several
 * times slower; for the exact search alone it is as good and saves the planning.
 */
export async function prepareTypoFallback(tx: Executor): Promise<void> {
  await tx.execute(
    sql`select set_config('pg_trgm.word_similarity_threshold', ${String(FUZZY_THRESHOLD)}, true),
      set_config('plan_cache_mode', 'force_custom_plan', true)`,
  );
}

const tsQuery = (q: string) => sql`websearch_to_tsquery('english', ${q}::text)`;
// Constants of this file, inlined so that plans (and EXPLAIN) show them.
const literal = (value: number) => sql.raw(String(value));
const uuidList = (ids: readonly string[]) =>
  sql`(${sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  )})`;

/**
 * Whether a ticket matches q exactly (number, requester, its text or a message's), without
 * caps or the typo fallback: what saved-view counts use. `requesterIds` come from
 * `prepareSearch`; without them requester names are not matched.
 */
export function textCondition(text: string, agent: boolean, requesterIds: readonly string[] = []): SQL {
  const q = searchText(text);
  const query = tsQuery(q);
  const arms = [
    sql`${tickets.searchVector} @@ ${query}`,
    sql`exists (select 1 from ${ticketMessages} where ${ticketMessages.ticketId} = ${tickets.id} and ${ticketMessages.searchVector} @@ ${query}${agent ? sql`` : sql` and not ${ticketMessages.isInternal}`})`,
  ];
  if (TICKET_NUMBER.test(q)) arms.push(sql`${tickets.number} = ${q.toUpperCase()}`);
  if (requesterIds.length > 0) arms.push(sql`${tickets.requesterId} in ${uuidList(requesterIds)}`);
  return sql`(${sql.join(arms, sql` or `)})`;
}

/**
 * For viewers who see only their own tickets, the ids of those tickets: an access path, so a
 * search starts from the viewer's few tickets rather than every match in the organisation.
 * Visibility still applies on top; this can only narrow.
 */
function ownTicketIds(viewer: Viewer): SQL | undefined {
  if (isAgent(viewer.actor)) return undefined;
  const { orgId, userId } = viewer.actor;
  // `deleted_at is null` lets these use the partial (org, requester|assignee, …) indexes.
  const mine = (column: SQL) =>
    sql`select ${tickets.id} from ${tickets} where ${tickets.orgId} = ${orgId}::uuid and ${column} = ${userId}::uuid and ${tickets.deletedAt} is null`;
  return sql`${mine(sql`${tickets.requesterId}`)} union all ${mine(sql`${tickets.assigneeId}`)}
    union all select ${ticketFollowers.ticketId} from ${ticketFollowers} where ${ticketFollowers.userId} = ${userId}::uuid`;
}

/** The columns of the `search_hit` table the list joins. */
export const searchHitColumns = {
  hitId: sql<string>`hit_id`.as('hit_id'),
  hitRank: sql<number>`hit_rank`.as('hit_rank'),
  hitMatchedIn: sql<MatchedIn>`hit_matched_in`.as('hit_matched_in'),
};

/**
 * The query of `search_hit (hit_id, hit_rank, hit_matched_in)`: candidate tickets with their
 * relevance. `scope` is the list's conditions on `tickets` other than the text (organisation,
 * filters, visibility); the page query applies them again to every hit.
 *
 * Relevance is a tier plus a fraction in [0, 1): number 5, title 4, requester 3,
 * description 2, message or note 1, typo fallback 0 (+ title similarity). Within the text
 * tiers the fraction is `ts_rank_cd` (normalised to rank / (rank + 1)) of the ticket's own
 * vector, or of its best message when only messages matched; a ticket takes its best tier.
 *
 * `typoFallback: false` leaves the fallback out, for a caller that can tell from the exact
 * hits alone that it would not apply (planning it costs about as much as running a rare
 * word's search).
 */
export function searchHitQuery(
  search: TicketSearch,
  viewer: Viewer,
  scope: SQL,
  options: { typoFallback: boolean } = { typoFallback: true },
): SQL {
  const { orgId } = viewer.actor;
  const query = tsQuery(search.q);
  const ownIds = ownTicketIds(viewer);
  const own = ownIds && sql`${tickets.id} in (select id from own_ticket)`;
  // The ticket's own text first, month by month newest first (each month through its own
  // index, stopping once the cap is full), then the tickets outside those months. When the
  // cap fills, message matches (the lowest tier) could only rank after all of those, past the
  // capped candidates anyway: their index scan, the costliest part for a common word, is then
  // skipped.
  const ticketMatches = (months?: SQL) => sql`select ${tickets.id} as id,
      ts_filter(${tickets.searchVector}, '{a}') @@ ${query} as in_title,
      ts_rank_cd(${tickets.searchVector}, ${query}, 32) as rank
    from ${tickets}
    where ${and(sql`${tickets.searchVector} @@ ${query}`, months, own, scope)}
    limit ${literal(SEARCH_LIMITS.ticketMatches)}`;
  const months = monthConditions(search.months);
  const ticketHit =
    months.length === 0
      ? sql`ticket_hit as materialized (${ticketMatches()})`
      : sql`ticket_hit as materialized (select * from (${sql.join(
          months.map((condition) => sql`(${ticketMatches(condition)})`),
          sql` union all `,
        )}) as by_month limit ${literal(SEARCH_LIMITS.ticketMatches)})`;
  const branches = [
    sql`(select ticket_hit.id as hit_id,
        (case when ticket_hit.in_title then ${literal(TIER.title)} else ${literal(TIER.description)} end + ticket_hit.rank)::real as hit_rank,
        case when ticket_hit.in_title then 'title' else 'description' end as hit_matched_in
      from ticket_hit)`,
    sql`(select message_hit.ticket_id, (${literal(TIER.message)} + max(message_hit.rank))::real,
        (array_agg(case when message_hit.is_internal then 'note' else 'message' end order by message_hit.rank desc))[1]
      from (select ${ticketMessages.ticketId} as ticket_id, ${ticketMessages.isInternal} as is_internal,
          ts_rank_cd(${ticketMessages.searchVector}, ${query}, 32) as rank
        from ${ticketMessages}
        where ${and(
          sql`(select count(*) from ticket_hit) < ${literal(SEARCH_LIMITS.ticketMatches)}`,
          sql`${ticketMessages.orgId} = ${orgId}::uuid`,
          sql`${ticketMessages.searchVector} @@ ${query}`,
          search.agent ? undefined : sql`not ${ticketMessages.isInternal}`,
          ownIds && sql`${ticketMessages.ticketId} in (select id from own_ticket)`,
        )}
        limit ${literal(SEARCH_LIMITS.messageMatches)}) as message_hit
      group by message_hit.ticket_id)`,
  ];
  if (search.requesterIds.length > 0) {
    branches.push(sql`(select ${tickets.id}, ${literal(TIER.requester)}::real, 'requester'
      from ${tickets}
      where ${and(sql`${tickets.requesterId} in ${uuidList(search.requesterIds)}`, scope)}
      order by ${tickets.createdAt} desc nulls last
      limit ${literal(SEARCH_LIMITS.requesterTickets)})`);
  }
  if (search.number) {
    branches.push(sql`(select ${tickets.id}, ${literal(TIER.number)}::real, 'number'
      from ${tickets} where ${and(sql`${tickets.number} = ${search.number}`, scope)})`);
  }
  const ctes = [
    ...(ownIds ? [sql`own_ticket (id) as materialized (${ownIds})`] : []),
    ticketHit,
    sql`exact_hit as materialized (${sql.join(branches, sql` union all `)})`,
    sql`best_hit as (select distinct on (hit_id) hit_id, hit_rank, hit_matched_in from exact_hit order by hit_id, hit_rank desc)`,
  ];
  const selects = [sql`select hit_id, hit_rank, hit_matched_in from best_hit`];
  if (options.typoFallback && mayFallBackToTypos(search.q)) {
    ctes.push(...fuzzyHits(search, viewer, scope, own));
    selects.push(
      sql`select hit_id, hit_rank, hit_matched_in from fuzzy_hit where hit_id not in (select hit_id from best_hit)`,
    );
  }
  // Ordered by relevance, so that a relevance page reads only its rows' tickets.
  return sql`with ${sql.join(ctes, sql`, `)}
    select * from (${sql.join(selects, sql` union all `)}) as hit order by hit_rank desc, hit_id desc`;
}

/**
 * Whether q may fall back to trigrams: one or two words (the trigram index reads a posting
 * list per trigram, so longer queries cost more than a search may), and no phrase or
 * exclusion, whose meaning similar words would undo.
 */
export function mayFallBackToTypos(q: string): boolean {
  return q.split(/\s+/).length <= 2 && !/"|(^|\s)-\S/.test(q);
}

/**
 * The typo fallback (`fuzzy_hit`, tier 0 + similarity): titles similar to q by trigrams, when
 * fewer than `fuzzyBelow` exact hits survive the filters. It reads a bounded slice of what the
 * trigram index matches (unordered) and keeps the most similar of it.
 */
function fuzzyHits(search: TicketSearch, viewer: Viewer, scope: SQL, own: SQL | undefined): SQL[] {
  const similar = and(
    sql`${tickets.orgId} = ${viewer.actor.orgId}::uuid`,
    sql`${search.q}::text <% ${tickets.title}`,
    own,
  );
  return [
    sql`exact_count as (select count(*) as hits from (select 1 from ${tickets} join best_hit on best_hit.hit_id = ${tickets.id} where ${scope} limit ${literal(SEARCH_LIMITS.fuzzyBelow)}) as surviving)`,
    sql`fuzzy_hit as (select ${tickets.id} as hit_id, (0.99 * word_similarity(${search.q}::text, ${tickets.title}))::real as hit_rank, 'fuzzy' as hit_matched_in
      from (select * from ${tickets} where ${similar} limit ${literal(SEARCH_LIMITS.fuzzyScan)}) as ${tickets}
      where (select hits from exact_count) < ${literal(SEARCH_LIMITS.fuzzyBelow)} and ${scope}
      order by hit_rank desc, hit_id desc
      limit ${literal(SEARCH_LIMITS.fuzzyMatches)})`,
  ];
}

// ts_headline copies the text verbatim; these markers (control characters, which ticket text
// never contains) become <mark> tags only after the rest has been escaped.
const OPEN = '\u0001';
const CLOSE = '\u0002';
const TITLE_OPTIONS = `StartSel=${OPEN}, StopSel=${CLOSE}, HighlightAll=true`;
const TEXT_OPTIONS = `StartSel=${OPEN}, StopSel=${CLOSE}, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "`;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes a headline for HTML, then turns the markers into `<mark>` tags. */
export function markSnippet(headline: string): string {
  return headline
    .replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!)
    .replaceAll(OPEN, '<mark>')
    .replaceAll(CLOSE, '</mark>');
}

/**
 * Highlighted snippets for one page of hits: the title, the description or the best
 * matching message the viewer may read (never an internal note for a requester). The hits
 * travel as two array parameters (ids, and `MatchedIn` words, neither ever quoted), so the
 * statement's text is the same for every page and its plan is cached.
 */
export async function searchSnippets(
  tx: Executor,
  search: TicketSearch,
  hits: ReadonlyArray<{ id: string; matchedIn: MatchedIn }>,
): Promise<Map<string, { snippet: string; matchedIn: MatchedIn }>> {
  if (hits.length === 0) return new Map();
  const query = tsQuery(search.q);
  const result = await tx.execute(sql`
    select ${tickets.id} as id, hit.matched_in, best_message.is_internal,
      case
        when hit.matched_in = 'description' then ts_headline('english', ${tickets.description}, ${query}, ${TEXT_OPTIONS})
        when best_message.body is not null then ts_headline('english', best_message.body, ${query}, ${TEXT_OPTIONS})
        when hit.matched_in = 'title' then ts_headline('english', ${tickets.title}, ${query}, ${TITLE_OPTIONS})
        else ${tickets.title}
      end as headline
    from ${tickets}
    join unnest(${`{${hits.map((hit) => hit.id).join(',')}}`}::uuid[],
      ${`{${hits.map((hit) => hit.matchedIn).join(',')}}`}::text[]) as hit (id, matched_in) on hit.id = ${tickets.id}
    left join lateral (
      select ${ticketMessages.body} as body, ${ticketMessages.isInternal} as is_internal
      from ${ticketMessages}
      where hit.matched_in in ('message', 'note') and ${ticketMessages.ticketId} = ${tickets.id}
        and ${ticketMessages.searchVector} @@ ${query}${search.agent ? sql`` : sql` and not ${ticketMessages.isInternal}`}
      order by ts_rank_cd(${ticketMessages.searchVector}, ${query}, 32) desc, ${ticketMessages.createdAt}, ${ticketMessages.id}
      limit 1
    ) as best_message on true`);
  const matched = new Map(hits.map((hit) => [hit.id, hit.matchedIn]));
  const snippets = new Map<string, { snippet: string; matchedIn: MatchedIn }>();
  for (const row of rowsOf<{ id: string; headline: string; is_internal: boolean | null }>(result)) {
    // A message hit says which kind of message the snippet shows.
    let matchedIn: MatchedIn = matched.get(row.id)!;
    if (row.is_internal !== null) matchedIn = row.is_internal ? 'note' : 'message';
    snippets.set(row.id, { snippet: markSnippet(row.headline), matchedIn });
  }
  return snippets;
}
