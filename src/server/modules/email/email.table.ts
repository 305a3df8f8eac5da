import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import {
  bytes,
  primaryId,
  sqlList,
  tenantPolicy,
  timestamps,
  timestampTz,
} from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';
import { ticketTables } from '../tickets/index.js';

const { organizations, teams } = identityTables;

const { orgIdColumn } = identityTables;

export const INBOUND_METHODS = ['api', 'smtp', 'imap'] as const;
export const DELIVERY_KINDS = ['ack', 'reply', 'assignment', 'mention', 'sla', 'csat'] as const;
export const DELIVERY_STATUSES = ['queued', 'sent', 'failed'] as const;

/**
 * Addresses an organisation receives mail at and sends mail from. Addresses are stored
 * lower-case and are unique among an organisation's live mailboxes; at most one is the default.
 */
export const mailboxes = pgTable(
  'mailboxes',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
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
    deletedAt: timestampTz('deleted_at'),
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
    orgId: orgIdColumn(),
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
    // Optional HTML alternative (satisfaction surveys); the text body is always sent too.
    bodyHtml: text('body_html'),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('queued'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    smtpResponse: text('smtp_response'),
    queuedAt: timestampTz('queued_at').notNull().defaultNow(),
    sentAt: timestampTz('sent_at'),
  },
  (table) => [
    uniqueIndex('email_deliveries_org_message_id_key').on(table.orgId, table.messageId),
    uniqueIndex('email_deliveries_cause_key').on(table.orgId, table.kind, table.causeEventId, table.to),
    index('email_deliveries_ticket_idx').on(table.orgId, table.ticketId, table.queuedAt),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * An organisation's own wording of a kind of mail (the built-in default applies without a
 * row). Restricted mustache: plain `{{variables}}` only, checked on save.
 */
export const emailTemplates = pgTable(
  'email_templates',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    kind: text('kind', { enum: DELIVERY_KINDS }).notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html'),
    updatedAt: timestampTz('updated_at')
      .notNull()
      .defaultNow()
      .$onUpdateFn(() => new Date()),
  },
  (table) => [uniqueIndex('email_templates_org_kind_key').on(table.orgId, table.kind), tenantPolicy()],
).enableRLS();

export const EMAIL_DIRECTIONS = ['in', 'out'] as const;
export const EMAIL_KINDS = ['normal', 'auto_reply', 'bounce', 'spam'] as const;
export const QUARANTINE_STATUSES = ['held', 'retried', 'discarded'] as const;

/**
 * Every Message-ID an organisation received or sent: the single place threading looks
 * Message-IDs up in, and the dedupe key of inbound mail (one row per org and Message-ID,
 * however many of our addresses the mail reached).
 */
