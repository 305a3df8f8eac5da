import { and, asc, eq, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { rowsOf } from '../../platform/db/migrations.js';
import { type Statement, statement } from '../../platform/db/statements.js';
import { savedViewCountDeltas, savedViewCounts, savedViews, tickets } from './tickets.table.js';

/** Queries of saved views and their maintained counts; every function takes the caller's `tx`. */

export type ViewRow = typeof savedViews.$inferSelect;
export type ViewInsert = typeof savedViews.$inferInsert;

/** A view's compiled filter condition over `tickets`, as counting evaluates it. */
export interface ViewCondition {
  id: string;
  condition: SQL;
}

/** A view and a ticket it matches. */
export interface ViewMatch {
  viewId: string;
  ticketId: string;
}

/** One parameter instead of one per id: `{a,b}` cast to uuid[] by the caller's SQL. */
const uuidArray = (ids: readonly string[]) => sql`${`{${ids.join(',')}}`}::uuid[]`;

export async function findView(tx: Executor, orgId: string, viewId: string): Promise<ViewRow | undefined> {
  const [row] = await tx
    .select()
    .from(savedViews)
    .where(and(eq(savedViews.orgId, orgId), eq(savedViews.id, viewId)));
  return row;
}

/** A user's personal views and the shared views of the given teams. */
export async function listViews(
  tx: Executor,
  orgId: string,
  ownerId: string,
  teamIds: readonly string[],
): Promise<ViewRow[]> {
  const scope = teamIds.length
    ? or(eq(savedViews.ownerId, ownerId), inArray(savedViews.teamId, [...teamIds]))
    : eq(savedViews.ownerId, ownerId);
  return tx
    .select()
    .from(savedViews)
    .where(and(eq(savedViews.orgId, orgId), scope))
    .orderBy(sql`${savedViews.teamId} nulls first`, asc(savedViews.position), asc(savedViews.name));
}

/** How many views a user owns, or a team shares. */
export async function countViewsOf(
  tx: Executor,
  orgId: string,
  scope: { ownerId: string } | { teamId: string },
): Promise<number> {
  const [row] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(savedViews)
    .where(
      and(
        eq(savedViews.orgId, orgId),
        'ownerId' in scope ? eq(savedViews.ownerId, scope.ownerId) : eq(savedViews.teamId, scope.teamId),
      ),
    );
  return row?.count ?? 0;
}

export async function insertView(tx: Executor, values: ViewInsert): Promise<ViewRow> {
  const [row] = await tx.insert(savedViews).values(values).returning();
  return row!;
}

export async function updateView(
  tx: Executor,
  orgId: string,
  viewId: string,
  changes: Partial<Pick<ViewInsert, 'name' | 'filters' | 'sort' | 'position'>>,
): Promise<ViewRow> {
  const [row] = await tx
    .update(savedViews)
    .set({ ...changes, updatedAt: new Date() })
    .where(and(eq(savedViews.orgId, orgId), eq(savedViews.id, viewId)))
    .returning();
  return row!;
}

/** Deletes a view; its count row and pending deltas go with it (ON DELETE CASCADE). */
export async function deleteView(tx: Executor, orgId: string, viewId: string): Promise<void> {
  await tx.delete(savedViews).where(and(eq(savedViews.orgId, orgId), eq(savedViews.id, viewId)));
}

/** Every view of the organisation, with what counting needs. */
export type CountedViewRow = { id: string; ownerId: string | null; filters: unknown };

/** The select of `counted_views_after_lock`, whose one argument is the organisation's id. */
const COUNTED_VIEWS_AFTER_LOCK = 'select id, owner_id as "ownerId", filters from counted_views_after_lock';

/** `lockAndListCountedViews` as a batch statement, to run in a transaction's BEGIN round trip. */
export function lockAndListCountedViewsStatement(orgId: string): Statement {
  return statement((param) => `${COUNTED_VIEWS_AFTER_LOCK}(${param(orgId)}::uuid)`);
}

/**
 * Takes the organisation's view lock shared (every ticket change does, held to commit;
 * holders never wait for each other, only while a view is being saved) and then reads the
 * views, in one round trip: `counted_views_after_lock` (migration 0004) reads with a
 * snapshot taken after the lock was granted, so views saved meanwhile are seen.
 */
export async function lockAndListCountedViews(tx: Executor, orgId: string): Promise<CountedViewRow[]> {
  return rowsOf<CountedViewRow>(await tx.execute(sql`${sql.raw(COUNTED_VIEWS_AFTER_LOCK)}(${orgId}::uuid)`));
}

/**
 * Taken before a view's filters are saved or the view is deleted: waits for the ticket
 * changes in flight (which read the old definitions) to commit, and holds new ones back
 * until this transaction commits.
 */
export async function lockViewsExclusive(tx: Executor, orgId: string): Promise<void> {
  // The key as counted_views_after_lock computes it (canonical uuid text).
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended('saved_views:' || ${orgId}::uuid::text, 0))`,
  );
}

/** Views × tickets that evaluate one condition per view over each ticket, in one scan by id. */
function matchesQuery(orgId: string, ticketIds: readonly string[], views: readonly ViewCondition[]): SQL {
  const cases = sql.join(
    views.map((view) => sql`case when ${view.condition} then ${view.id}::uuid end`),
    sql`, `,
  );
  return sql`select m.view_id, ${tickets.id} as ticket_id from ${tickets}
    cross join lateral unnest(array[${cases}]) as m(view_id)
    where ${tickets.orgId} = ${orgId}::uuid and ${tickets.id} = any(${uuidArray(ticketIds)})
      and m.view_id is not null`;
}

/** Which of the views each ticket matches now. */
export async function matchTickets(
  tx: Executor,
  orgId: string,
  ticketIds: readonly string[],
  views: readonly ViewCondition[],
): Promise<ViewMatch[]> {
  const result = await tx.execute(matchesQuery(orgId, ticketIds, views));
  return rowsOf<{ view_id: string; ticket_id: string }>(result).map((row) => ({
    viewId: row.view_id,
    ticketId: row.ticket_id,
  }));
}

/**
 * Evaluates the views over the tickets as they are now and appends one delta row per view
 * whose number of matching tickets changed since `before`, in one statement.
 */
export async function appendDeltas(
  tx: Executor,
  orgId: string,
  ticketIds: readonly string[],
  views: readonly ViewCondition[],
  before: readonly ViewMatch[],
): Promise<void> {
  const previous = JSON.stringify(
    before.map((match) => ({ view_id: match.viewId, ticket_id: match.ticketId })),
  );
  await tx.execute(sql`with after_match as (${matchesQuery(orgId, ticketIds, views)}),
    before_match as (
      select view_id, ticket_id from jsonb_to_recordset(${previous}::jsonb) as b(view_id uuid, ticket_id uuid)
    ),
    changed as (
      select view_id, 1 as delta
        from (select view_id, ticket_id from after_match except select view_id, ticket_id from before_match) gained
      union all
      select view_id, -1
        from (select view_id, ticket_id from before_match except select view_id, ticket_id from after_match) lost
    )
    insert into ${savedViewCountDeltas} (org_id, view_id, delta)
    select ${orgId}::uuid, view_id, sum(delta)::int from changed group by view_id having sum(delta) <> 0`);
}

/**
 * Makes a view's count exact: deletes its pending deltas and sets the base to a COUNT of
 * its condition. The caller holds the exclusive view lock (no delta can be appended
 * meanwhile); the count row is locked first so a compaction of this view cannot interleave.
 */
export async function resetCount(tx: Executor, orgId: string, viewId: string, condition: SQL): Promise<void> {
  await tx.execute(sql`select 1 from ${savedViewCounts} where view_id = ${viewId}::uuid for update`);
  await tx.delete(savedViewCountDeltas).where(eq(savedViewCountDeltas.viewId, viewId));
  await tx.execute(sql`insert into ${savedViewCounts} (view_id, org_id, base, compacted_at)
    select ${viewId}::uuid, ${orgId}::uuid, count(*), now() from ${tickets}
    where ${tickets.orgId} = ${orgId}::uuid and ${condition}
    on conflict (view_id) do update set base = excluded.base, compacted_at = excluded.compacted_at`);
}

/**
 * Counts of views: base + the sum of pending deltas, read in one statement (one snapshot),
 * so a compaction committing meanwhile is seen entirely or not at all.
 */
export async function readCounts(tx: Executor, orgId: string, viewIds: readonly string[]) {
  if (viewIds.length === 0) return [];
  const result = await tx.execute(sql`select v.id, (coalesce(c.base, 0) + coalesce(p.total, 0))::int as count,
      coalesce(p.pending, 0)::int as pending
    from ${savedViews} v
    left join ${savedViewCounts} c on c.view_id = v.id
    left join lateral (
      select sum(d.delta) as total, count(*) as pending from ${savedViewCountDeltas} d where d.view_id = v.id
    ) p on true
    where v.org_id = ${orgId}::uuid and v.id = any(${uuidArray(viewIds)})`);
  return rowsOf<{ id: string; count: number; pending: number }>(result);
}

/**
 * Locks the count rows of up to `limit` views that have pending deltas, in id order after
 * `after`, skipping rows another compaction or a view save holds. Restricted to `viewIds`
 * when given.
 */
export async function lockCountsToCompact(
  tx: Executor,
  options: { after?: string; limit: number; viewIds?: readonly string[] },
): Promise<string[]> {
  const result = await tx.execute(sql`select c.view_id from ${savedViewCounts} c
    where exists (select 1 from ${savedViewCountDeltas} d where d.view_id = c.view_id)
      ${options.after ? sql`and c.view_id > ${options.after}::uuid` : sql``}
      ${options.viewIds ? sql`and c.view_id = any(${uuidArray(options.viewIds)})` : sql``}
    order by c.view_id limit ${options.limit}
    for update of c skip locked`);
  return rowsOf<{ view_id: string }>(result).map((row) => row.view_id);
}

/**
 * Folds the committed deltas of locked views into their bases in one statement: the rows
 * deleted are exactly the rows summed, and both changes commit together. Deltas committed
 * after this statement's snapshot stay pending and are folded next time.
 */
export async function foldDeltas(tx: Executor, viewIds: readonly string[]): Promise<number> {
  if (viewIds.length === 0) return 0;
  const result = await tx.execute(sql`with moved as (
      delete from ${savedViewCountDeltas} where view_id = any(${uuidArray(viewIds)}) returning view_id, delta
    ),
    sums as (select view_id, sum(delta) as total, count(*)::int as folded from moved group by view_id)
    update ${savedViewCounts} c set base = c.base + sums.total, compacted_at = now()
    from sums where c.view_id = sums.view_id
    returning sums.folded`);
  return rowsOf<{ folded: number }>(result).reduce((sum, row) => sum + row.folded, 0);
}
