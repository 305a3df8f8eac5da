import { z } from 'zod';
import { TicketPriority, ticketTables } from '../tickets/index.js';
import { WEEKDAYS } from './business-time.js';
import { BUSINESS_HOURS_SOURCES, TIMER_KINDS } from './sla.table.js';

/**
 * Request and response contracts of the SLA configuration: holiday calendars, business
 * calendars, SLA policies and the escalation policy. The schemas check shapes and types
 * (400); the services check values and references and answer 422 naming the field, so a
 * form can show every problem beside its input at once.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const label = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL.test(value), 'must not contain control characters');
const Timestamp = z.iso.datetime();
const atLeastOneChange = { message: 'give at least one change' };

export const IdParams = z.object({ id: z.uuid() }).strict();

const Name = label(100);

// Holiday calendars

export const HolidayInput = z
  .object({
    date: z.iso.date().describe('Local date YYYY-MM-DD; for recurring holidays only month and day count'),
    name: label(100),
    recurring: z.boolean().default(false).describe('Repeats every year on the same month and day'),
  })
  .strict();

const Holidays = z.array(HolidayInput).max(400).describe('Dates must be unique within the calendar');

export const CreateHolidayCalendarBody = z.object({ name: Name, holidays: Holidays.default([]) }).strict();

export const UpdateHolidayCalendarBody = z
  .object({ name: Name.optional(), holidays: Holidays.optional().describe('Replaces the whole set') })
  .strict()
  .refine((body) => Object.keys(body).length > 0, atLeastOneChange);

export const HolidayResponse = z.object({ date: z.string(), name: z.string(), recurring: z.boolean() });

export const HolidayCalendarResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    holidays: z.array(HolidayResponse).describe('In date order'),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'HolidayCalendar' });

export const HolidayCalendarList = z
  .object({ data: z.array(HolidayCalendarResponse) })
  .meta({ id: 'HolidayCalendarList' });

// Business calendars

export const BusinessInterval = z
  .object({
    start: z.string().max(5).describe('Wall-clock time HH:MM, 00:00–23:59'),
    end: z.string().max(5).describe('Wall-clock time HH:MM after start; 24:00 is the end of the day'),
  })
  .strict();

const Day = z.array(BusinessInterval).max(10);
export const WeeklyHours = z
  .object(
    Object.fromEntries(WEEKDAYS.map((day) => [day, Day.optional()])) as Record<
      (typeof WEEKDAYS)[number],
      z.ZodOptional<typeof Day>
    >,
  )
  .strict()
  .describe('Open intervals per weekday; a missing or empty day is closed. Intervals must not overlap');

export const CreateCalendarBody = z
  .object({
    name: Name,
    timeZone: z.string().max(100).describe('IANA time zone, e.g. Europe/Berlin'),
    hours: WeeklyHours,
    holidayCalendarIds: z.array(z.uuid()).max(50).default([]).describe('Holiday calendars that close days'),
    teamIds: z
      .array(z.uuid())
      .max(1000)
      .default([])
      .describe('Teams that work by this calendar; a team assigned elsewhere moves here'),
    isDefault: z
      .boolean()
      .default(false)
      .describe('The calendar of teams without one; setting it replaces the previous default'),
  })
  .strict();

export const UpdateCalendarBody = z
  .object({
    name: Name.optional(),
    timeZone: z.string().max(100).optional(),
    hours: WeeklyHours.optional().describe('Replaces the whole week'),
    holidayCalendarIds: z.array(z.uuid()).max(50).optional(),
    teamIds: z.array(z.uuid()).max(1000).optional().describe('Replaces the set of teams'),
    isDefault: z.boolean().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, atLeastOneChange);

export const CalendarResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    timeZone: z.string(),
    hours: z.record(z.enum(WEEKDAYS), z.array(z.object({ start: z.string(), end: z.string() }))),
    holidayCalendarIds: z.array(z.uuid()),
    teamIds: z.array(z.uuid()),
    isDefault: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'BusinessCalendar' });

export const CalendarList = z
  .object({ data: z.array(CalendarResponse) })
  .meta({ id: 'BusinessCalendarList' });

// SLA policies

/** Minutes in a year: the longest target. */
export const MAX_TARGET_MINUTES = 525_600;

const TargetMinutes = z.number().int().describe(`Minutes of business time, 1–${MAX_TARGET_MINUTES}`);
export const PriorityTargets = z
  .object({
    firstResponse: TargetMinutes.optional(),
    nextResponse: TargetMinutes.optional(),
    resolution: TargetMinutes.optional(),
  })
  .strict();
export const PolicyTargetsInput = z
  .object(
    Object.fromEntries(
      TicketPriority.options.map((priority) => [priority, PriorityTargets.optional()]),
    ) as Record<z.infer<typeof TicketPriority>, z.ZodOptional<typeof PriorityTargets>>,
  )
  .strict()
  .describe('Targets per priority and timer kind; a missing kind runs no timer. At least one target');

const CustomFieldValue = z.union([z.string().max(200), z.number(), z.boolean()]);
export const PolicyConditionsInput = z
  .object({
    teamIds: z.array(z.uuid()).max(100).optional(),
    categoryIds: z.array(z.uuid()).max(100).optional(),
    channels: z.array(z.enum(ticketTables.TICKET_CHANNELS)).max(10).optional(),
    priorities: z.array(TicketPriority).max(10).optional(),
    requesterCompanies: z.array(label(200)).max(100).optional(),
    requesterVip: z.boolean().optional(),
    customFields: z
      .record(z.string().max(64), z.array(CustomFieldValue).min(1).max(100))
      .optional()
      .describe('Custom field key → accepted values (any of)'),
  })
  .strict()
  .describe('Every given condition must hold; an empty object matches every ticket');

