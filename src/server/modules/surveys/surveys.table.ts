import { sql } from 'drizzle-orm';
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy, timestampTz } from '../../platform/db/columns.js';
import { emailTables } from '../email/index.js';
import { identityTables } from '../identity/index.js';
import { ticketTables } from '../tickets/index.js';

/**
 * `five`: ratings 1–5 (what the survey mail offers). `binary`: good/bad answers, stored as
 * 5 and 1 so that averages and distributions need no second code path.
 */
export const CSAT_SCALES = ['five', 'binary'] as const;
export const CSAT_COMMENT_MAX = 2000;

/**
 * One satisfaction survey per ticket: the row is written when the survey mail is planned
 * (`sent_at`), and carries the requester's answer once they follow a link (`answered_at`
 * the first time, `changed_at` the latest change). Reports count rows as sent and rows with
 * a rating as answered.
 */
export const csatResponses = pgTable(
  'csat_responses',
  {
    id: primaryId(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => identityTables.organizations.id),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => ticketTables.tickets.id),
    requesterId: uuid('requester_id')
      .notNull()
      .references(() => identityTables.users.id),
    // The ticket's team when the survey went out: what team reports filter on.
    teamId: uuid('team_id').references(() => identityTables.teams.id),
    // The survey mail, re-queued if the job that planned it crashed before queueing it.
    deliveryId: uuid('delivery_id').references(() => emailTables.emailDeliveries.id),
    scale: text('scale', { enum: CSAT_SCALES }).notNull().default('five'),
    rating: integer('rating'),
    comment: text('comment'),
    sentAt: timestampTz('sent_at').notNull(),
    answeredAt: timestampTz('answered_at'),
    changedAt: timestampTz('changed_at'),
  },
  (table) => [
    uniqueIndex('csat_responses_ticket_key').on(table.ticketId),
    index('csat_responses_org_sent_idx').on(table.orgId, table.sentAt),
    check('csat_responses_rating_check', sql`${table.rating} between 1 and 5`),
    check(
      'csat_responses_comment_check',
      sql`char_length(${table.comment}) <= ${sql.raw(String(CSAT_COMMENT_MAX))}`,
    ),
    tenantPolicy(),
  ],
).enableRLS();
