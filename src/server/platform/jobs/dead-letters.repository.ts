import { and, count, desc, eq, isNull } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database, Executor } from '../db/database.js';
import { deadLetters } from './dead-letters.table.js';
import type { DeadLetter, JobQueue } from './jobs.port.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export type DeadLetterRow = typeof deadLetters.$inferSelect;

/**
 * Dead letters of both queue drivers, in the database: visible to the organisation's
 * admins, replayable, and never lost with a Redis flush or a process restart.
 */
export class DeadLetterStore {
  private jobs: JobQueue | undefined;

  constructor(
    private readonly database: Database,
    private readonly logger: Logger,
  ) {}

  /** Gives the store the queue that replays go back to. */
  attach(jobs: JobQueue): void {
    this.jobs = jobs;
  }

  async record(deadLetter: DeadLetter): Promise<void> {
    const payloadOrg = (deadLetter.payload as { orgId?: unknown } | null)?.orgId;
    const orgId = typeof payloadOrg === 'string' && UUID.test(payloadOrg) ? payloadOrg : null;
    await this.database.db.insert(deadLetters).values({
      orgId,
      queue: deadLetter.queue,
      jobName: deadLetter.name,
      jobId: deadLetter.jobId,
      // Cron jobs may have no payload; the column holds an empty object for them.
      payload: (deadLetter.payload ?? {}) as object,
      error: deadLetter.error.slice(0, 10_000),
      attempts: deadLetter.attempts,
      failedAt: deadLetter.failedAt,
    });
    this.logger.error({ deadLetter: { ...deadLetter, payload: undefined } }, 'job moved to dead letters');
  }

  async list(orgId: string, page: { limit: number; offset: number }) {
    return this.database.withOrg(orgId, async (tx) => {
      const where = and(
        eq(deadLetters.orgId, orgId),
        isNull(deadLetters.replayedAt),
        isNull(deadLetters.discardedAt),
      );
      const rows = await tx
        .select()
        .from(deadLetters)
        .where(where)
        .orderBy(desc(deadLetters.failedAt))
        .limit(page.limit)
        .offset(page.offset);
      const [total] = await tx.select({ n: count() }).from(deadLetters).where(where);
      return { rows, total: total?.n ?? 0 };
    });
  }

  /** Re-enqueues the job with a fresh retry budget; returns false when there is nothing to replay. */
  async replay(orgId: string, id: string): Promise<boolean> {
    const jobs = this.jobs;
    if (!jobs) throw new Error('dead-letter store has no queue attached');
    return this.database.withOrg(orgId, async (tx) => {
      const [row] = await closeOpen(tx, orgId, id, { replayedAt: new Date() });
      if (!row) return false;
      // Enqueued inside the transaction: if enqueueing fails, the row stays open for another try.
      await jobs.enqueue(row.jobName, row.payload);
      return true;
    });
  }

  async discard(orgId: string, id: string): Promise<boolean> {
    return this.database.withOrg(orgId, async (tx) => {
      const rows = await closeOpen(tx, orgId, id, { discardedAt: new Date() });
      return rows.length > 0;
    });
  }

  async openCount(): Promise<number> {
    const [row] = await this.database.db
      .select({ n: count() })
      .from(deadLetters)
      .where(and(isNull(deadLetters.replayedAt), isNull(deadLetters.discardedAt)));
    return row?.n ?? 0;
  }
}

/** Marks an open (neither replayed nor discarded) dead letter; answers the rows it changed. */
function closeOpen(
  tx: Executor,
  orgId: string,
  id: string,
  values: { replayedAt: Date } | { discardedAt: Date },
): Promise<DeadLetterRow[]> {
  return tx
    .update(deadLetters)
    .set(values)
    .where(
      and(
        eq(deadLetters.orgId, orgId),
        eq(deadLetters.id, id),
        isNull(deadLetters.replayedAt),
        isNull(deadLetters.discardedAt),
      ),
    )
    .returning();
}
