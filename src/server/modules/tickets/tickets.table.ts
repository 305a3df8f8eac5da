import { type SQL, sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { primaryId, sqlList, tenantPolicy, timestamps, timestampTz } from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';

const { users, teams } = identityTables;

/** PostgreSQL's `tsvector`, read-only from the application (generated columns). */
const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const { orgIdColumn } = identityTables;

// Constant text-search configuration: generated columns need an immutable expression.
const weighted = (column: SQL, weight: 'A' | 'B') =>
  sql`setweight(to_tsvector('english'::regconfig, coalesce(${column}, '')), '${sql.raw(weight)}')`;

export const TICKET_STATUSES = [
  'new',
  'open',
  'in_progress',
  'pending_user',
  'waiting_on_vendor',
  'resolved',
  'closed',
] as const;
export const TICKET_PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export const TICKET_CHANNELS = ['web', 'email', 'api', 'slack', 'teams'] as const;
export const FIELD_TYPES = ['text', 'number', 'select', 'multi_select', 'date', 'checkbox'] as const;

/** Per-organisation category tree (a category may have a parent). */
export const ticketCategories = pgTable(
  'ticket_categories',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    parentId: uuid('parent_id'),
    name: text('name').notNull(),
    position: integer('position').notNull().default(0),
    ...timestamps(),
    deletedAt: timestampTz('deleted_at'),
  },
  (table) => [
    uniqueIndex('ticket_categories_sibling_name_key')
      .on(
        table.orgId,
        sql`coalesce(${table.parentId}, '00000000-0000-0000-0000-000000000000'::uuid)`,
        sql`lower(${table.name})`,
      )
      .where(sql`${table.deletedAt} is null`),
    tenantPolicy(),
  ],
).enableRLS();

