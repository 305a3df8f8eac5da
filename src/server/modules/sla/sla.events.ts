import { z } from 'zod';
import { defineEvent } from '../../platform/events/events.js';

/** Events of an organisation's SLA configuration: policies, calendars and escalation. */

const Changes = z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }));
const Named = z.object({ name: z.string() });
const NamedChange = z.object({ name: z.string(), changes: Changes });

export const SlaPolicyCreated = defineEvent('sla_policy.created', 'sla_policy', Named);
export const SlaPolicyUpdated = defineEvent('sla_policy.updated', 'sla_policy', NamedChange);
export const SlaPolicyDeleted = defineEvent('sla_policy.deleted', 'sla_policy', Named);

export const BusinessCalendarCreated = defineEvent('business_calendar.created', 'business_calendar', Named);
export const BusinessCalendarUpdated = defineEvent(
  'business_calendar.updated',
  'business_calendar',
  NamedChange,
);
export const BusinessCalendarDeleted = defineEvent('business_calendar.deleted', 'business_calendar', Named);

export const HolidayCalendarCreated = defineEvent('holiday_calendar.created', 'holiday_calendar', Named);
export const HolidayCalendarUpdated = defineEvent(
  'holiday_calendar.updated',
  'holiday_calendar',
  NamedChange,
);
export const HolidayCalendarDeleted = defineEvent('holiday_calendar.deleted', 'holiday_calendar', Named);

/** One escalation policy per organisation: the aggregate id is the organisation's id. */
export const EscalationPolicyUpdated = defineEvent(
  'escalation_policy.updated',
  'escalation_policy',
  z.object({ changes: Changes }),
);
