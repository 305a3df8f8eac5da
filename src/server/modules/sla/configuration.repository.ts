import { and, asc, eq, inArray, isNotNull, isNull, ne, notInArray, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { ticketTables } from '../tickets/index.js';
import {
  businessCalendars,
  escalationPolicies,
  holidayCalendars,
  holidays,
  slaPolicies,
  slaTimers,
  teamCalendars,
} from './sla.table.js';

/** Queries for an organisation's SLA configuration. */

export type HolidayCalendarRow = typeof holidayCalendars.$inferSelect;
export type HolidayRow = typeof holidays.$inferSelect;
export type BusinessCalendarRow = typeof businessCalendars.$inferSelect;
export type SlaPolicyRow = typeof slaPolicies.$inferSelect;
export type EscalationPolicyRow = typeof escalationPolicies.$inferSelect;
export type NamedRow = { id: string; name: string };

const { ticketCategories, ticketFieldDefinitions } = ticketTables;

/**
 * Serialises changes to one organisation's SLA configuration until the transaction ends:
 * policy positions, the single default calendar and the references between calendars and
 * policies are each checked and then written, which two concurrent changes could interleave.
 */
export async function lockConfiguration(tx: Executor, orgId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`sla_configuration:${orgId}`}, 0))`);
}

// Holiday calendars

export async function listHolidayCalendars(tx: Executor, orgId: string): Promise<HolidayCalendarRow[]> {
  return tx
    .select()
    .from(holidayCalendars)
    .where(eq(holidayCalendars.orgId, orgId))
    .orderBy(asc(sql`lower(${holidayCalendars.name})`), asc(holidayCalendars.id));
}

export async function findHolidayCalendar(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(holidayCalendars)
    .where(and(eq(holidayCalendars.orgId, orgId), eq(holidayCalendars.id, id)));
  return row;
}

/** A holiday calendar whose name equals `name` ignoring case (the unique index's rule). */
export async function findHolidayCalendarNamed(tx: Executor, orgId: string, name: string) {
  const [row] = await tx
    .select({ id: holidayCalendars.id })
    .from(holidayCalendars)
    .where(and(eq(holidayCalendars.orgId, orgId), sql`lower(${holidayCalendars.name}) = lower(${name})`));
  return row;
}

/** Holidays of the given holiday calendars (all of the organisation's when omitted), by date. */
export async function listHolidays(
  tx: Executor,
  orgId: string,
  holidayCalendarIds?: readonly string[],
): Promise<HolidayRow[]> {
  if (holidayCalendarIds?.length === 0) return [];
  return tx
    .select()
    .from(holidays)
    .where(
      and(
        eq(holidays.orgId, orgId),
        holidayCalendarIds ? inArray(holidays.holidayCalendarId, [...holidayCalendarIds]) : undefined,
      ),
    )
    .orderBy(asc(holidays.date));
}

export async function insertHolidayCalendar(tx: Executor, values: typeof holidayCalendars.$inferInsert) {
  const [row] = await tx.insert(holidayCalendars).values(values).returning();
  return row!;
}

export async function updateHolidayCalendar(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<typeof holidayCalendars.$inferInsert>,
) {
  const [row] = await tx
    .update(holidayCalendars)
    .set(changes)
    .where(and(eq(holidayCalendars.orgId, orgId), eq(holidayCalendars.id, id)))
    .returning();
  return row;
}

/** Replaces the holidays of a holiday calendar. */
export async function replaceHolidays(
  tx: Executor,
  orgId: string,
  holidayCalendarId: string,
  entries: ReadonlyArray<{ date: string; name: string; recurring: boolean }>,
): Promise<void> {
  await tx
    .delete(holidays)
    .where(and(eq(holidays.orgId, orgId), eq(holidays.holidayCalendarId, holidayCalendarId)));
  if (entries.length === 0) return;
  await tx.insert(holidays).values(entries.map((entry) => ({ ...entry, orgId, holidayCalendarId })));
}

/** Deletes a holiday calendar; its holidays go with it (cascade). */
export async function deleteHolidayCalendar(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx
    .delete(holidayCalendars)
    .where(and(eq(holidayCalendars.orgId, orgId), eq(holidayCalendars.id, id)));
}

/** Which of `ids` are holiday calendars of the organisation. */
export async function existingHolidayCalendarIds(
  tx: Executor,
  orgId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx
    .select({ id: holidayCalendars.id })
    .from(holidayCalendars)
    .where(and(eq(holidayCalendars.orgId, orgId), inArray(holidayCalendars.id, [...new Set(ids)])));
  return new Set(rows.map((row) => row.id));
}

/** Business calendars that close on the holidays of this holiday calendar. */
export async function calendarsUsingHolidayCalendar(
  tx: Executor,
  orgId: string,
  holidayCalendarId: string,
): Promise<NamedRow[]> {
  return tx
    .select({ id: businessCalendars.id, name: businessCalendars.name })
    .from(businessCalendars)
    .where(
      and(
        eq(businessCalendars.orgId, orgId),
        sql`${holidayCalendarId}::uuid = any(${businessCalendars.holidayCalendarIds})`,
      ),
    )
    .orderBy(asc(businessCalendars.name));
}

// Business calendars

export async function listBusinessCalendars(tx: Executor, orgId: string): Promise<BusinessCalendarRow[]> {
  return tx
    .select()
    .from(businessCalendars)
    .where(eq(businessCalendars.orgId, orgId))
    .orderBy(asc(sql`lower(${businessCalendars.name})`), asc(businessCalendars.id));
}

export async function findBusinessCalendar(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(businessCalendars)
    .where(and(eq(businessCalendars.orgId, orgId), eq(businessCalendars.id, id)));
  return row;
}

/** A business calendar whose name equals `name` ignoring case (the unique index's rule). */
export async function findBusinessCalendarNamed(tx: Executor, orgId: string, name: string) {
  const [row] = await tx
    .select({ id: businessCalendars.id })
    .from(businessCalendars)
    .where(and(eq(businessCalendars.orgId, orgId), sql`lower(${businessCalendars.name}) = lower(${name})`));
  return row;
}

export async function insertBusinessCalendar(tx: Executor, values: typeof businessCalendars.$inferInsert) {
  const [row] = await tx.insert(businessCalendars).values(values).returning();
  return row!;
}

export async function updateBusinessCalendar(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<typeof businessCalendars.$inferInsert>,
) {
  const [row] = await tx
    .update(businessCalendars)
    .set(changes)
    .where(and(eq(businessCalendars.orgId, orgId), eq(businessCalendars.id, id)))
    .returning();
  return row;
}

/** Unsets the organisation's default calendar (other than `exceptId`); returns the one it was. */
export async function clearDefaultCalendar(
  tx: Executor,
  orgId: string,
  exceptId?: string,
): Promise<NamedRow | undefined> {
  const [row] = await tx
    .update(businessCalendars)
    .set({ isDefault: false })
    .where(
      and(
        eq(businessCalendars.orgId, orgId),
        eq(businessCalendars.isDefault, true),
        exceptId ? ne(businessCalendars.id, exceptId) : undefined,
      ),
    )
    .returning({ id: businessCalendars.id, name: businessCalendars.name });
  return row;
}

export async function deleteBusinessCalendar(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx
    .delete(businessCalendars)
    .where(and(eq(businessCalendars.orgId, orgId), eq(businessCalendars.id, id)));
}

/** Every team → calendar assignment of the organisation. */
export async function listTeamCalendars(tx: Executor, orgId: string) {
  return tx
    .select({ teamId: teamCalendars.teamId, calendarId: teamCalendars.calendarId })
    .from(teamCalendars)
    .where(eq(teamCalendars.orgId, orgId))
    .orderBy(asc(teamCalendars.teamId));
}

/**
 * Makes `teamIds` exactly the teams of `calendarId`: teams assigned to another calendar move
 * here, teams no longer listed lose their calendar.
 */
export async function setCalendarTeams(
  tx: Executor,
  orgId: string,
  calendarId: string,
  teamIds: readonly string[],
): Promise<void> {
  await tx
    .delete(teamCalendars)
    .where(
      and(
        eq(teamCalendars.orgId, orgId),
        eq(teamCalendars.calendarId, calendarId),
        teamIds.length > 0 ? notInArray(teamCalendars.teamId, [...teamIds]) : undefined,
      ),
    );
  if (teamIds.length === 0) return;
  await tx
    .insert(teamCalendars)
    .values(teamIds.map((teamId) => ({ teamId, orgId, calendarId })))
    .onConflictDoUpdate({ target: teamCalendars.teamId, set: { calendarId } });
}

/** Live policies that count by this calendar. */
export async function livePoliciesUsingCalendar(
  tx: Executor,
  orgId: string,
  calendarId: string,
): Promise<NamedRow[]> {
  return tx
    .select({ id: slaPolicies.id, name: slaPolicies.name })
    .from(slaPolicies)
    .where(
      and(
        eq(slaPolicies.orgId, orgId),
        eq(slaPolicies.calendarId, calendarId),
        isNull(slaPolicies.deletedAt),
      ),
    )
    .orderBy(asc(slaPolicies.position));
}

/**
 * Points deleted policies that counted by this calendar at round-the-clock time, so the
 * calendar can go: a deleted policy starts no timers, and its timers carry their own calendar.
 */
export async function detachDeletedPolicies(tx: Executor, orgId: string, calendarId: string): Promise<void> {
  await tx
    .update(slaPolicies)
    .set({ businessHours: 'always', calendarId: null })
    .where(
      and(
        eq(slaPolicies.orgId, orgId),
        eq(slaPolicies.calendarId, calendarId),
        isNotNull(slaPolicies.deletedAt),
      ),
    );
}

/** True when a ticket's SLA timer counted (or counts) by this calendar. */
export async function hasTimersOnCalendar(tx: Executor, orgId: string, calendarId: string): Promise<boolean> {
  const rows = await tx
    .select({ one: sql<number>`1` })
    .from(slaTimers)
    .where(and(eq(slaTimers.orgId, orgId), eq(slaTimers.calendarId, calendarId)))
    .limit(1);
  return rows.length > 0;
}

// SLA policies

/** Live policies in evaluation order; only enabled ones when asked. */
export async function listPolicies(
  tx: Executor,
  orgId: string,
  options: { enabledOnly?: boolean } = {},
): Promise<SlaPolicyRow[]> {
  return tx
    .select()
    .from(slaPolicies)
    .where(
      and(
        eq(slaPolicies.orgId, orgId),
        isNull(slaPolicies.deletedAt),
        options.enabledOnly ? eq(slaPolicies.enabled, true) : undefined,
      ),
    )
    .orderBy(asc(slaPolicies.position), asc(slaPolicies.id));
}

/** A live policy. */
export async function findPolicy(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(slaPolicies)
    .where(and(eq(slaPolicies.orgId, orgId), eq(slaPolicies.id, id), isNull(slaPolicies.deletedAt)));
  return row;
}

/** A live policy whose name equals `name` ignoring case (the unique index's rule). */
export async function findPolicyNamed(tx: Executor, orgId: string, name: string) {
  const [row] = await tx
    .select({ id: slaPolicies.id })
    .from(slaPolicies)
    .where(
      and(
        eq(slaPolicies.orgId, orgId),
        isNull(slaPolicies.deletedAt),
        sql`lower(${slaPolicies.name}) = lower(${name})`,
      ),
    );
  return row;
}

/** The position after the last live policy. */
export async function nextPolicyPosition(tx: Executor, orgId: string): Promise<number> {
  const [row] = await tx
    .select({ next: sql<number>`coalesce(max(${slaPolicies.position}) + 1, 0)::int` })
    .from(slaPolicies)
    .where(and(eq(slaPolicies.orgId, orgId), isNull(slaPolicies.deletedAt)));
  return row?.next ?? 0;
}

export async function insertPolicy(tx: Executor, values: typeof slaPolicies.$inferInsert) {
  const [row] = await tx.insert(slaPolicies).values(values).returning();
  return row!;
}

export async function updatePolicy(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<typeof slaPolicies.$inferInsert>,
) {
  const [row] = await tx
    .update(slaPolicies)
    .set(changes)
    .where(and(eq(slaPolicies.orgId, orgId), eq(slaPolicies.id, id)))
    .returning();
  return row;
}

/** Which of `ids` are live ticket categories of the organisation. */
export async function existingCategoryIds(
  tx: Executor,
  orgId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await tx
    .select({ id: ticketCategories.id })
    .from(ticketCategories)
    .where(
      and(
        eq(ticketCategories.orgId, orgId),
        inArray(ticketCategories.id, [...new Set(ids)]),
        isNull(ticketCategories.deletedAt),
      ),
    );
  return new Set(rows.map((row) => row.id));
}

/** Live (not archived) custom field definitions with these keys, by key. */
export async function liveFieldDefinitions(tx: Executor, orgId: string, keys: readonly string[]) {
  if (keys.length === 0) return new Map<string, { key: string; type: string; options: string[] }>();
  const rows = await tx
    .select({
      key: ticketFieldDefinitions.key,
      type: ticketFieldDefinitions.type,
      options: ticketFieldDefinitions.options,
    })
    .from(ticketFieldDefinitions)
    .where(
      and(
        eq(ticketFieldDefinitions.orgId, orgId),
        inArray(ticketFieldDefinitions.key, [...new Set(keys)]),
        isNull(ticketFieldDefinitions.archivedAt),
      ),
    );
  return new Map(rows.map((row) => [row.key, row]));
}

// Escalation policy

export async function findEscalationPolicy(tx: Executor, orgId: string) {
  const [row] = await tx.select().from(escalationPolicies).where(eq(escalationPolicies.orgId, orgId));
  return row;
}

export async function upsertEscalationPolicy(
  tx: Executor,
  values: Omit<typeof escalationPolicies.$inferInsert, 'createdAt' | 'updatedAt'>,
) {
  const { orgId, ...changes } = values;
  const [row] = await tx
    .insert(escalationPolicies)
    .values(values)
    .onConflictDoUpdate({ target: escalationPolicies.orgId, set: { ...changes, updatedAt: new Date() } })
    .returning();
  return row!;
}