/** Custom ticket fields an organisation defines; values live in `tickets.custom_fields`. */
export const ticketFieldDefinitions = pgTable(
  'ticket_field_definitions',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    key: text('key').notNull(),
    label: text('label').notNull(),
    type: text('type', { enum: FIELD_TYPES }).notNull(),
    options: text('options').array().notNull().default(sql`'{}'::text[]`),
    required: boolean('required').notNull().default(false),
    visibleToRequester: boolean('visible_to_requester').notNull().default(false),
    position: integer('position').notNull().default(0),
    ...timestamps(),
    archivedAt: timestampTz('archived_at'),
  },
  (table) => [
    uniqueIndex('ticket_field_definitions_key').on(table.orgId, table.key),
    check('ticket_field_definitions_type_check', sql`${table.type} in (${sqlList(FIELD_TYPES)})`),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * The last ticket number handed out per organisation and day. Numbers are taken in a
 * statement of their own (see TicketNumbers), so the row lock is held for microseconds.
 */
export const ticketNumberCounters = pgTable(
  'ticket_number_counters',
  {
    orgId: orgIdColumn(),
    day: date('day', { mode: 'string' }).notNull(),
    lastValue: integer('last_value').notNull(),
  },
  (table) => [primaryKey({ columns: [table.orgId, table.day] }), tenantPolicy()],
).enableRLS();

export const tickets = pgTable(
  'tickets',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    number: text('number').notNull(),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: text('status', { enum: TICKET_STATUSES }).notNull().default('new'),
    priority: text('priority', { enum: TICKET_PRIORITIES }).notNull().default('medium'),
    // Sorting by priority walks this column: low=1 … critical=4.
    priorityRank: smallint('priority_rank')
      .notNull()
      .generatedAlwaysAs(
        sql`case priority when 'low' then 1 when 'medium' then 2 when 'high' then 3 else 4 end`,
      ),
    categoryId: uuid('category_id').references(() => ticketCategories.id),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    teamId: uuid('team_id').references(() => teams.id),
    assigneeId: uuid('assignee_id').references(() => users.id),
    requesterId: uuid('requester_id')
      .notNull()
      .references(() => users.id),
    createdById: uuid('created_by_id').references(() => users.id),
    channel: text('channel', { enum: TICKET_CHANNELS }).notNull().default('web'),
    customFields: jsonb('custom_fields').$type<Record<string, unknown>>().notNull().default({}),
    firstResponseAt: timestampTz('first_response_at'),
    resolvedAt: timestampTz('resolved_at'),
    closedAt: timestampTz('closed_at'),
    mergedIntoId: uuid('merged_into_id'),
    version: integer('version').notNull().default(1),
    // Last public message or status change; what "recently active" lists sort by.
    lastActivityAt: timestampTz('last_activity_at').notNull().defaultNow(),
    ...timestamps(),
    deletedAt: timestampTz('deleted_at'),
    searchVector: tsvector('search_vector').generatedAlwaysAs(
      (): SQL => sql`${weighted(sql`title`, 'A')} || ${weighted(sql`description`, 'B')}`,
    ),
  },
  (table) => [
    uniqueIndex('tickets_org_number_key').on(table.orgId, table.number),
    // The queue lists: newest first within status (+ team / assignee), keyset on (created_at, id).
    index('tickets_org_status_team_created_idx')
      .on(table.orgId, table.status, table.teamId, table.createdAt.desc(), table.id.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_org_created_idx')
      .on(table.orgId, table.createdAt.desc(), table.id.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_org_updated_idx')
      .on(table.orgId, table.updatedAt.desc(), table.id.desc())
      .where(sql`${table.deletedAt} is null`),
    // The other sorts (tickets.list.ts walks these, backwards for ascending).
    index('tickets_org_activity_idx')
      .on(table.orgId, table.lastActivityAt.desc(), table.id.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_org_priority_idx')
      .on(table.orgId, table.priorityRank.desc(), table.id.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_org_assignee_status_idx')
      .on(table.orgId, table.assigneeId, table.status, table.createdAt.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_org_requester_created_idx')
      .on(table.orgId, table.requesterId, table.createdAt.desc())
      .where(sql`${table.deletedAt} is null`),
    index('tickets_search_idx').using('gin', table.searchVector),
    index('tickets_tags_idx').using('gin', table.tags),
    index('tickets_custom_fields_idx').using('gin', sql`${table.customFields} jsonb_path_ops`),
    index('tickets_title_trgm_idx').using('gin', sql`${table.title} gin_trgm_ops`),
    index('tickets_merged_into_idx').on(table.mergedIntoId).where(sql`${table.mergedIntoId} is not null`),
    check('tickets_status_check', sql`${table.status} in (${sqlList(TICKET_STATUSES)})`),
    check('tickets_priority_check', sql`${table.priority} in (${sqlList(TICKET_PRIORITIES)})`),
    check('tickets_channel_check', sql`${table.channel} in (${sqlList(TICKET_CHANNELS)})`),
    check('tickets_title_length_check', sql`char_length(${table.title}) between 1 and 500`),
    tenantPolicy(),
  ],
).enableRLS();

/** Public replies and internal notes. */
export const ticketMessages = pgTable(
  'ticket_messages',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    authorId: uuid('author_id').references(() => users.id),
    isInternal: boolean('is_internal').notNull().default(false),
    // True when written by an agent (not the requester), recorded at write time.
    byAgent: boolean('by_agent').notNull().default(false),
    body: text('body').notNull(),
    channel: text('channel', { enum: TICKET_CHANNELS }).notNull().default('web'),
    mentions: uuid('mentions').array().notNull().default(sql`'{}'::uuid[]`),
    // Set when the message was split out into a ticket of its own.
    splitToTicketId: uuid('split_to_ticket_id'),
    // Messages that came by mail: the Message-ID (the key of the mail's record in the email
    // module, raw .eml included), the history and signature cut from `body` (shown collapsed)
    // and the mail's sanitized HTML, inline images pointing at the message's attachments.
    emailMessageId: text('email_message_id'),
    quotedText: text('quoted_text'),
    html: text('html'),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
    searchVector: tsvector('search_vector').generatedAlwaysAs(
      (): SQL => sql`to_tsvector('english'::regconfig, coalesce(body, ''))`,
    ),
  },
  (table) => [
    index('ticket_messages_ticket_created_idx').on(table.ticketId, table.createdAt, table.id),
    index('ticket_messages_search_idx').using('gin', table.searchVector),
    tenantPolicy(),
  ],
).enableRLS();

/** Files attached to messages: metadata here, bytes in the storage port. */
export const ticketAttachments = pgTable(
  'ticket_attachments',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id').references(() => tickets.id),
    messageId: uuid('message_id').references(() => ticketMessages.id),
    uploaderId: uuid('uploader_id').references(() => users.id),
    fileName: text('file_name').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    storageKey: text('storage_key').notNull(),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [index('ticket_attachments_message_idx').on(table.messageId), tenantPolicy()],
).enableRLS();

/**
 * The activity timeline: one row per change, never updated or deleted (the migration
 * grants only INSERT, SELECT and an UPDATE of `ticket_id`, which merging needs).
 */
export const ticketEvents = pgTable(
  'ticket_events',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    actorId: uuid('actor_id').references(() => users.id),
    type: text('type').notNull(),
    changes: jsonb('changes').$type<Record<string, { from: unknown; to: unknown }>>().notNull().default({}),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    // Internal events (notes, internal field changes) are never shown to requesters.
    isInternal: boolean('is_internal').notNull().default(false),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [index('ticket_events_ticket_idx').on(table.ticketId, table.id), tenantPolicy()],
).enableRLS();

/** Related tickets; each link is stored once with the smaller id first. */
export const ticketLinks = pgTable(
  'ticket_links',
  {
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    relatedId: uuid('related_id')
      .notNull()
      .references(() => tickets.id),
    createdById: uuid('created_by_id').references(() => users.id),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.ticketId, table.relatedId] }),
    index('ticket_links_related_idx').on(table.relatedId),
    check('ticket_links_order_check', sql`${table.ticketId} < ${table.relatedId}`),
    tenantPolicy(),
  ],
).enableRLS();

/** Followers (CC): users kept informed about a ticket. */
export const ticketFollowers = pgTable(
  'ticket_followers',
  {
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.ticketId, table.userId] }),
    index('ticket_followers_user_idx').on(table.userId),
    tenantPolicy(),
  ],
).enableRLS();

