import { type SQL, sql } from 'drizzle-orm';
import type { AheadStatement, Database, Executor } from '../../platform/db/database.js';
import { type Actor, ROLE_PERMISSIONS } from '../identity/index.js';
import { readOrgSettings } from './settings.cache.js';
import { type FilterContext, filterConditions, TicketFilters } from './tickets.filters.js';
import { filterContext, textCondition } from './tickets.list.js';
import * as repo from './views.repository.js';

/** Which saved views each ticket matches: view id → ticket ids. */
export type ViewMatches = ReadonlyMap<string, ReadonlySet<string>>;

export const NO_MATCHES: ViewMatches = new Map();

/** A view as counting sees it: `me` in its filters is its owner. */
export interface CountedView {
  id: string;
  ownerId: string | null;
  filters: unknown;
}

/** Reads fold pending deltas inline past this many (the minutely job normally keeps far below). */
export const INLINE_COMPACTION_THRESHOLD = 1_000;
/** Views per compaction transaction. */
const COMPACTION_BATCH = 500;
/** Organisations whose compiled views a process keeps. */
const COMPILED_ORGS = 1_000;
const NOBODY = '00000000-0000-0000-0000-000000000000';

/**
 * Keeps saved-view counts in step with ticket changes. A use case takes `matching` of the
 * tickets it is about to change, makes the change, then calls `settle` in the same
 * transaction; the difference becomes count deltas.
 *
 * The first call in a transaction takes the organisation's view lock in shared mode and
 * reads its views; both stay for the rest of the transaction, so `matching` and `settle`
 * judge by the same definitions, and a view saved meanwhile waits for this change to commit
 * (its COUNT then includes it) or is committed before the definitions are read.
 */
export class ViewCounts {
  private readonly loaded = new WeakMap<Executor, readonly repo.ViewCondition[]>();
  /** Views listed under the lock in a transaction's BEGIN round trip (`lockAhead`). */
  private readonly listed = new WeakMap<Executor, readonly repo.CountedViewRow[]>();
  /**
   * Compiled conditions per organisation, keyed by the very rows they were compiled from
   * (read under the lock on every change), so a cache hit is never stale; it saves building
   * the SQL of every view on every change.
   */
  private readonly compiled = new Map<string, { source: string; views: repo.ViewCondition[] }>();

  async matching(tx: Executor, orgId: string, ticketIds: readonly string[]): Promise<ViewMatches> {
    if (ticketIds.length === 0) return NO_MATCHES;
    const views = await this.load(tx, orgId);
    if (views.length === 0) return NO_MATCHES;
    const matches = new Map<string, Set<string>>();
    for (const { viewId, ticketId } of await repo.matchTickets(tx, orgId, ticketIds, views)) {
      const set = matches.get(viewId) ?? new Set<string>();
      set.add(ticketId);
      matches.set(viewId, set);
    }
    return matches;
  }

  async settle(
    tx: Executor,
    orgId: string,
    ticketIds: readonly string[],
    before: ViewMatches,
  ): Promise<void> {
    if (ticketIds.length === 0) return;
    const views = await this.load(tx, orgId);
    if (views.length === 0) return;
    const known = new Set(views.map((view) => view.id));
    const previous: repo.ViewMatch[] = [];
    for (const [viewId, matched] of before) {
      if (!known.has(viewId)) continue;
      for (const ticketId of matched) previous.push({ viewId, ticketId });
    }
    await repo.appendDeltas(tx, orgId, ticketIds, views, previous);
  }

  /**
   * Blocks ticket changes of the organisation until the transaction ends, after waiting for
   * those in flight. Call it first in a transaction that saves a view's filters or deletes it.
   */
  async lockForSave(tx: Executor, orgId: string): Promise<void> {
    await repo.lockViewsExclusive(tx, orgId);
  }

  /**
   * Sets a view's count to an exact COUNT of its filters (on creation and filter changes);
   * needs `lockForSave` first. Filters that do not compile (an unknown custom field) throw.
   */
  async recount(tx: Executor, orgId: string, view: CountedView): Promise<void> {
    const context = await settingsContext(tx, orgId, [view]);
    const condition = compile(view, context, { strict: true });
    await repo.resetCount(tx, orgId, view.id, condition);
  }

