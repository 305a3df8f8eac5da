import { sql } from 'drizzle-orm';
import { boolean, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy, timestamps } from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';
import { ticketTables } from '../tickets/index.js';

const { organizations, teams } = identityTables;

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const orgRef = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id);

export const INBOUND_METHODS = ['api', 'smtp', 'imap'] as const;
export const DELIVERY_KINDS = ['ack', 'reply', 'assignment', 'mention', 'sla'] as const;
export const DELIVERY_STATUSES = ['queued', 'sent', 'failed'] as const;

/**
 * Addresses an organisation receives mail at and sends mail from. Addresses are stored
 * lower-case and are unique among an organisation's live mailboxes; at most one is the default.
 */
export const mailboxes = pgTable(
  'mailboxes',
  {
    id: primaryId(),
    orgId: orgRef(),
    address: text('address').notNull(),
    name: text('name').notNull(),
    // Tickets opened through this mailbox go to this team; its outbound mail uses this mailbox.
    teamId: uuid('team_id').references(() => teams.id),
    inboundMethod: text('inbound_method', { enum: INBOUND_METHODS }).notNull().default('api'),
    // SHA-256 of the secret the `api` inbound method authenticates with; shown once at creation.
    inboundSecretHash: text('inbound_secret_hash'),
    outboundFromName: text('outbound_from_name'),
    outboundFromAddress: text('outbound_from_address'),
    reopenResolved: boolean('reopen_resolved').notNull().default(true),
    googleGroup: boolean('google_group').notNull().default(false),
    metadataOnly: boolean('metadata_only').notNull().default(false),
    isDefault: boolean('is_default').notNull().default(false),
    ...timestamps(),
    deletedAt: at('deleted_at'),
  },
  (table) => [
    uniqueIndex('mailboxes_org_address_key').on(table.orgId, table.address).where(sql`deleted_at is null`),
    uniqueIndex('mailboxes_org_default_key').on(table.orgId).where(sql`is_default and deleted_at is null`),
    index('mailboxes_org_team_idx').on(table.orgId, table.teamId),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * Every mail we send, rendered once when planned (a retry resends the same bytes and
 * Message-ID). Unique on (org, kind, cause event, recipient): a replayed outbox event plans
 * nothing new. The Message-IDs here are the outbound half of a ticket's mail thread.
 */
export const emailDeliveries = pgTable(
  'email_deliveries',
  {
    id: primaryId(),
    orgId: orgRef(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => ticketTables.tickets.id),
    mailboxId: uuid('mailbox_id').references(() => mailboxes.id),
    kind: text('kind', { enum: DELIVERY_KINDS }).notNull(),
    // The outbox event that caused this mail.
    causeEventId: text('cause_event_id').notNull(),
    // The ticket message it carries, if any (replies).
    ticketMessageId: uuid('ticket_message_id'),
    // RFC 5322 Message-ID we generated, with angle brackets: `<uuid@domain>`.
    messageId: text('message_id').notNull(),
    inReplyTo: text('in_reply_to'),
    references: text('references'),
    fromName: text('from_name'),
    fromAddress: text('from_address').notNull(),
    replyTo: text('reply_to'),
    to: text('to_address').notNull(),
    subject: text('subject').notNull(),
    bodyText: text('body_text').notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    smtpResponse: text('smtp_response'),
    queuedAt: at('queued_at').notNull().defaultNow(),
    sentAt: at('sent_at'),
  },
  (table) => [
    uniqueIndex('email_deliveries_org_message_id_key').on(table.orgId, table.messageId),
    uniqueIndex('email_deliveries_cause_key').on(table.orgId, table.kind, table.causeEventId, table.to),
    index('email_deliveries_ticket_idx').on(table.orgId, table.ticketId, table.queuedAt),
    tenantPolicy(),
  ],
).enableRLS();
