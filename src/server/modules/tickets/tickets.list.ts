import { and, asc, desc, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import type { Actor } from '../identity/index.js';
import { listCategories, listFieldDefinitions } from './settings.repository.js';
import { presentContext, type TicketsContext, viewerOf } from './tickets.context.js';
import {
  type Cursor,
  decodeCursor,
  encodeCursor,
  type FilterContext,
  filterConditions,
  filtersOfQuery,
  sortColumn,
  type TicketFilters,
  type TicketListQuery,
  type TicketSort,
} from './tickets.filters.js';
import { isAgent, type Viewer, visibleCondition } from './tickets.policy.js';
import { presentTicket } from './tickets.presenter.js';
import { ticketColumns } from './tickets.repository.js';
import { ticketMessages, tickets } from './tickets.table.js';

/**
 * Text condition over the ticket's own words and its messages' (internal notes only for
 * agents), with PostgreSQL's web-search syntax.
 */
export function textCondition(q: string, agent: boolean): SQL {
  const query = sql`websearch_to_tsquery('english', ${q})`;
  return sql`(${tickets.searchVector} @@ ${query} or ${tickets.id} in (select ${ticketMessages.ticketId} from ${ticketMessages} where ${ticketMessages.searchVector} @@ ${query}${agent ? sql`` : sql` and not ${ticketMessages.isInternal}`}))`;
}

/** Builds what filters need to become SQL for one viewer. */
export async function filterContext(tx: Executor, actor: Actor): Promise<FilterContext> {
  const [categories, fields] = await Promise.all([
    listCategories(tx, actor.orgId),
    listFieldDefinitions(tx, actor.orgId),
  ]);
  const categoryChildren = new Map<string, string[]>();
  for (const category of categories) {
    if (!category.parentId) continue;
    categoryChildren.set(category.parentId, [
      ...(categoryChildren.get(category.parentId) ?? []),
      category.id,
    ]);
  }
  const agent = isAgent(actor);
  return { userId: actor.userId, categoryChildren, fields, textCondition: (q) => textCondition(q, agent) };
}

/** Ticket lists: filters, visibility, sort and keyset (or bounded offset) pagination. */
export class TicketListService {
  constructor(private readonly context: TicketsContext) {}

  async list(actor: Actor, query: TicketListQuery, url: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(tx, actor);
      const filters = filtersOfQuery(query);
      return this.page(tx, viewer, filters, query, url);
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
      throw new AppError('VALIDATION_FAILED', 'sort=relevance needs a text query (q)', {
        details: [{ location: 'querystring', path: 'sort', message: 'needs q' }],
      });
    if (query.cursor && query.page)
      throw new AppError('VALIDATION_FAILED', 'Use either cursor or page, not both', {
        details: [{ location: 'querystring', path: 'cursor', message: 'conflicts with page' }],
      });
    const context = await filterContext(tx, actor);
    const conditions: Array<SQL | undefined> = [
      sql`${tickets.orgId} = ${actor.orgId}::uuid`,
      filterConditions(filters, context),
      visibleCondition(viewer),
    ];
    const cursor = query.cursor ? decodeCursor(query.cursor) : undefined;
    if (cursor && cursor.sort !== sort)
      throw new AppError('VALIDATION_FAILED', 'The cursor belongs to another sort order', {
        details: [{ location: 'querystring', path: 'cursor', message: `issued for sort=${cursor.sort}` }],
      });

    let order: SQL[];
    let cursorValue: (row: { createdAt: Date; rank?: number } & Record<string, unknown>) => string | number;
    let rank: SQL | undefined;
    if (sort === 'relevance') {
      rank = sql<number>`ts_rank_cd(${tickets.searchVector}, websearch_to_tsquery('english', ${filters.q!}))`;
      order = [sql`rank desc`, desc(tickets.id)];
      if (cursor)
        conditions.push(sql`(${rank}, ${tickets.id}) < (${Number(cursor.value)}::real, ${cursor.id}::uuid)`);
      cursorValue = (row) => row.rank ?? 0;
    } else {
      const { column, descending, name } = sortColumn(sort);
      order = descending ? [desc(column), desc(tickets.id)] : [asc(column), asc(tickets.id)];
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
      cursorValue = (row) => {
        const value = row[name === 'priority' ? 'priorityRank' : name];
        return value instanceof Date ? value.toISOString() : (value as number);
      };
    }
    const offset = query.page ? (query.page - 1) * query.limit : 0;
    const rows = await tx
      .select({ ...ticketColumns, ...(rank ? { rank: sql<number>`${rank}`.as('rank') } : {}) })
      .from(tickets)
      .where(and(...conditions))
      .orderBy(...order)
      .limit(query.limit + 1)
      .offset(offset);
    const hasMore = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const present = await presentContext(tx, viewer, page);
    const last = page.at(-1);
    const nextCursor =
      hasMore && last && !query.page
        ? encodeCursor({ sort, value: cursorValue(last as never), id: last.id } satisfies Cursor)
        : null;
    return {
      data: page.map((row) => presentTicket(row, present)),
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
