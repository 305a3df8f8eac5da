import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  real,
  smallint,
  text,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { primaryId, sqlList, tenantPolicy, timestamps, timestampTz } from '../../platform/db/columns.js';
import { identityTables } from '../identity/index.js';
import { ticketTables } from '../tickets/index.js';
import type { BusinessInterval, Weekday } from './business-time.js';

const { organizations, teams } = identityTables;
const { tickets } = ticketTables;

const { orgIdColumn } = identityTables;

export const TIMER_KINDS = ['first_response', 'next_response', 'resolution'] as const;
export const TIMER_STATES = ['running', 'paused', 'at_risk', 'breached', 'met'] as const;
/** Where a policy's clock takes its business hours from. */
export const BUSINESS_HOURS_SOURCES = ['team', 'calendar', 'always'] as const;
export const TIMER_EVENT_KINDS = ['at_risk', 'breached', 'escalated'] as const;

/** Named sets of holidays (public holidays of a country, company days), shared by calendars. */
export const holidayCalendars = pgTable(
  'holiday_calendars',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    name: text('name').notNull(),
    ...timestamps(),
  },
  (table) => [
    uniqueIndex('holiday_calendars_org_name_key').on(table.orgId, sql`lower(${table.name})`),
    tenantPolicy(),
  ],
).enableRLS();

export const holidays = pgTable(
  'holidays',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    holidayCalendarId: uuid('holiday_calendar_id')
      .notNull()
      .references(() => holidayCalendars.id, { onDelete: 'cascade' }),
    date: date('date', { mode: 'string' }).notNull(),
    name: text('name').notNull(),
    // Repeats every year on the same month and day.
    recurring: boolean('recurring').notNull().default(false),
    createdAt: timestampTz('created_at').notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('holidays_calendar_date_key').on(table.holidayCalendarId, table.date),
    tenantPolicy(),
  ],
).enableRLS();

/** Weekly business hours in a time zone, plus the holiday calendars that close whole days. */
export const businessCalendars = pgTable(
  'business_calendars',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    name: text('name').notNull(),
    timeZone: text('time_zone').notNull(),
    hours: jsonb('hours').$type<Partial<Record<Weekday, BusinessInterval[]>>>().notNull(),
    holidayCalendarIds: uuid('holiday_calendar_ids').array().notNull().default(sql`'{}'::uuid[]`),
    // The organisation's default: used for teams without a calendar of their own.
    isDefault: boolean('is_default').notNull().default(false),
    ...timestamps(),
  },
  (table) => [
    uniqueIndex('business_calendars_org_name_key').on(table.orgId, sql`lower(${table.name})`),
    uniqueIndex('business_calendars_org_default_key').on(table.orgId).where(sql`${table.isDefault}`),
    tenantPolicy(),
  ],
).enableRLS();

/** The calendar a team works by (at most one per team). */
export const teamCalendars = pgTable(
  'team_calendars',
  {
    teamId: uuid('team_id')
      .primaryKey()
      .references(() => teams.id),
    orgId: orgIdColumn(),
    calendarId: uuid('calendar_id')
      .notNull()
      .references(() => businessCalendars.id, { onDelete: 'cascade' }),
  },
  (table) => [index('team_calendars_calendar_idx').on(table.calendarId), tenantPolicy()],
).enableRLS();

/** Conditions choosing a policy; every given condition must hold (an empty set matches all). */
export interface PolicyConditions {
  teamIds?: string[];
  categoryIds?: string[];
  channels?: string[];
  priorities?: string[];
  requesterCompanies?: string[];
  requesterVip?: boolean;
  /** Custom field key → accepted values (any of). */
  customFields?: Record<string, Array<string | number | boolean>>;
}

/** Targets in seconds of business time per timer kind; a missing kind runs no timer. */
export type PolicyTargets = Record<
  'low' | 'medium' | 'high' | 'critical',
  Partial<Record<(typeof TIMER_KINDS)[number], number>>
>;

/** SLA policies, ordered by position: the first enabled policy whose conditions match applies. */
export const slaPolicies = pgTable(
  'sla_policies',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    position: integer('position').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    conditions: jsonb('conditions').$type<PolicyConditions>().notNull().default({}),
    targets: jsonb('targets').$type<PolicyTargets>().notNull(),
    businessHours: text('business_hours', { enum: BUSINESS_HOURS_SOURCES }).notNull().default('team'),
    calendarId: uuid('calendar_id').references(() => businessCalendars.id),
    // Share of the target after which a running timer is at risk.
    atRiskShare: real('at_risk_share').notNull().default(0.75),
    ...timestamps(),
    deletedAt: timestampTz('deleted_at'),
  },
  (table) => [
    index('sla_policies_org_position_idx')
      .on(table.orgId, table.position)
      .where(sql`${table.deletedAt} is null`),
    uniqueIndex('sla_policies_org_name_key')
      .on(table.orgId, sql`lower(${table.name})`)
      .where(sql`${table.deletedAt} is null`),
    check(
      'sla_policies_business_hours_check',
      sql`${table.businessHours} in (${sqlList(BUSINESS_HOURS_SOURCES)})`,
    ),
    check(
      'sla_policies_calendar_check',
      sql`(${table.businessHours} = 'calendar') = (${table.calendarId} is not null)`,
    ),
    check('sla_policies_at_risk_share_check', sql`${table.atRiskShare} > 0 and ${table.atRiskShare} < 1`),
    tenantPolicy(),
  ],
).enableRLS();

