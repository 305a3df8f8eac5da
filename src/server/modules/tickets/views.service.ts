import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { type TicketsContext, viewerOf } from './tickets.context.js';
import { mergeFilters, type TicketFilters, type TicketSort } from './tickets.filters.js';
import type { Viewer } from './tickets.policy.js';
import type { ViewCounts } from './views.counts.js';
import { canManageView, canSeeView, canShareWith, countIsWholeFor, requireViews } from './views.policy.js';
import { presentView } from './views.presenter.js';
import * as repo from './views.repository.js';
import { type CreateViewBody, MAX_VIEWS_PER_SCOPE, type UpdateViewBody } from './views.schema.js';

/** Saved views: named filter sets, personal or shared with a team, each with a maintained count. */
export class ViewsService {
  constructor(private readonly context: TicketsContext) {}

  /** The caller's personal views and their teams' shared views, with counts. */
  async list(actor: Actor) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      requireViews(viewer);
      const views = await repo.listViews(tx, actor.orgId, actor.userId, viewer.teamIds);
      return { data: await this.present(tx, actor.orgId, views) };
    });
  }

  /** Just ids and counts of the same views: what a sidebar polls. */
  async counts(actor: Actor) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      requireViews(viewer);
      const views = await repo.listViews(tx, actor.orgId, actor.userId, viewer.teamIds);
      const counts = await this.context.viewCounts.counts(
        tx,
        actor.orgId,
        views.map((view) => view.id),
      );
      return { data: views.map((view) => ({ id: view.id, count: counts.get(view.id) ?? 0 })) };
    });
  }

  async get(actor: Actor, viewId: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const view = await visibleView(tx, await viewerOf(this.context, tx, actor), viewId);
      return (await this.present(tx, actor.orgId, [view]))[0]!;
    });
  }

  /** Creates a view and counts its tickets once, exactly, in the same transaction. */
  async create(actor: Actor, input: z.output<typeof CreateViewBody>) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      requireViews(viewer);
      if (input.teamId) {
        if (!(await directory.teams(tx, actor.orgId, [input.teamId])).has(input.teamId))
          throw invalid({ teamId: 'no team with this id' });
        if (!canShareWith(viewer, input.teamId))
          throw new AppError('FORBIDDEN', 'Sharing a view with a team needs membership of it');
      }
      const sort = input.sort ?? (input.filters.q ? 'relevance' : '-createdAt');
      checkDefinition(input.filters, sort, input.teamId !== undefined);
      const scope = input.teamId ? { teamId: input.teamId } : { ownerId: actor.userId };
      if ((await repo.countViewsOf(tx, actor.orgId, scope)) >= MAX_VIEWS_PER_SCOPE)
        throw new AppError('UNPROCESSABLE', `At most ${MAX_VIEWS_PER_SCOPE} views per user or team`);
      await this.context.viewCounts.lockForSave(tx, actor.orgId);
      const view = await repo.insertView(tx, {
        orgId: actor.orgId,
        ownerId: input.teamId ? null : actor.userId,
        teamId: input.teamId ?? null,
        name: input.name,
        filters: input.filters,
        sort,
        position: input.position ?? 0,
      });
      await recount(tx, this.context.viewCounts, view);
      return (await this.present(tx, actor.orgId, [view]))[0]!;
    });
  }

  /** Renames, re-sorts or re-filters a view; new filters are counted afresh. */
  async update(actor: Actor, viewId: string, input: z.output<typeof UpdateViewBody>) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const current = await visibleView(tx, viewer, viewId);
      if (!canManageView(viewer, current))
        throw new AppError('FORBIDDEN', "Only the team's leads and admins may change a team view");
      const filters = input.filters ?? (current.filters as TicketFilters);
      checkDefinition(filters, input.sort ?? (current.sort as TicketSort), current.teamId !== null);
      if (input.filters) await this.context.viewCounts.lockForSave(tx, actor.orgId);
      const view = await repo.updateView(tx, actor.orgId, current.id, input);
      if (input.filters) await recount(tx, this.context.viewCounts, view);
      return (await this.present(tx, actor.orgId, [view]))[0]!;
    });
  }

  async remove(actor: Actor, viewId: string): Promise<void> {
    await this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const view = await visibleView(tx, viewer, viewId);
      if (!canManageView(viewer, view))
        throw new AppError('FORBIDDEN', "Only the team's leads and admins may delete a team view");
      // Ticket changes in flight append deltas for this view; they must commit before it goes.
      await this.context.viewCounts.lockForSave(tx, actor.orgId);
      await repo.deleteView(tx, actor.orgId, view.id);
    });
  }

  private async present(tx: Executor, orgId: string, views: readonly repo.ViewRow[]) {
    const counts = await this.context.viewCounts.counts(
      tx,
      orgId,
      views.map((view) => view.id),
    );
    const teams = await directory.teams(
      tx,
      orgId,
      views.flatMap((view) => (view.teamId ? [view.teamId] : [])),
    );
    return views.map((view) => presentView(view, counts.get(view.id) ?? 0, teams));
  }
}

/**
 * A saved view applied to a ticket list: its filters under the request's (the request wins
 * per key), its sort, and its maintained count when the list pages through exactly the
 * tickets counted — no filters of the request's own, and nothing hidden from the viewer.
 */
export async function applySavedView(
  tx: Executor,
  viewer: Viewer,
  viewCounts: ViewCounts,
  viewId: string,
  requested: TicketFilters,
): Promise<{ filters: TicketFilters; sort: TicketSort; total: number | null }> {
  const view = await visibleView(tx, viewer, viewId);
  const filters = view.filters as TicketFilters;
  const exact = Object.keys(requested).length === 0 && countIsWholeFor(viewer, filters);
  const total = exact
    ? ((await viewCounts.counts(tx, viewer.actor.orgId, [view.id])).get(view.id) ?? 0)
    : null;
  return { filters: mergeFilters(filters, requested), sort: view.sort as TicketSort, total };
}

/** A view the viewer may use, or 404 (also for another organisation's or another user's). */
async function visibleView(tx: Executor, viewer: Viewer, viewId: string): Promise<repo.ViewRow> {
  requireViews(viewer);
  const view = await repo.findView(tx, viewer.actor.orgId, viewId);
  if (!view || !canSeeView(viewer, view)) throw notFound('View');
  return view;
}

/** Rules a definition must meet beyond its shape. */
function checkDefinition(filters: TicketFilters, sort: TicketSort, shared: boolean): void {
  const problems: Record<string, string> = {};
  if (shared && filters.assignee === 'me')
    problems['filters.assignee'] = '`me` has no meaning in a view shared with a team';
  if (shared && filters.requester === 'me')
    problems['filters.requester'] = '`me` has no meaning in a view shared with a team';
  if (sort === 'relevance' && !filters.q) problems.sort = 'relevance needs a text query (filters.q)';
  if (Object.keys(problems).length > 0) throw invalid(problems);
}

/** Counts a saved view afresh; filters that do not compile (unknown custom field) are a 422. */
async function recount(tx: Executor, viewCounts: ViewCounts, view: repo.ViewRow): Promise<void> {
  try {
    await viewCounts.recount(tx, view.orgId, view);
  } catch (error) {
    if (error instanceof AppError && error.code === 'VALIDATION_FAILED')
      throw new AppError('UNPROCESSABLE', 'Invalid view filters', { details: { filters: error.message } });
    throw error;
  }
}

const invalid = (details: Record<string, string>) =>
  new AppError('UNPROCESSABLE', 'Invalid view', { details });
