import type { Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import type { BusinessCalendar, Holiday } from './business-time.js';
import {
  findEscalationPolicy,
  listBusinessCalendars,
  listHolidays,
  listPolicies,
  listTeamCalendars,
  type SlaPolicyRow,
} from './configuration.repository.js';
import type { EscalationLevel } from './sla.table.js';

export type SlaPolicy = SlaPolicyRow;

/** What the SLA engine needs of an organisation's configuration on every ticket change. */
export interface SlaConfiguration {
  /** Enabled, non-deleted policies in position order. */
  policies: SlaPolicy[];
  /** Calendar id → calendar with the holidays of all its holiday calendars merged in. */
  calendars: Map<string, BusinessCalendar>;
  /** Team id → calendar id. */
  teamCalendarIds: Map<string, string>;
  defaultCalendarId: string | null;
  escalation: { levels: EscalationLevel[]; managerIds: string[]; seniorRole: string | null } | null;
}

/**
 * The SLA configuration per organisation, cached in each process: the engine needs it on
 * every ticket change, and it changes rarely. The configuration services evict an
 * organisation after each committed change, in every process (SharedCache); the TTL bounds
 * staleness if an eviction message is lost. Only committed state is cached: code that
 * changes the configuration reads it from the repository, never from here.
 */
export class SlaConfigurationCache {
  private readonly cache: SharedCache<SlaConfiguration>;

  constructor(pubsub: PubSub) {
    this.cache = new SharedCache<SlaConfiguration>(pubsub, 'sla-configuration-invalidated', {
      ttlMs: 60_000,
      maxEntries: 10_000,
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  of(tx: Executor, orgId: string): Promise<SlaConfiguration> {
    return this.cache.load(orgId, () => readSlaConfiguration(tx, orgId));
  }

  /** Call after the change committed. */
  invalidate(orgId: string): Promise<void> {
    return this.cache.invalidate(orgId);
  }
}

/** The configuration as it is in `tx`, uncached. */
export async function readSlaConfiguration(tx: Executor, orgId: string): Promise<SlaConfiguration> {
  // One after another: a transaction is one connection, which runs one query at a time anyway.
  const policies = await listPolicies(tx, orgId, { enabledOnly: true });
  const calendarRows = await listBusinessCalendars(tx, orgId);
  const holidayRows = await listHolidays(tx, orgId);
  const assignments = await listTeamCalendars(tx, orgId);
  const escalation = await findEscalationPolicy(tx, orgId);
  const holidaysBySet = new Map<string, Holiday[]>();
  for (const row of holidayRows) {
    const list = holidaysBySet.get(row.holidayCalendarId) ?? [];
    list.push({ date: row.date, recurring: row.recurring });
    holidaysBySet.set(row.holidayCalendarId, list);
  }
  const calendars = new Map<string, BusinessCalendar>();
  let defaultCalendarId: string | null = null;
  for (const row of calendarRows) {
    // Two holiday calendars may both list a day (a public holiday that is also a company day).
    const merged = new Map<string, Holiday>();
    for (const id of row.holidayCalendarIds) {
      for (const holiday of holidaysBySet.get(id) ?? []) {
        merged.set(`${holiday.recurring ? 'R' : 'D'}${holiday.date}`, holiday);
      }
    }
    calendars.set(row.id, { timeZone: row.timeZone, hours: row.hours, holidays: [...merged.values()] });
    if (row.isDefault) defaultCalendarId = row.id;
  }
  return {
    policies,
    calendars,
    teamCalendarIds: new Map(assignments.map((row) => [row.teamId, row.calendarId])),
    defaultCalendarId,
    escalation: escalation
      ? { levels: escalation.levels, managerIds: escalation.managerIds, seniorRole: escalation.seniorRole }
      : null,
  };
}
