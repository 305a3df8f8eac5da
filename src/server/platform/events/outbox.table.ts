import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy } from '../db/columns.js';

/**
 * Domain events waiting to be relayed. Written in the same transaction as the change they
 * describe; the relay publishes them after commit and stamps `published_at`.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: primaryId(),
    orgId: uuid('org_id'),
    event: text('event').notNull(),
    aggregateType: text('aggregate_type').notNull(),
    aggregateId: uuid('aggregate_id'),
    actorId: uuid('actor_id'),
    requestId: text('request_id'),
    payload: jsonb('payload').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
  },
  (table) => [
    index('outbox_pending_idx').on(table.createdAt).where(sql`${table.publishedAt} is null`),
    tenantPolicy(),
  ],
).enableRLS();
