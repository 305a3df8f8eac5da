import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { primaryId, tenantPolicy, timestamps } from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';

const { users } = identityTables;

const { orgIdColumn } = identityTables;

/** Canned responses: shared (no owner) or personal. */
export const cannedResponses = pgTable(
  'canned_responses',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ownerId: uuid('owner_id').references(() => users.id),
    title: text('title').notNull(),
    body: text('body').notNull(),
    ...timestamps(),
  },
  (table) => [index('canned_responses_org_idx').on(table.orgId, table.ownerId), tenantPolicy()],
).enableRLS();

/** Macros: field changes plus an optional reply, applied in one action. */
export const macros = pgTable(
  'macros',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ownerId: uuid('owner_id').references(() => users.id),
    name: text('name').notNull(),
    actions: jsonb('actions').$type<Record<string, unknown>>().notNull(),
    ...timestamps(),
  },
  (table) => [index('macros_org_idx').on(table.orgId, table.ownerId), tenantPolicy()],
).enableRLS();