export const PolicyConditionsResponse = z.object({
  teamIds: z.array(z.uuid()).optional(),
  categoryIds: z.array(z.uuid()).optional(),
  channels: z.array(z.string()).optional(),
  priorities: z.array(z.string()).optional(),
  requesterCompanies: z.array(z.string()).optional(),
  requesterVip: z.boolean().optional(),
  customFields: z.record(z.string(), z.array(CustomFieldValue)).optional(),
});

const AtRiskPercent = z.number().int().describe('Share of the target after which a timer is at risk, 1–99');
const CalendarId = z
  .uuid()
  .nullable()
  .describe('Required when businessHours is "calendar", refused otherwise');

export const CreatePolicyBody = z
  .object({
    name: Name,
    description: z.string().trim().max(2000).default(''),
    enabled: z.boolean().default(true),
    conditions: PolicyConditionsInput,
    targets: PolicyTargetsInput,
    businessHours: z
      .enum(BUSINESS_HOURS_SOURCES)
      .describe("team: the ticket team's calendar (else the default); calendar: calendarId; always: 24/7"),
    calendarId: CalendarId.optional(),
    atRiskPercent: AtRiskPercent.default(75),
  })
  .strict();

export const UpdatePolicyBody = z
  .object({
    name: Name.optional(),
    description: z.string().trim().max(2000).optional(),
    enabled: z.boolean().optional(),
    conditions: PolicyConditionsInput.optional().describe('Replaces all conditions'),
    targets: PolicyTargetsInput.optional().describe('Replaces all targets'),
    businessHours: z.enum(BUSINESS_HOURS_SOURCES).optional(),
    calendarId: CalendarId.optional().describe('Cleared when businessHours leaves "calendar"'),
    atRiskPercent: AtRiskPercent.optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, atLeastOneChange);

export const PolicyOrderBody = z
  .object({ ids: z.array(z.uuid()).max(1000).describe('Every live policy, first match first') })
  .strict();

const TargetResponse = z.number().int().nullable();
export const PolicyResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    position: z.number().int(),
    enabled: z.boolean(),
    conditions: PolicyConditionsResponse,
    targets: z.record(
      TicketPriority,
      z.object({ firstResponse: TargetResponse, nextResponse: TargetResponse, resolution: TargetResponse }),
    ),
    businessHours: z.enum(BUSINESS_HOURS_SOURCES),
    calendarId: z.uuid().nullable(),
    atRiskPercent: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'SlaPolicy' });

export const PolicyList = z
  .object({ data: z.array(PolicyResponse).describe('In evaluation order: the first match applies') })
  .meta({ id: 'SlaPolicyList' });

// Escalation policy

export const ESCALATION_TRIGGERS = ['at_risk', 'breach', 'after_breach'] as const;
export const ESCALATION_RECIPIENTS = [
  'assignee',
  'team_leads',
  'previous_assignee',
  'escalation_managers',
] as const;
export const SENIOR_ROLES = ['team_lead', 'admin', 'agent'] as const;
export const MAX_ESCALATION_LEVELS = 10;
/** A week: escalating later than that has stopped being an escalation. */
export const MAX_ESCALATION_DELAY_MINUTES = 10_080;

export const EscalationLevelInput = z
  .object({
    trigger: z.enum(ESCALATION_TRIGGERS),
    delayMinutes: z
      .number()
      .int()
      .optional()
      .describe(`Minutes after the breach, 1–${MAX_ESCALATION_DELAY_MINUTES}; after_breach only`),
    kinds: z
      .array(z.enum(TIMER_KINDS))
      .min(1)
      .optional()
      .describe('Timer kinds it applies to; all when absent'),
    notify: z.array(z.enum(ESCALATION_RECIPIENTS)).max(ESCALATION_RECIPIENTS.length * 2),
    reassignToSenior: z.boolean().optional().describe('breach and after_breach only'),
    raisePriority: z.boolean().optional(),
  })
  .strict();

export const EscalationPolicyBody = z
  .object({
    levels: z
      .array(EscalationLevelInput)
      .max(100)
      .describe(
        `At most ${MAX_ESCALATION_LEVELS}; one at_risk and one breach level, after_breach levels with distinct delays`,
      ),
    managerIds: z
      .array(z.uuid())
      .max(100)
      .default([])
      .describe('Active users notified as escalation_managers'),
    seniorRole: z
      .enum(SENIOR_ROLES)
      .nullable()
      .default(null)
      .describe('Members with this role count as senior besides agents flagged senior'),
  })
  .strict();

export const EscalationLevelResponse = z.object({
  level: z.number().int().describe('1..n in firing order'),
  trigger: z.enum(ESCALATION_TRIGGERS),
  delayMinutes: z.number().int().nullable(),
  kinds: z.array(z.enum(TIMER_KINDS)).nullable().describe('null: every kind'),
  notify: z.array(z.enum(ESCALATION_RECIPIENTS)),
  reassignToSenior: z.boolean(),
  raisePriority: z.boolean(),
});

export const EscalationPolicyResponse = z
  .object({
    levels: z.array(EscalationLevelResponse).nullable().describe('null until the policy is first set'),
    managerIds: z.array(z.uuid()),
    seniorRole: z.enum(SENIOR_ROLES).nullable(),
    updatedAt: Timestamp.nullable(),
  })
  .meta({ id: 'EscalationPolicy' });