/** One step of an escalation policy. */
export interface EscalationLevel {
  /** When the step fires: at risk, at breach, or a delay after the breach. */
  trigger: 'at_risk' | 'breach' | 'after_breach';
  /** Minutes after the due time (after_breach only). */
  delayMinutes?: number;
  /** Timer kinds the step applies to; all when absent. */
  kinds?: Array<(typeof TIMER_KINDS)[number]>;
  notify: Array<'assignee' | 'team_leads' | 'previous_assignee' | 'escalation_managers'>;
  reassignToSenior?: boolean;
  raisePriority?: boolean;
}

/** An organisation's escalation policy (one per organisation). */
export const escalationPolicies = pgTable(
  'escalation_policies',
  {
    orgId: uuid('org_id')
      .primaryKey()
      .references(() => organizations.id),
    levels: jsonb('levels').$type<EscalationLevel[]>().notNull(),
    // Users who receive `escalation_managers` notifications.
    managerIds: uuid('manager_ids').array().notNull().default(sql`'{}'::uuid[]`),
    // Who counts as senior besides agents flagged senior: members with this role.
    seniorRole: text('senior_role'),
    ...timestamps(),
  },
  () => [tenantPolicy()],
).enableRLS();

/**
 * The SLA clocks of tickets. A running timer's due time is `consumed_ms` of business time
 * already used plus the rest counted from `segment_started_at`; pausing folds the segment
 * into `consumed_ms`. `next_fire_at` is when the next at-risk, breach or escalation step is
 * due; the delayed jobs and the sweep both look only at it.
 */
export const slaTimers = pgTable(
  'sla_timers',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    policyId: uuid('policy_id')
      .notNull()
      .references(() => slaPolicies.id),
    kind: text('kind', { enum: TIMER_KINDS }).notNull(),
    // The n-th timer of this kind on the ticket (next responses, reopened resolutions).
    cycle: smallint('cycle').notNull().default(1),
    targetSeconds: integer('target_seconds').notNull(),
    // The calendar the clock counts by; null counts round the clock.
    calendarId: uuid('calendar_id').references(() => businessCalendars.id),
    atRiskShare: real('at_risk_share').notNull(),
    state: text('state', { enum: TIMER_STATES }).notNull().default('running'),
    startedAt: timestampTz('started_at').notNull(),
    segmentStartedAt: timestampTz('segment_started_at'),
    consumedMs: bigint('consumed_ms', { mode: 'number' }).notNull().default(0),
    atRiskAt: timestampTz('at_risk_at'),
    dueAt: timestampTz('due_at'),
    pausedAt: timestampTz('paused_at'),
    atRiskFiredAt: timestampTz('at_risk_fired_at'),
    breachedAt: timestampTz('breached_at'),
    // Escalation steps already taken (level numbers of the org's escalation policy).
    escalatedLevels: smallint('escalated_levels').array().notNull().default(sql`'{}'::smallint[]`),
    nextFireAt: timestampTz('next_fire_at'),
    completedAt: timestampTz('completed_at'),
    ...timestamps(),
  },
  (table) => [
    uniqueIndex('sla_timers_active_key')
      .on(table.ticketId, table.kind)
      .where(sql`${table.completedAt} is null`),
    index('sla_timers_ticket_idx').on(table.ticketId),
    index('sla_timers_next_fire_idx').on(table.nextFireAt).where(sql`${table.nextFireAt} is not null`),
    index('sla_timers_org_due_idx').on(table.orgId, table.dueAt).where(sql`${table.completedAt} is null`),
    check('sla_timers_kind_check', sql`${table.kind} in (${sqlList(TIMER_KINDS)})`),
    check('sla_timers_state_check', sql`${table.state} in (${sqlList(TIMER_STATES)})`),
    check('sla_timers_target_check', sql`${table.targetSeconds} > 0`),
    tenantPolicy(),
  ],
).enableRLS();

/**
 * What happened to a timer, each at most once: the unique key is what makes an at-risk
 * warning, a breach or an escalation step fire exactly once however many jobs, sweeps and
 * processes race for it.
 */
export const slaTimerEvents = pgTable(
  'sla_timer_events',
  {
    id: primaryId(),
    orgId: orgIdColumn(),
    timerId: uuid('timer_id')
      .notNull()
      .references(() => slaTimers.id),
    ticketId: uuid('ticket_id')
      .notNull()
      .references(() => tickets.id),
    kind: text('kind', { enum: TIMER_EVENT_KINDS }).notNull(),
    // Escalation level; 0 for the at-risk and breach events themselves.
    level: smallint('level').notNull().default(0),
    // When it was due, and when it fired: the difference is the detection lag.
    dueAt: timestampTz('due_at').notNull(),
    firedAt: timestampTz('fired_at').notNull().defaultNow(),
    firedBy: text('fired_by').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [
    uniqueIndex('sla_timer_events_once_key').on(table.timerId, table.kind, table.level),
    index('sla_timer_events_org_fired_idx').on(table.orgId, table.firedAt),
    check('sla_timer_events_kind_check', sql`${table.kind} in (${sqlList(TIMER_EVENT_KINDS)})`),
    tenantPolicy(),
  ],
).enableRLS();
