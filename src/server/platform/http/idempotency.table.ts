import { index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy } from '../db/columns.js';

/**
 * Responses of mutating requests sent with an `Idempotency-Key`, kept for 24 hours so that
 * a retried request replays the stored answer instead of acting twice. A row without a
 * `status_code` is a request still in flight.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    id: primaryId(),
    orgId: uuid('org_id').notNull(),
    userId: uuid('user_id').notNull(),
    key: text('key').notNull(),
    route: text('route').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    response: jsonb('response'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    uniqueIndex('idempotency_keys_key').on(table.orgId, table.userId, table.key),
    index('idempotency_keys_created_idx').on(table.createdAt),
    tenantPolicy(),
  ],
).enableRLS();
