import { and, asc, eq, ilike, isNull, or } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { cannedResponses, macros } from './templates.table.js';

export type CannedResponseRow = typeof cannedResponses.$inferSelect;
export type MacroRow = typeof macros.$inferSelect;

/** Most rows a list returns; an organisation's templates are a menu, not a data set. */
export const LIST_LIMIT = 500;

const sharedOr = (ownerId: typeof cannedResponses.ownerId | typeof macros.ownerId, userId: string) =>
  or(isNull(ownerId), eq(ownerId, userId));

/** Shared canned responses and the user's own, by title; `q` filters titles. */
export async function listCannedResponses(tx: Executor, orgId: string, userId: string, q?: string) {
  return tx
    .select()
    .from(cannedResponses)
    .where(
      and(
        eq(cannedResponses.orgId, orgId),
        sharedOr(cannedResponses.ownerId, userId),
        q
          ? ilike(cannedResponses.title, `%${q.replace(/[\\%_]/g, (character) => `\\${character}`)}%`)
          : undefined,
      ),
    )
    .orderBy(asc(cannedResponses.title), asc(cannedResponses.id))
    .limit(LIST_LIMIT);
}

export async function findCannedResponse(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(cannedResponses)
    .where(and(eq(cannedResponses.orgId, orgId), eq(cannedResponses.id, id)));
  return row;
}

export async function insertCannedResponse(tx: Executor, values: typeof cannedResponses.$inferInsert) {
  const [row] = await tx.insert(cannedResponses).values(values).returning();
  return row!;
}

export async function updateCannedResponse(
  tx: Executor,
  orgId: string,
  id: string,
  values: Partial<Pick<CannedResponseRow, 'title' | 'body' | 'ownerId'>>,
) {
  const [row] = await tx
    .update(cannedResponses)
    .set({ ...values, updatedAt: new Date() })
    .where(and(eq(cannedResponses.orgId, orgId), eq(cannedResponses.id, id)))
    .returning();
  return row!;
}

export async function deleteCannedResponse(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(cannedResponses).where(and(eq(cannedResponses.orgId, orgId), eq(cannedResponses.id, id)));
}

/** Shared macros and the user's own, by name. */
export async function listMacros(tx: Executor, orgId: string, userId: string) {
  return tx
    .select()
    .from(macros)
    .where(and(eq(macros.orgId, orgId), sharedOr(macros.ownerId, userId)))
    .orderBy(asc(macros.name), asc(macros.id))
    .limit(LIST_LIMIT);
}

export async function findMacro(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(macros)
    .where(and(eq(macros.orgId, orgId), eq(macros.id, id)));
  return row;
}

export async function insertMacro(tx: Executor, values: typeof macros.$inferInsert) {
  const [row] = await tx.insert(macros).values(values).returning();
  return row!;
}

export async function updateMacro(
  tx: Executor,
  orgId: string,
  id: string,
  values: Partial<Pick<MacroRow, 'name' | 'actions' | 'ownerId'>>,
) {
  const [row] = await tx
    .update(macros)
    .set({ ...values, updatedAt: new Date() })
    .where(and(eq(macros.orgId, orgId), eq(macros.id, id)))
    .returning();
  return row!;
}

export async function deleteMacro(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx.delete(macros).where(and(eq(macros.orgId, orgId), eq(macros.id, id)));
}
