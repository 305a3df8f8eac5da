import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy } from '../db/columns.js';

/**
 * Jobs that exhausted their retries, from either queue driver. Admins see their
 * organisation's rows and can replay or discard them; nothing fails silently.
 */
export const deadLetters = pgTable(
  'dead_letters',
  {
    id: primaryId(),
    orgId: uuid('org_id'),
    queue: text('queue').notNull(),
    jobName: text('job_name').notNull(),
    jobId: text('job_id').notNull(),
    payload: jsonb('payload').notNull(),
    error: text('error').notNull(),
    attempts: integer('attempts').notNull(),
    failedAt: timestamp('failed_at', { withTimezone: true, mode: 'date' }).notNull(),
    replayedAt: timestamp('replayed_at', { withTimezone: true, mode: 'date' }),
    discardedAt: timestamp('discarded_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [index('dead_letters_org_failed_idx').on(table.orgId, table.failedAt), tenantPolicy()],
).enableRLS();
