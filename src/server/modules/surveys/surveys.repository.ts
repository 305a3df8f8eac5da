import { and, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { csatResponses } from './surveys.table.js';

export type CsatRow = typeof csatResponses.$inferSelect;
export type CsatInsert = typeof csatResponses.$inferInsert;

export async function findByTicket(
  tx: Executor,
  orgId: string,
  ticketId: string,
  options: { lock?: boolean } = {},
): Promise<CsatRow | undefined> {
  const query = tx
    .select()
    .from(csatResponses)
    .where(and(eq(csatResponses.orgId, orgId), eq(csatResponses.ticketId, ticketId)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

/** The survey of a ticket; a second insert for the ticket (a concurrent job) inserts nothing. */
export async function insertSurvey(tx: Executor, values: CsatInsert): Promise<CsatRow | undefined> {
  const [row] = await tx.insert(csatResponses).values(values).onConflictDoNothing().returning();
  return row;
}

export async function updateAnswer(
  tx: Executor,
  orgId: string,
  id: string,
  values: Pick<Partial<CsatInsert>, 'rating' | 'comment' | 'answeredAt' | 'changedAt'>,
): Promise<CsatRow> {
  const [row] = await tx
    .update(csatResponses)
    .set(values)
    .where(and(eq(csatResponses.orgId, orgId), eq(csatResponses.id, id)))
    .returning();
  return row!;
}

/**
 * Surveys sent in [from, to), counted per rating (`null`: not answered), optionally only
 * those of the given teams.
 */
export async function ratingCounts(
  tx: Executor,
  orgId: string,
  filter: { from?: Date | undefined; to?: Date | undefined; teamIds?: readonly string[] | undefined },
): Promise<Array<{ rating: number | null; count: number }>> {
  const conditions: SQL[] = [eq(csatResponses.orgId, orgId)];
  if (filter.from) conditions.push(gte(csatResponses.sentAt, filter.from));
  if (filter.to) conditions.push(lt(csatResponses.sentAt, filter.to));
  if (filter.teamIds) conditions.push(inArray(csatResponses.teamId, [...filter.teamIds]));
  return tx
    .select({ rating: csatResponses.rating, count: sql<number>`count(*)::int` })
    .from(csatResponses)
    .where(and(...conditions))
    .groupBy(csatResponses.rating);
}
