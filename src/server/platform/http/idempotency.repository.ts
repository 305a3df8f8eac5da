import { and, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../db/database.js';
import { idempotencyKeys } from './idempotency.table.js';

/** Queries of idempotency keys. Every function takes the executor; none opens a transaction. */

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;

export interface KeyClaim {
  orgId: string;
  userId: string;
  key: string;
  /** `METHOD /url/:pattern`, kept for whoever reads the table. */
  route: string;
  requestHash: string;
}

/** Either this request now holds the key, or the row that another request left there. */
export type ClaimOutcome = { claimedId: string } | { existing: IdempotencyKeyRow | undefined };

/**
 * Inserts the in-flight row for a key. A row created before `staleBefore` is taken over
 * in the same statement, so two requests racing for an expired key cannot both win: the
 * second one waits on the row lock, then sees a fresh `created_at` and updates nothing.
 */
export async function claimKey(tx: Executor, claim: KeyClaim, staleBefore: Date): Promise<ClaimOutcome> {
  const [claimed] = await tx
    .insert(idempotencyKeys)
    .values(claim)
    .onConflictDoUpdate({
      target: [idempotencyKeys.orgId, idempotencyKeys.userId, idempotencyKeys.key],
      set: {
        route: claim.route,
        requestHash: claim.requestHash,
        statusCode: sql`null`,
        response: sql`null`,
        createdAt: sql`now()`,
        completedAt: sql`null`,
      },
      setWhere: lt(idempotencyKeys.createdAt, staleBefore),
    })
    .returning({ id: idempotencyKeys.id });
  if (claimed) return { claimedId: claimed.id };
  const [existing] = await tx
    .select()
    .from(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.orgId, claim.orgId),
        eq(idempotencyKeys.userId, claim.userId),
        eq(idempotencyKeys.key, claim.key),
      ),
    );
  return { existing };
}

/** Stores the answer of a claimed key; `response` null means an empty body. */
export async function completeKey(
  tx: Executor,
  id: string,
  statusCode: number,
  response: unknown,
): Promise<void> {
  await tx
    .update(idempotencyKeys)
    .set({
      statusCode,
      response: response === null ? sql`null` : response,
      completedAt: sql`now()`,
    })
    .where(eq(idempotencyKeys.id, id));
}

/** Deletes a claim that never completed, so the next request with its key runs. */
export async function releaseKey(tx: Executor, id: string): Promise<void> {
  await tx.delete(idempotencyKeys).where(and(eq(idempotencyKeys.id, id), isNull(idempotencyKeys.statusCode)));
}

/** Deletes keys created before `olderThan`, in flight or not; returns how many. */
export async function deleteKeysCreatedBefore(tx: Executor, olderThan: Date): Promise<number> {
  const deleted = await tx
    .delete(idempotencyKeys)
    .where(lt(idempotencyKeys.createdAt, olderThan))
    .returning({ id: idempotencyKeys.id });
  return deleted.length;
}