  /**
   * Current counts of views by id. A view with more pending deltas than the inline threshold
   * is compacted here (locks it skips stay for the job), so a read never sums an unbounded
   * tail when the job lags.
   */
  async counts(tx: Executor, orgId: string, viewIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await repo.readCounts(tx, orgId, viewIds);
    const heavy = rows.filter((row) => row.pending > INLINE_COMPACTION_THRESHOLD).map((row) => row.id);
    if (heavy.length > 0) {
      const locked = await repo.lockCountsToCompact(tx, { limit: heavy.length, viewIds: heavy });
      await repo.foldDeltas(tx, locked);
    }
    return new Map(rows.map((row) => [row.id, row.count]));
  }

  /**
   * For a transaction that changes tickets (`Database.withOrg`'s `ahead`): takes the shared
   * lock and lists the views in the round trip of its BEGIN instead of one of their own.
   */
  lockAhead(orgId: string): AheadStatement {
    return {
      ...repo.lockAndListCountedViewsStatement(orgId),
      took: (tx, rows) => this.listed.set(tx, rows as unknown as repo.CountedViewRow[]),
    };
  }

  /** The organisation's views, compiled, read once per transaction under the shared lock. */
  private async load(tx: Executor, orgId: string): Promise<readonly repo.ViewCondition[]> {
    const cached = this.loaded.get(tx);
    if (cached) return cached;
    const views = this.listed.get(tx) ?? (await repo.lockAndListCountedViews(tx, orgId));
    const compiled = views.length > 0 ? await this.compileAll(tx, orgId, views) : [];
    this.loaded.set(tx, compiled);
    return compiled;
  }

  private async compileAll(tx: Executor, orgId: string, views: readonly CountedView[]) {
    const source = JSON.stringify(views);
    const hit = this.compiled.get(orgId);
    if (hit?.source === source) return hit.views;
    // Conditions over categories or custom fields also depend on those settings: not cached.
    const cacheable = !views.some(needsSettings);
    const context = await settingsContext(tx, orgId, views);
    const compiled = views.map((view) => ({
      id: view.id,
      condition: compile(view, context, { strict: false }),
    }));
    this.compiled.delete(orgId);
    if (cacheable) {
      if (this.compiled.size >= COMPILED_ORGS) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(orgId, { source, views: compiled });
    }
    return compiled;
  }
}

/**
 * Folds pending deltas into bases for every organisation, in batches of views, each batch
 * its own short transaction. System work: runs with the connection's own rights.
 * Returns the number of delta rows folded.
 */
export async function compactViewCounts(database: Database): Promise<number> {
  let after: string | undefined;
  let folded = 0;
  for (;;) {
    const batch = await database.transaction(async (tx) => {
      const ids = await repo.lockCountsToCompact(tx, {
        limit: COMPACTION_BATCH,
        ...(after ? { after } : {}),
      });
      return { ids, folded: await repo.foldDeltas(tx, ids) };
    });
    folded += batch.folded;
    if (batch.ids.length < COMPACTION_BATCH) return folded;
    after = batch.ids.at(-1);
  }
}

/** An agent of the organisation, for building filter SQL the way an agent's list does. */
function agentOf(orgId: string, userId: string): Actor {
  return { orgId, userId, role: 'agent', permissions: ROLE_PERMISSIONS.agent };
}

/**
 * What the views' filters need besides themselves. Categories and custom fields are read
 * only when some view filters by them, so plain views cost no extra queries per change.
 */
async function settingsContext(
  tx: Executor,
  orgId: string,
  views: readonly CountedView[],
): Promise<FilterContext> {
  if (views.some(needsSettings))
    return filterContext(await readOrgSettings(tx, orgId), agentOf(orgId, NOBODY));
  return {
    userId: NOBODY,
    categoryChildren: new Map(),
    fields: [],
    textCondition: (q) => textCondition(q, true),
  };
}

function needsSettings(view: CountedView): boolean {
  const filters = view.filters as TicketFilters | null;
  return Boolean(filters?.category || Object.keys(filters?.fields ?? {}).length > 0);
}

/**
 * The view's filters as the condition its list applies, with `me` as its owner. Views are
 * an agent's lists, so text matches internal notes too. When not `strict`, filters that no
 * longer compile (a custom field archived since) match nothing instead of failing every
 * ticket change of the organisation.
 */
function compile(view: CountedView, context: FilterContext, options: { strict: boolean }): SQL {
  try {
    const filters = TicketFilters.parse(view.filters);
    return filterConditions(filters, { ...context, userId: view.ownerId ?? NOBODY });
  } catch (error) {
    if (options.strict) throw error;
    return sql`false`;
  }
}
