import type { DirectoryTeam } from '../identity/index.js';
import type { TicketFilters, TicketSort } from './tickets.filters.js';
import type { ViewRow } from './views.repository.js';
import type { ViewResponse } from './views.schema.js';

/** A saved view as the API shows it, with its maintained count. */
export function presentView(
  view: ViewRow,
  count: number,
  teams: ReadonlyMap<string, DirectoryTeam>,
): ViewResponse {
  const team = view.teamId ? teams.get(view.teamId) : undefined;
  return {
    id: view.id,
    name: view.name,
    scope: view.teamId ? 'team' : 'personal',
    ownerId: view.ownerId,
    // A team deleted since keeps its id; its name is gone with it.
    team: view.teamId ? { id: view.teamId, name: team?.name ?? '' } : null,
    filters: view.filters as TicketFilters,
    sort: view.sort as TicketSort,
    position: view.position,
    count,
    createdAt: view.createdAt.toISOString(),
    updatedAt: view.updatedAt.toISOString(),
  };
}
