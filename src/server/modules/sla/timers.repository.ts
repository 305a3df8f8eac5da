import { and, asc, eq, inArray, isNotNull, isNull, lte, max, or, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { slaTimerEvents, slaTimers } from './sla.table.js';

/** Queries of SLA timers. Every function takes the executor; none opens a transaction. */

export type TimerRow = typeof slaTimers.$inferSelect;
export type TimerInsert = typeof slaTimers.$inferInsert;
export type TimerEventRow = typeof slaTimerEvents.$inferSelect;

/**
 * The live timers of tickets, locked. Callers hold the tickets' row locks already, and the
 * firing side locks the ticket before its timer, so the two never wait on each other in
 * opposite orders.
 */
export async function lockActiveTimers(tx: Executor, ticketIds: readonly string[]): Promise<TimerRow[]> {
  if (ticketIds.length === 0) return [];
  return tx
    .select()
    .from(slaTimers)
    .where(and(inArray(slaTimers.ticketId, [...ticketIds]), isNull(slaTimers.completedAt)))
    .orderBy(asc(slaTimers.id))
    .for('update');
}

export async function insertTimers(tx: Executor, rows: readonly TimerInsert[]): Promise<TimerRow[]> {
  if (rows.length === 0) return [];
  return tx
    .insert(slaTimers)
    .values([...rows])
    .returning();
}

export async function updateTimer(tx: Executor, id: string, set: Partial<TimerInsert>): Promise<TimerRow> {
  const [row] = await tx
    .update(slaTimers)
    .set({ ...set, updatedAt: new Date() })
    .where(eq(slaTimers.id, id))
    .returning();
  return row!;
}

/**
 * Writes the clock columns of many timers in one statement (a bulk ticket update moves up
 * to 500 tickets' clocks at once). The columns only firing changes are left alone.
 */
export async function updateTimerClocks(tx: Executor, rows: readonly TimerRow[]): Promise<TimerRow[]> {
  if (rows.length === 0) return [];
  const values = rows.map((row) => ({
    id: row.id,
    policy_id: row.policyId,
    target_seconds: row.targetSeconds,
    calendar_id: row.calendarId,
    at_risk_share: row.atRiskShare,
    state: row.state,
    segment_started_at: row.segmentStartedAt,
    consumed_ms: row.consumedMs,
    at_risk_at: row.atRiskAt,
    due_at: row.dueAt,
    paused_at: row.pausedAt,
    next_fire_at: row.nextFireAt,
    completed_at: row.completedAt,
  }));
  return tx
    .update(slaTimers)
    .set({
      policyId: sql`v.policy_id`,
      targetSeconds: sql`v.target_seconds`,
      calendarId: sql`v.calendar_id`,
      atRiskShare: sql`v.at_risk_share`,
      state: sql`v.state`,
      segmentStartedAt: sql`v.segment_started_at`,
      consumedMs: sql`v.consumed_ms`,
      atRiskAt: sql`v.at_risk_at`,
      dueAt: sql`v.due_at`,
      pausedAt: sql`v.paused_at`,
      nextFireAt: sql`v.next_fire_at`,
      completedAt: sql`v.completed_at`,
      updatedAt: new Date(),
    })
    .from(
      sql`jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as v(id uuid, policy_id uuid, target_seconds integer,
        calendar_id uuid, at_risk_share real, state text, segment_started_at timestamptz, consumed_ms bigint,
        at_risk_at timestamptz, due_at timestamptz, paused_at timestamptz, next_fire_at timestamptz,
        completed_at timestamptz)`,
    )
    .where(sql`${slaTimers.id} = v.id`)
    .returning();
}

/** Removes timers that never fired anything (a ticket no policy covers any more). */
export async function deleteTimers(tx: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.delete(slaTimers).where(inArray(slaTimers.id, [...ids]));
}

/** The highest cycle of each kind on a ticket, for numbering the next timer. */
export async function lastCycles(tx: Executor, ticketId: string): Promise<Map<string, number>> {
  const rows = await tx
    .select({ kind: slaTimers.kind, cycle: max(slaTimers.cycle) })
    .from(slaTimers)
    .where(eq(slaTimers.ticketId, ticketId))
    .groupBy(slaTimers.kind);
  return new Map(rows.map((row) => [row.kind, row.cycle ?? 0]));
}

export async function findTimer(tx: Executor, id: string, options: { lock?: boolean } = {}) {
  const query = tx.select().from(slaTimers).where(eq(slaTimers.id, id));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

/** Timers of a ticket, newest cycle first within each kind. */
export async function timersOfTicket(tx: Executor, ticketId: string): Promise<TimerRow[]> {
  return tx
    .select()
    .from(slaTimers)
    .where(eq(slaTimers.ticketId, ticketId))
    .orderBy(asc(slaTimers.kind), sql`${slaTimers.cycle} desc`);
}

/** Tickets with live timers, in id order after `after` (paging through an organisation). */
export async function ticketsWithLiveTimers(
  tx: Executor,
  orgId: string,
  after: string | null,
  limit: number,
) {
  const rows = await tx
    .selectDistinct({ ticketId: slaTimers.ticketId })
    .from(slaTimers)
    .where(
      and(
        eq(slaTimers.orgId, orgId),
        isNull(slaTimers.completedAt),
        after ? sql`${slaTimers.ticketId} > ${after}` : undefined,
      ),
    )
    .orderBy(asc(slaTimers.ticketId))
    .limit(limit);
  return rows.map((row) => row.ticketId);
}

/** Timers whose next step is due by `before`, oldest first (every organisation: system transactions). */
export async function dueTimers(tx: Executor, before: Date, limit: number) {
  return tx
    .select({ id: slaTimers.id, orgId: slaTimers.orgId, nextFireAt: slaTimers.nextFireAt })
    .from(slaTimers)
    .where(and(isNotNull(slaTimers.nextFireAt), lte(slaTimers.nextFireAt, before)))
    .orderBy(asc(slaTimers.nextFireAt))
    .limit(limit);
}

/**
 * Records that a step happened. The unique key (timer, kind, level) makes this the one
 * place that decides whether it already had: returns false when it had.
 */
export async function insertTimerEvent(
  tx: Executor,
  row: typeof slaTimerEvents.$inferInsert,
): Promise<boolean> {
  const inserted = await tx
    .insert(slaTimerEvents)
    .values(row)
    .onConflictDoNothing()
    .returning({ id: slaTimerEvents.id });
  return inserted.length > 0;
}

/** Live timers that are at risk, breached, or due before `dueBefore`, soonest due first. */
export async function boardTimers(tx: Executor, orgId: string, dueBefore: Date, limit: number) {
  return tx
    .select()
    .from(slaTimers)
    .where(
      and(
        eq(slaTimers.orgId, orgId),
        isNull(slaTimers.completedAt),
        or(inArray(slaTimers.state, ['at_risk', 'breached']), lte(slaTimers.dueAt, dueBefore)),
      ),
    )
    .orderBy(sql`${slaTimers.dueAt} asc nulls last`, asc(slaTimers.id))
    .limit(limit);
}

/** The steps a timer took, in order. */
export async function eventsOfTimers(tx: Executor, timerIds: readonly string[]): Promise<TimerEventRow[]> {
  if (timerIds.length === 0) return [];
  return tx
    .select()
    .from(slaTimerEvents)
    .where(inArray(slaTimerEvents.timerId, [...timerIds]))
    .orderBy(asc(slaTimerEvents.firedAt));
}
