import { type BusinessCalendar, BusinessClock } from './business-time.js';
import type { SlaConfiguration } from './configuration.cache.js';
import type { PolicyConditions, slaPolicies } from './sla.table.js';
import {
  atRiskAt,
  dueAt,
  liveState,
  type NumberedLevel,
  nextFireAt,
  numberLevels,
  type TimerClock,
  type TimerState,
} from './timers.js';

export type SlaPolicy = typeof slaPolicies.$inferSelect;

/** What policy conditions look at on a ticket. */
export interface PolicySubject {
  teamId: string | null;
  categoryId: string | null;
  channel: string;
  priority: string;
  customFields: Record<string, unknown>;
}

/** The requester traits policies may test, loaded only when some policy asks. */
export interface RequesterTraits {
  company: string | null;
  isVip: boolean;
}

const ROUND_THE_CLOCK = new BusinessClock(null);
// One clock per calendar object: a clock memoises each day's intervals, and a calendar
// object lives exactly as long as the cached configuration it came from.
const clocks = new WeakMap<BusinessCalendar, BusinessClock>();
const levelsOf = new WeakMap<SlaConfiguration, NumberedLevel[]>();

/** The clock of a calendar id (round the clock for null or a calendar since deleted). */
export function clockOf(configuration: SlaConfiguration, calendarId: string | null): BusinessClock {
  const calendar = calendarId ? configuration.calendars.get(calendarId) : undefined;
  if (!calendar) return ROUND_THE_CLOCK;
  let clock = clocks.get(calendar);
  if (!clock) {
    clock = new BusinessClock(calendar);
    clocks.set(calendar, clock);
  }
  return clock;
}

/** The organisation's escalation levels, numbered. */
export function escalationLevels(configuration: SlaConfiguration): NumberedLevel[] {
  let levels = levelsOf.get(configuration);
  if (!levels) {
    levels = numberLevels(configuration.escalation?.levels ?? []);
    levelsOf.set(configuration, levels);
  }
  return levels;
}

/** The calendar a policy counts by for a ticket: its own, the team's, the default, or none. */
export function calendarFor(configuration: SlaConfiguration, policy: SlaPolicy, teamId: string | null) {
  if (policy.businessHours === 'always') return null;
  if (policy.businessHours === 'calendar') return policy.calendarId;
  return (teamId ? configuration.teamCalendarIds.get(teamId) : undefined) ?? configuration.defaultCalendarId;
}

/** True when some policy tests the requester (so their traits must be loaded). */
export const testsRequester = (configuration: SlaConfiguration) =>
  configuration.policies.some(
    (policy) => policy.conditions.requesterCompanies?.length || policy.conditions.requesterVip !== undefined,
  );

/** The first enabled policy whose every condition holds, or null. */
export function choosePolicy(
  configuration: SlaConfiguration,
  subject: PolicySubject,
  requester: RequesterTraits | undefined,
): SlaPolicy | null {
  return (
    configuration.policies.find(
      (policy) => policy.enabled && matches(policy.conditions, subject, requester),
    ) ?? null
  );
}

function matches(
  conditions: PolicyConditions,
  subject: PolicySubject,
  requester: RequesterTraits | undefined,
) {
  const within = (list: readonly string[] | undefined, value: string | null) =>
    !list || list.length === 0 || (value !== null && list.includes(value));
  if (!within(conditions.teamIds, subject.teamId)) return false;
  if (!within(conditions.categoryIds, subject.categoryId)) return false;
  if (!within(conditions.channels, subject.channel)) return false;
  if (!within(conditions.priorities, subject.priority)) return false;
  if (conditions.requesterCompanies?.length) {
    const company = requester?.company?.toLowerCase() ?? null;
    if (!company || !conditions.requesterCompanies.some((wanted) => wanted.toLowerCase() === company))
      return false;
  }
  if (conditions.requesterVip !== undefined && (requester?.isVip ?? false) !== conditions.requesterVip)
    return false;
  for (const [key, accepted] of Object.entries(conditions.customFields ?? {})) {
    const value = subject.customFields[key];
    const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    if (!values.some((item) => accepted.includes(item as string | number | boolean))) return false;
  }
  return true;
}

/** The columns derived from a timer's clock: state and the instants it is due, at risk and next fires. */
export function derived(
  clock: BusinessClock,
  timer: TimerClock,
  levels: readonly NumberedLevel[],
): { state: TimerState; dueAt: Date | null; atRiskAt: Date | null; nextFireAt: Date | null } {
  return {
    state: liveState(timer),
    dueAt: dueAt(clock, timer),
    atRiskAt: atRiskAt(clock, timer),
    nextFireAt: nextFireAt(clock, timer, levels),
  };
}
