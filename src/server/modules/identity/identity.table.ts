import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  index,
  jsonb,
  pgPolicy,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { appRole, primaryId, tenantPolicy, timestamps } from '../../platform/db/columns.js';

export const organizations = pgTable(
  'organizations',
  {
    id: primaryId(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    ...timestamps(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    uniqueIndex('organizations_slug_key').on(table.slug),
    // An organisation row is its own tenant: visible only to transactions scoped to it.
    pgPolicy('tenant_isolation', {
      as: 'permissive',
      for: 'all',
      to: appRole,
      using: sql`${table.id} = app_current_org()`,
      withCheck: sql`${table.id} = app_current_org()`,
    }),
  ],
).enableRLS();

/** The `org_id` column of a tenant table, referencing its organisation. */
export const orgIdColumn = () =>
  uuid('org_id')
    .notNull()
    .references(() => organizations.id);

export const users = pgTable(
  'users',
  {
    id: primaryId(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    // Stored lower-cased; unique per organisation.
    email: text('email').notNull(),
    name: text('name').notNull(),
    role: text('role', { enum: ['requester', 'agent', 'team_lead', 'admin'] }).notNull(),
    passwordHash: text('password_hash'),
    isActive: boolean('is_active').notNull().default(true),
    // The requester's own organisation (a customer company) and VIP flag: SLA policies
    // choose by them.
    company: text('company'),
    isVip: boolean('is_vip').notNull().default(false),
    lastLoginAt: timestamp('last_login_at', { withTimezone: true, mode: 'date' }),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true, mode: 'date' }),
    ...timestamps(),
  },
  (table) => [
    uniqueIndex('users_org_email_key').on(table.orgId, table.email),
    index('users_email_idx').on(table.email),
    // Substring search over names and addresses (`ILIKE '%…%'`: ticket search, the admin list).
    index('users_name_trgm_idx').using('gin', sql`${table.name} gin_trgm_ops`),
    index('users_email_trgm_idx').using('gin', sql`${table.email} gin_trgm_ops`),
    check('users_role_check', sql`${table.role} in ('requester', 'agent', 'team_lead', 'admin')`),
    check('users_email_lower_check', sql`${table.email} = lower(${table.email})`),
    tenantPolicy(),
  ],
).enableRLS();

export const teams = pgTable(
  'teams',
  {
    id: primaryId(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    ...timestamps(),
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
  },
  (table) => [
    uniqueIndex('teams_org_name_key')
      .on(table.orgId, sql`lower(${table.name})`)
      .where(sql`${table.deletedAt} is null`),
    tenantPolicy(),
  ],
).enableRLS();

export const teamMembers = pgTable(
  'team_members',
  {
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    teamId: uuid('team_id')
      .notNull()
      .references(() => teams.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.teamId, table.userId] }),
    index('team_members_user_idx').on(table.userId),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * Refresh tokens, stored as SHA-256 hashes. Each sign-in starts a family; every refresh
 * marks the presented token used and issues the next one in the family. Presenting a used
 * token again means it was stolen or replayed, and the whole family is revoked.
 */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: primaryId(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    familyId: uuid('family_id').notNull(),
    tokenHash: text('token_hash').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    userAgent: text('user_agent'),
    ip: text('ip'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('refresh_tokens_hash_key').on(table.tokenHash),
    index('refresh_tokens_family_idx').on(table.familyId),
    index('refresh_tokens_user_idx').on(table.userId),
    tenantPolicy(),
  ],
).enableRLS();

/** Personal API tokens for integrations: hashed, scoped, revocable. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: primaryId(),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    name: text('name').notNull(),
    // First characters of the token, shown in lists so users can tell tokens apart.
    prefix: text('prefix').notNull(),
    tokenHash: text('token_hash').notNull(),
    scopes: text('scopes').array().notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('api_tokens_hash_key').on(table.tokenHash),
    index('api_tokens_user_idx').on(table.userId),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * ES256 signing keys shared by every API process. Not a tenant table: the application
 * role has no grant on it (see the first migration) and only system transactions read it.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  privateJwk: jsonb('private_jwk').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  retiredAt: timestamp('retired_at', { withTimezone: true, mode: 'date' }),
});
