import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { ticketCategories, ticketFieldDefinitions } from './tickets.table.js';

/** Queries for an organisation's ticket settings: categories and custom field definitions. */

export type CategoryRow = typeof ticketCategories.$inferSelect;
export type FieldDefinitionRow = typeof ticketFieldDefinitions.$inferSelect;

export async function listFieldDefinitions(tx: Executor, orgId: string): Promise<FieldDefinitionRow[]> {
  return tx
    .select()
    .from(ticketFieldDefinitions)
    .where(eq(ticketFieldDefinitions.orgId, orgId))
    .orderBy(asc(ticketFieldDefinitions.position), asc(ticketFieldDefinitions.key));
}

/** The definition with this key, archived or not (keys are never reused). */
export async function findFieldDefinitionByKey(tx: Executor, orgId: string, key: string) {
  const [row] = await tx
    .select()
    .from(ticketFieldDefinitions)
    .where(and(eq(ticketFieldDefinitions.orgId, orgId), eq(ticketFieldDefinitions.key, key)));
  return row;
}

export async function findFieldDefinition(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(ticketFieldDefinitions)
    .where(and(eq(ticketFieldDefinitions.orgId, orgId), eq(ticketFieldDefinitions.id, id)));
  return row;
}

export async function insertFieldDefinition(
  tx: Executor,
  values: typeof ticketFieldDefinitions.$inferInsert,
) {
  const [row] = await tx.insert(ticketFieldDefinitions).values(values).returning();
  return row!;
}

export async function updateFieldDefinition(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<typeof ticketFieldDefinitions.$inferInsert>,
) {
  const [row] = await tx
    .update(ticketFieldDefinitions)
    .set(changes)
    .where(and(eq(ticketFieldDefinitions.orgId, orgId), eq(ticketFieldDefinitions.id, id)))
    .returning();
  return row;
}

export async function listCategories(tx: Executor, orgId: string): Promise<CategoryRow[]> {
  return tx
    .select()
    .from(ticketCategories)
    .where(and(eq(ticketCategories.orgId, orgId), isNull(ticketCategories.deletedAt)))
    .orderBy(asc(ticketCategories.position), asc(ticketCategories.name));
}

export async function findCategory(tx: Executor, orgId: string, id: string) {
  const [row] = await tx
    .select()
    .from(ticketCategories)
    .where(
      and(eq(ticketCategories.orgId, orgId), eq(ticketCategories.id, id), isNull(ticketCategories.deletedAt)),
    );
  return row;
}

/**
 * Serialises changes to one organisation's category tree until the transaction ends: two
 * concurrent moves could each pass the cycle check and together close a loop, and a child
 * created under a parent being deleted would be orphaned.
 */
export async function lockCategoryTree(tx: Executor, orgId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${`ticket_categories:${orgId}`}, 0))`);
}

export async function insertCategory(tx: Executor, values: typeof ticketCategories.$inferInsert) {
  const [row] = await tx.insert(ticketCategories).values(values).returning();
  return row!;
}

export async function updateCategory(
  tx: Executor,
  orgId: string,
  id: string,
  changes: Partial<typeof ticketCategories.$inferInsert>,
) {
  const [row] = await tx
    .update(ticketCategories)
    .set(changes)
    .where(and(eq(ticketCategories.orgId, orgId), eq(ticketCategories.id, id)))
    .returning();
  return row;
}
