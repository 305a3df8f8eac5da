import { and, asc, inArray, isNotNull, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../db/database.js';
import { outbox } from './outbox.table.js';

export type OutboxRow = typeof outbox.$inferSelect;

/**
 * Claims up to `limit` unpublished rows, oldest first. Rows locked by another relay are
 * skipped, so several relays share the work without publishing a row twice at once.
 */
export function claimUnpublished(tx: Executor, limit: number): Promise<OutboxRow[]> {
  return tx
    .select()
    .from(outbox)
    .where(isNull(outbox.publishedAt))
    .orderBy(asc(outbox.createdAt), asc(outbox.id))
    .limit(limit)
    .for('update', { skipLocked: true });
}

export async function markPublished(tx: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(outbox)
    .set({ publishedAt: new Date(), attempts: sql`${outbox.attempts} + 1` })
    .where(inArray(outbox.id, ids));
}

export async function countUnpublished(db: Executor): Promise<number> {
  const [row] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(outbox)
    .where(isNull(outbox.publishedAt));
  return row?.count ?? 0;
}

/** Deletes rows published before `olderThan`; returns how many. */
export async function deletePublishedBefore(db: Executor, olderThan: Date): Promise<number> {
  const deleted = await db
    .delete(outbox)
    .where(and(isNotNull(outbox.publishedAt), lt(outbox.publishedAt, olderThan)))
    .returning({ id: outbox.id });
  return deleted.length;
}
