import type { Executor } from '../../platform/db/database.js';

/** Which saved views each ticket matches: view id → ticket ids. */
export type ViewMatches = ReadonlyMap<string, ReadonlySet<string>>;

export const NO_MATCHES: ViewMatches = new Map();

/**
 * Keeps saved-view counts in step with ticket changes. A use case takes `matching` of the
 * tickets it is about to change, makes the change, then calls `settle` in the same
 * transaction; the difference becomes count deltas.
 */
export class ViewCounts {
  async matching(_tx: Executor, _orgId: string, _ticketIds: readonly string[]): Promise<ViewMatches> {
    return NO_MATCHES;
  }

  async settle(
    _tx: Executor,
    _orgId: string,
    _ticketIds: readonly string[],
    _before: ViewMatches,
  ): Promise<void> {}
}
