import type { Database, Executor } from '../../platform/db/database.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import type { EventOrigin } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, hasPermission } from '../identity/index.js';
import type { SlaConfigurationCache } from './configuration.cache.js';
import { lockConfiguration } from './configuration.repository.js';

/**
 * What the SLA configuration use cases share (calendars.service.ts, policies.service.ts):
 * the permission, the transaction that locks the configuration and evicts the cache after
 * its commit, and the shapes of their errors and events.
 */

export interface ConfigurationContext {
  database: Database;
  cache: SlaConfigurationCache;
}

/** Field path → message, as 422 `details` carries them. */
export type Problems = Record<string, string>;
export type Changes = Record<string, { from: unknown; to: unknown }>;

export const originOf = (actor: Actor): EventOrigin => ({
  orgId: actor.orgId,
  actorId: actor.userId,
  requestId: actor.requestId ?? null,
});

export const nameTaken = (what: string, name: string) =>
  new AppError('NAME_TAKEN', `${what} named "${name}" exists`);

/** Throws one 422 listing every problem, when there is any. */
export function refuseProblems(message: string, problems: Problems): void {
  if (Object.keys(problems).length > 0) throw new AppError('UNPROCESSABLE', message, { details: problems });
}

/** Records `from → to` in `changes` when the two differ (compared as JSON). */
export function noteChange(changes: Changes, field: string, from: unknown, to: unknown): void {
  if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from, to };
}

/** The use cases' common frame: permission, locked transaction, eviction after commit. */
export class ConfigurationUseCases {
  constructor(protected readonly context: ConfigurationContext) {}

  /** Every SLA configuration endpoint, reads included, is for `sla:manage` holders. */
  protected authorize(actor: Actor): void {
    if (!hasPermission(actor, 'sla:manage'))
      throw new AppError('FORBIDDEN', 'Managing SLA configuration needs sla:manage');
  }

  protected read<T>(actor: Actor, work: (tx: Executor) => Promise<T>): Promise<T> {
    this.authorize(actor);
    return this.context.database.withOrg(actor.orgId, work);
  }

  /**
   * A configuration change in one transaction holding the organisation's configuration
   * lock; after its commit, every process drops the cached configuration. A unique-index
   * race (both passed the name check) answers as `taken` does.
   */
  protected async change<T>(
    actor: Actor,
    work: (tx: Executor) => Promise<T>,
    taken?: () => AppError,
  ): Promise<T> {
    this.authorize(actor);
    let result: T;
    try {
      result = await this.context.database.withOrg(actor.orgId, async (tx) => {
        await lockConfiguration(tx, actor.orgId);
        return work(tx);
      });
    } catch (error) {
      if (taken && isUniqueViolation(error)) throw taken();
      throw error;
    }
    await this.context.cache.invalidate(actor.orgId);
    return result;
  }
}
