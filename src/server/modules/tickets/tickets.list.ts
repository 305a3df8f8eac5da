import { and, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import type { Actor } from '../identity/index.js';
import type { OrgSettings } from './settings.cache.js';
import { presentContext, type TicketsContext, viewerOf } from './tickets.context.js';
import {
  type Cursor,
  decodeCursor,
  encodeCursor,
  type FilterContext,
  filterConditions,
  filtersOfQuery,
  queryError,
  sortColumn,
  sortOrder,
  type TicketFilters,
  type TicketListQuery,
  type TicketSort,
} from './tickets.filters.js';
import { isAgent, type Viewer, visibleCondition } from './tickets.policy.js';
import { presentTicket } from './tickets.presenter.js';
import { type TicketRow, ticketColumns } from './tickets.repository.js';
import {
  type MatchedIn,
  mayFallBackToTypos,
  prepareSearch,
  prepareTypoFallback,
  SEARCH_LIMITS,
  searchHitColumns,
  searchHitQuery,
  searchSnippets,
  searchText,
  type TicketSearch,
  textCondition,
} from './tickets.search.js';
import { tickets } from './tickets.table.js';
import { applySavedView } from './views.service.js';

export { textCondition } from './tickets.search.js';

/**
 * Builds what filters need to become SQL for one viewer. With `search` (from
 * `prepareSearch`), its q also matches the requesters it names.
 */
export function filterContext(
  { categories, fields }: OrgSettings,
  actor: Actor,
  search?: TicketSearch,
): FilterContext {
  const categoryChildren = new Map<string, string[]>();
  for (const category of categories) {
    if (!category.parentId) continue;
    categoryChildren.set(category.parentId, [
      ...(categoryChildren.get(category.parentId) ?? []),
      category.id,
    ]);
  }
  const agent = isAgent(actor);
  return {
    userId: actor.userId,
    categoryChildren,
    // A requester filtering by a field they cannot see could read its values off the results.
    fields: agent ? fields : fields.filter((field) => field.visibleToRequester),
    textCondition: (q) => textCondition(q, agent, searchText(q) === search?.q ? search.requesterIds : []),
  };
}

/** A list row: the ticket, and its relevance when the list is a search. */
type ListRow = TicketRow & { searchRank?: number; searchMatchedIn?: MatchedIn; sortKey?: string };

/** Ticket lists: filters, visibility, sort and keyset (or bounded offset) pagination. */
export class TicketListService {
  constructor(private readonly context: TicketsContext) {}

  async list(actor: Actor, query: TicketListQuery, url: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const filters = filtersOfQuery(query);
      if (!query.view) return this.page(tx, viewer, filters, query, url);
      const view = await applySavedView(tx, viewer, this.context.viewCounts, query.view, filters);
      const sort = query.sort ?? view.sort;
      return this.page(tx, viewer, view.filters, { ...query, sort }, url, view.total);
    });
  }

  async page(
    tx: Executor,
    viewer: Viewer,
    filters: TicketFilters,
    query: Pick<TicketListQuery, 'sort' | 'limit' | 'cursor' | 'page'>,
    url: string,
    total: number | null = null,
  ) {
    const { actor } = viewer;
    const sort: TicketSort = query.sort ?? (filters.q ? 'relevance' : '-createdAt');
    if (sort === 'relevance' && !filters.q)
      throw queryError('sort', 'sort=relevance needs a text query (q)', 'needs q');
    if (query.cursor && query.page)
      throw queryError('cursor', 'Use either cursor or page, not both', 'conflicts with page');
    const search = filters.q
      ? await prepareSearch(tx, actor, filters.q, this.context.searchMonths)
      : undefined;
    const context = filterContext(await this.context.orgSettings.of(tx, actor.orgId), actor, search);
    const organisation = sql`${tickets.orgId} = ${actor.orgId}::uuid`;
    const visible = visibleCondition(viewer);
    // A search joins its bounded, ranked hits (tickets.search.ts); within this list, matching
    // q means being one of them, and every other filter applies as it does without q.
    const scope = and(organisation, filterConditions({ ...filters, q: undefined }, context), visible)!;
    const listContext: FilterContext = search
      ? { ...context, textCondition: () => sql`${tickets.id} = hit_id` }
      : context;
    const conditions: Array<SQL | undefined> = [
      organisation,
      filterConditions(filters, listContext),
      visible,
    ];
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (cursor && cursor.sort !== sort)
      throw queryError(
        'cursor',
        'The cursor belongs to another sort order',
        `issued for sort=${cursor.sort}`,
      );

    let order: SQL[];
    let sortKey: SQL<string> | undefined;
    let cursorValue: (row: ListRow) => string | number;
    if (sort === 'relevance') {
      // By the hit's columns (hit_id is the ticket id), which search_hit comes sorted by.
      order = [sql`hit_rank desc`, sql`hit_id desc`];
      if (cursor)
        conditions.push(sql`(hit_rank, hit_id) < (${Number(cursor.value)}::real, ${cursor.id}::uuid)`);
      cursorValue = (row) => row.searchRank ?? 0;
    } else {
      const { column, descending, name } = sortColumn(sort);
      order = sortOrder(sort);
      // Timestamps travel in the cursor as PostgreSQL's own text (microseconds); a JS Date
      // keeps milliseconds only, and rows within one millisecond would be skipped or repeated.
      if (name !== 'priority') sortKey = sql<string>`${column}::text`;
      if (cursor) {
        const value =
          name === 'priority'
            ? sql`${Number(cursor.value)}::smallint`
            : sql`${String(cursor.value)}::timestamptz`;
        conditions.push(
          descending
            ? sql`(${column}, ${tickets.id}) < (${value}, ${cursor.id}::uuid)`
            : sql`(${column}, ${tickets.id}) > (${value}, ${cursor.id}::uuid)`,
        );
      }
      cursorValue = (row) => (name === 'priority' ? row.priorityRank : (row.sortKey ?? ''));
    }
    const offset = query.page ? (query.page - 1) * query.limit : 0;
    const fetchPage = async (typoFallback: boolean): Promise<ListRow[]> => {
      if (search && typoFallback && mayFallBackToTypos(search.q)) await prepareTypoFallback(tx);
      const hits =
        search &&
        tx.$with('search_hit', searchHitColumns).as(searchHitQuery(search, viewer, scope, { typoFallback }));
      let select = tx
        .with(...(hits ? [hits] : []))
        .select({
          ...ticketColumns,
          ...(hits ? { searchRank: hits.hitRank, searchMatchedIn: hits.hitMatchedIn } : {}),
          ...(sortKey ? { sortKey } : {}),
        })
        .from(tickets)
        .$dynamic();
      if (hits) select = select.innerJoin(hits, sql`hit_id = ${tickets.id}`);
      return select
        .where(and(...conditions))
        .orderBy(...order)
        .limit(query.limit + 1)
        .offset(offset);
    };
    // The typo fallback adds hits only when fewer than `fuzzyBelow` exact hits survive the
    // filters. A first page that fetches at least that many rows shows it by itself, so the
    // fallback is planned (a second statement) only when that page came up short.
    const firstPageTells =
      search !== undefined &&
      mayFallBackToTypos(search.q) &&
      !cursor &&
      offset === 0 &&
      query.limit + 1 >= SEARCH_LIMITS.fuzzyBelow;
    let rows = await fetchPage(!firstPageTells);
    if (firstPageTells && rows.length < SEARCH_LIMITS.fuzzyBelow) rows = await fetchPage(true);
    const hasMore = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const present = await presentContext(this.context, tx, viewer, { tickets: page, fields: context.fields });
    const snippets = search
      ? await searchSnippets(
          tx,
          search,
          page.map((row) => ({ id: row.id, matchedIn: row.searchMatchedIn! })),
        )
      : undefined;
    const last = page.at(-1);
    const nextCursor =
      hasMore && last && !query.page
        ? encodeCursor({ sort, value: cursorValue(last), id: last.id } satisfies Cursor)
        : null;
    return {
      data: page.map((row) => {
        const ticket = presentTicket(row, present);
        const snippet = snippets?.get(row.id);
        if (!snippet) return ticket;
        return { ...ticket, search: { rank: row.searchRank ?? 0, ...snippet } };
      }),
      meta: { limit: query.limit, nextCursor, page: query.page ?? null, total },
      links: { self: url, next: nextLink(url, query, nextCursor, hasMore) },
    };
  }
}

function nextLink(
  url: string,
  query: Pick<TicketListQuery, 'page'>,
  nextCursor: string | null,
  hasMore: boolean,
): string | null {
  if (!hasMore) return null;
  const [pathname, search = ''] = url.split('?');
  const params = new URLSearchParams(search);
  if (query.page) params.set('page', String(query.page + 1));
  else if (nextCursor) params.set('cursor', nextCursor);
  else return null;
  return `${pathname}?${params.toString()}`;
}