export const ticketTimeEntries = pgTable(
  'ticket_time_entries',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    minutes: integer('minutes').notNull(),
    note: text('note').notNull().default(''),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [
    index('ticket_time_entries_ticket_idx').on(table.ticketId),
    check('ticket_time_entries_minutes_check', sql`${table.minutes} between 1 and 1440`),
    tenantPolicy(),
  ],
).enableRLS();

/** Named filter sets: personal (owner) or shared with a team. */
export const savedViews = pgTable(
  'saved_views',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ownerId: uuid('owner_id').references(() => users.id),
    teamId: uuid('team_id').references(() => teams.id),
    name: text('name').notNull(),
    filters: jsonb('filters').$type<Record<string, unknown>>().notNull(),
    sort: text('sort').notNull().default('-createdAt'),
    position: integer('position').notNull().default(0),
    ...timestamps(),
  },
  (table) => [
    index('saved_views_org_idx').on(table.orgId),
    check('saved_views_scope_check', sql`(${table.ownerId} is null) <> (${table.teamId} is null)`),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * View counts, maintained incrementally: every ticket change appends a +1/-1 row per view
 * whose match it changed (no lock on a shared counter), and compaction folds the deltas
 * into `saved_view_counts.base`. A count is base + the sum of its pending deltas.
 */
export const savedViewCounts = pgTable(
  'saved_view_counts',
  {
    viewId: uuid('view_id')
      .primaryKey()
      .references(() => savedViews.id, { onDelete: 'cascade' }),
    orgId: orgIdColumn(),
    base: bigint('base', { mode: 'number' }).notNull().default(0),
    compactedAt: timestampTz('compacted_at').notNull().defaultNow(),
  },
  () => [tenantPolicy()],
).enableRLS();

export const savedViewCountDeltas = pgTable(
  'saved_view_count_deltas',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    orgId: orgIdColumn(),
    viewId: uuid('view_id')
      .notNull()
      .references(() => savedViews.id, { onDelete: 'cascade' }),
    delta: integer('delta').notNull(),
  },
  (table) => [index('saved_view_count_deltas_view_idx').on(table.viewId), tenantPolicy()],
).enableRLS();

/** In-app notifications (mentions, …); one per user and cause. */
export const notifications = pgTable(
  'notifications',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    kind: text('kind').notNull(),
    ticketId: uuid('ticket_id').references(() => tickets.id),
    messageId: uuid('message_id').references(() => ticketMessages.id),
    actorId: uuid('actor_id').references(() => users.id),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    // What caused a notification that is not about a message (an SLA step): one per user and cause.
    causeId: uuid('cause_id'),
    readAt: timestampTz('read_at'),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('notifications_cause_key').on(table.userId, table.kind, table.messageId),
    uniqueIndex('notifications_other_cause_key')
      .on(table.userId, table.kind, table.causeId)
      .where(sql`${table.causeId} is not null`),
    index('notifications_user_idx').on(table.userId, table.createdAt.desc()),
    tenantPolicy(),
  ],
).enableRLS();
