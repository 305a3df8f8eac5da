import { AppError } from '../../platform/http/app-error.js';
import { hasPermission } from '../identity/index.js';
import type { TicketFilters } from './tickets.filters.js';
import { isAgent, type Viewer } from './tickets.policy.js';
import type { ViewRow } from './views.repository.js';

/** Saved views are agents' lists; requesters have none. */
export function requireViews(viewer: Viewer): void {
  if (!isAgent(viewer.actor)) throw new AppError('FORBIDDEN', 'Saved views are for agents');
}

/**
 * Whether the viewer may use a view: their own, their teams' shared views, and (to manage
 * them) every team view for those who administer teams or see all tickets. Anyone else's
 * personal view does not exist for them.
 */
export function canSeeView(viewer: Viewer, view: Pick<ViewRow, 'ownerId' | 'teamId'>): boolean {
  if (view.ownerId !== null) return view.ownerId === viewer.actor.userId;
  return (
    viewer.teamIds.includes(view.teamId!) ||
    hasPermission(viewer.actor, 'admin:teams') ||
    hasPermission(viewer.actor, 'ticket:view_all')
  );
}

/** Sharing a view with a team needs membership of it, or seeing beyond teams. */
export function canShareWith(viewer: Viewer, teamId: string): boolean {
  return (
    viewer.teamIds.includes(teamId) ||
    hasPermission(viewer.actor, 'admin:teams') ||
    hasPermission(viewer.actor, 'ticket:view_all')
  );
}

/**
 * Who may edit or delete a view: its owner; for a team view, admins of teams and the team's
 * leads (members holding `ticket:reassign`, the permission that manages a team's queue).
 */
export function canManageView(viewer: Viewer, view: Pick<ViewRow, 'ownerId' | 'teamId'>): boolean {
  if (view.ownerId !== null) return view.ownerId === viewer.actor.userId;
  if (hasPermission(viewer.actor, 'admin:teams')) return true;
  return viewer.teamIds.includes(view.teamId!) && hasPermission(viewer.actor, 'ticket:reassign');
}

/**
 * Whether a view's count is exactly what the viewer's list of it pages through. Counts are of
 * the filters across the organisation; an agent who sees only their teams sees all of a
 * view's tickets only when its filters keep to what they see (their team, no team, their own).
 */
export function countIsWholeFor(viewer: Viewer, filters: TicketFilters): boolean {
  const { actor } = viewer;
  if (hasPermission(actor, 'ticket:view_all')) return true;
  if (filters.team === 'none' || (filters.team && viewer.teamIds.includes(filters.team))) return true;
  const own = (value: string | undefined) => value === 'me' || value === actor.userId;
  return own(filters.assignee) || own(filters.requester);
}