export const emailMessages = pgTable(
  'email_messages',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    messageId: text('message_id').notNull(),
    ticketId: uuid('ticket_id').references(() => ticketTables.tickets.id),
    ticketMessageId: uuid('ticket_message_id'),
    direction: text('direction', { enum: EMAIL_DIRECTIONS }).notNull(),
    mailboxId: uuid('mailbox_id').references(() => mailboxes.id),
    receivedAt: timestampTz('received_at').notNull().defaultNow(),
    fromAddress: text('from_address'),
    subject: text('subject'),
    // Why the mail landed where it did ("matched In-Reply-To <id>", "new ticket", "ignored: …").
    decision: text('decision').notNull(),
    kind: text('kind', { enum: EMAIL_KINDS }).notNull().default('normal'),
    // The original .eml: in this row when small (no file written on the ingest path), else
    // in file storage under this key (see INLINE_RAW_MAX_BYTES); both null when not kept.
    rawStorageKey: text('raw_storage_key'),
    rawContent: bytes('raw_content'),
    // Metadata-only mailboxes: neither the raw mail nor its body is kept; it is read from the
    // mailbox (IMAP) when an agent opens it.
    contentInMailbox: boolean('content_in_mailbox').notNull().default(false),
  },
  (table) => [
    uniqueIndex('email_messages_org_message_id_key').on(table.orgId, table.messageId),
    index('email_messages_ticket_idx').on(table.orgId, table.ticketId, table.receivedAt),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * Inbound mail that could not be ingested, kept with its raw bytes so nothing is lost:
 * an admin retries or discards it. `org_id` is null only when no mailbox could be resolved.
 */
export const emailQuarantine = pgTable(
  'email_quarantine',
  {
    id: primaryId(),
    orgId: uuid('org_id').references(() => organizations.id),
    mailboxId: uuid('mailbox_id').references(() => mailboxes.id),
    reason: text('reason').notNull(),
    error: text('error'),
    rawStorageKey: text('raw_storage_key').notNull(),
    via: text('via'),
    envelopeFrom: text('envelope_from'),
    status: text('status', { enum: QUARANTINE_STATUSES }).notNull().default('held'),
    receivedAt: timestampTz('received_at').notNull().defaultNow(),
    resolvedAt: timestampTz('resolved_at'),
  },
  (table) => [
    index('email_quarantine_org_status_idx').on(table.orgId, table.status, table.receivedAt),
    tenantPolicy(),
  ],
).enableRLS();

export const IMAP_TLS_MODES = ['tls', 'starttls', 'none'] as const;
export const IMAP_AUTH_METHODS = ['password', 'xoauth2'] as const;
export const IMAP_PROCESSED_ACTIONS = ['flag', 'move'] as const;

/**
 * How an `imap` mailbox is read: server, account and folders. Secrets (password, OAuth client
 * secret, refresh token) are AES-256-GCM ciphertexts (`imap.secrets.ts`) and never leave the
 * server. `version` grows with every change an admin makes, so pollers restart on it but not
 * when the poller itself stores a rotated refresh token.
 */
export const mailboxImapSettings = pgTable(
  'mailbox_imap_settings',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id),
    host: text('host').notNull(),
    port: integer('port').notNull(),
    tls: text('tls', { enum: IMAP_TLS_MODES }).notNull(),
    username: text('username').notNull(),
    auth: text('auth', { enum: IMAP_AUTH_METHODS }).notNull(),
    passwordSealed: text('password_sealed'),
    tokenUrl: text('token_url'),
    clientId: text('client_id'),
    clientSecretSealed: text('client_secret_sealed'),
    refreshTokenSealed: text('refresh_token_sealed'),
    folder: text('folder').notNull().default('INBOX'),
    // Staff replies sent from the account itself are read from here too (Google Groups mode).
    sentFolder: text('sent_folder'),
    processedAction: text('processed_action', { enum: IMAP_PROCESSED_ACTIONS }).notNull().default('flag'),
    processedFolder: text('processed_folder'),
    pollIntervalSeconds: integer('poll_interval_seconds').notNull().default(60),
    version: integer('version').notNull().default(1),
    ...timestamps(),
  },
  (table) => [
    uniqueIndex('mailbox_imap_settings_mailbox_key').on(table.mailboxId),
    index('mailbox_imap_settings_org_idx').on(table.orgId),
    check('mailbox_imap_settings_tls_check', sql`${table.tls} in (${sqlList(IMAP_TLS_MODES)})`),
    check('mailbox_imap_settings_auth_check', sql`${table.auth} in (${sqlList(IMAP_AUTH_METHODS)})`),
    check(
      'mailbox_imap_settings_processed_check',
      sql`${table.processedAction} in (${sqlList(IMAP_PROCESSED_ACTIONS)})`,
    ),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * Where reading a folder of an `imap` mailbox got to: the folder's UIDVALIDITY and the last UID
 * ingested, written after each mail, so a restart resumes behind it. Another UIDVALIDITY means
 * the server renumbered the folder: it is read again (Message-ID dedupe keeps that safe).
 */
export const mailboxImapState = pgTable(
  'mailbox_imap_state',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    mailboxId: uuid('mailbox_id')
      .notNull()
      .references(() => mailboxes.id),
    folder: text('folder').notNull(),
    uidValidity: bigint('uid_validity', { mode: 'number' }).notNull(),
    lastUid: bigint('last_uid', { mode: 'number' }).notNull(),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('mailbox_imap_state_mailbox_folder_key').on(table.mailboxId, table.folder),
    index('mailbox_imap_state_org_idx').on(table.orgId),
    tenantPolicy(),
  ],
).enableRLS();
