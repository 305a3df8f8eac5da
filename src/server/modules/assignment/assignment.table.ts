import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { sqlList, tenantPolicy, timestampTz } from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';

const { organizations, teams, users } = identityTables;

export const AVAILABILITIES = ['available', 'away', 'offline'] as const;
export const ASSIGNMENT_MODES = ['off', 'round_robin', 'least_open'] as const;

/**
 * How an agent takes work: availability, how many open tickets at most, skills, and whether
 * they are senior (escalations reassign breached tickets to senior agents). An agent
 * without a row is available, uncapped, without skills and not senior.
 */
export const agentProfiles = pgTable(
  'agent_profiles',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    availability: text('availability', { enum: AVAILABILITIES }).notNull().default('available'),
    // Open tickets an agent may hold at most; null = no cap.
    capacity: integer('capacity'),
    skills: text('skills').array().notNull().default(sql`'{}'::text[]`),
    isSenior: boolean('is_senior').notNull().default(false),
    availabilityChangedAt: timestampTz('availability_changed_at').notNull().defaultNow(),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    index('agent_profiles_org_idx').on(table.orgId),
    check('agent_profiles_availability_check', sql`${table.availability} in (${sqlList(AVAILABILITIES)})`),
    check('agent_profiles_capacity_check', sql`${table.capacity} is null or ${table.capacity} >= 0`),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * Automatic assignment of a team. The row is also the team's assignment lock: every
 * automatic assignment into the team locks it first, so two processes never both fill an
 * agent's last free slot.
 */
export const teamRouting = pgTable(
  'team_routing',
  {
    teamId: uuid('team_id')
      .primaryKey()
      .references(() => teams.id),
    orgId: uuid('org_id')
      .notNull()
      .references(() => organizations.id),
    mode: text('mode', { enum: ASSIGNMENT_MODES }).notNull().default('off'),
    // Category id → the skill an agent needs for tickets of that category.
    categorySkills: jsonb('category_skills').$type<Record<string, string>>().notNull().default({}),
    // Round-robin position: the agent who got the last ticket.
    lastAssigneeId: uuid('last_assignee_id').references(() => users.id),
    updatedAt: timestampTz('updated_at').notNull().defaultNow(),
  },
  (table) => [
    check('team_routing_mode_check', sql`${table.mode} in (${sqlList(ASSIGNMENT_MODES)})`),
    tenantPolicy(),
  ],
).enableRLS();
