import type { Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import {
  type CategoryRow,
  type FieldDefinitionRow,
  listCategories,
  listFieldDefinitions,
} from './settings.repository.js';

/** What ticket reads and writes need of an organisation's settings on every request. */
export interface OrgSettings {
  /** Live categories, in sibling order. */
  categories: readonly CategoryRow[];
  /** Custom field definitions, archived ones included, in display order. */
  fields: readonly FieldDefinitionRow[];
}

/**
 * Categories and custom field definitions per organisation, cached in each process: every
 * list, read and create needs them, and they change rarely. SettingsService evicts an
 * organisation after each committed change, in every process (SharedCache); the TTL bounds
 * staleness if an eviction message is lost. Only committed state is cached: code that
 * changes settings reads them from the repository, never from here.
 */
export class OrgSettingsCache {
  private readonly cache: SharedCache<OrgSettings>;

  constructor(pubsub: PubSub) {
    this.cache = new SharedCache<OrgSettings>(pubsub, 'ticket-settings-invalidated', {
      ttlMs: 60_000,
      maxEntries: 10_000,
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  of(tx: Executor, orgId: string): Promise<OrgSettings> {
    return this.cache.load(orgId, () => readOrgSettings(tx, orgId));
  }

  /** Call after the change committed. */
  invalidate(orgId: string): Promise<void> {
    return this.cache.invalidate(orgId);
  }
}

/** The settings as they are in `tx`, uncached. */
export async function readOrgSettings(tx: Executor, orgId: string): Promise<OrgSettings> {
  const categories = await listCategories(tx, orgId);
  const fields = await listFieldDefinitions(tx, orgId);
  return { categories, fields };
}
