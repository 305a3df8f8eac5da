import { type DemoDirectory, ROLE_PERMISSIONS } from '../identity/index.js';
import type { SlaAdmin } from './configuration.js';

/**
 * The demo organisation's SLA set-up, so a first look shows clocks running: office hours in
 * Berlin with recurring public holidays as the default calendar, one policy for every
 * ticket, and three escalation levels. Runs before the demo tickets are opened.
 */
export async function seedDemoSla(admin: SlaAdmin, demo: DemoDirectory): Promise<void> {
  const adminUser = demo.users.admin;
  if (!adminUser) throw new Error('the demo directory has no admin');
  const actor = {
    userId: adminUser.id,
    orgId: demo.orgId,
    role: adminUser.role,
    permissions: ROLE_PERMISSIONS[adminUser.role],
  };
  const holidays = await admin.calendars.createHolidayCalendar(actor, {
    name: 'Public holidays',
    holidays: [
      { date: '2026-01-01', name: "New Year's Day", recurring: true },
      { date: '2026-05-01', name: 'Labour Day', recurring: true },
      { date: '2026-10-03', name: 'German Unity Day', recurring: true },
      { date: '2026-12-25', name: 'Christmas Day', recurring: true },
      { date: '2026-12-26', name: 'Boxing Day', recurring: true },
    ],
  });
  const day = [{ start: '08:00', end: '18:00' }];
  await admin.calendars.createCalendar(actor, {
    name: 'Office hours',
    timeZone: 'Europe/Berlin',
    hours: { monday: day, tuesday: day, wednesday: day, thursday: day, friday: day },
    holidayCalendarIds: [holidays.id],
    teamIds: [],
    isDefault: true,
  });
  await admin.policies.createPolicy(actor, {
    name: 'Standard support',
    description: 'Every ticket, counted in office hours.',
    enabled: true,
    conditions: {},
    businessHours: 'team',
    atRiskPercent: 75,
    targets: {
      low: { firstResponse: 8 * 60, nextResponse: 8 * 60, resolution: 5 * 10 * 60 },
      medium: { firstResponse: 4 * 60, nextResponse: 4 * 60, resolution: 3 * 10 * 60 },
      high: { firstResponse: 60, nextResponse: 2 * 60, resolution: 10 * 60 },
      critical: { firstResponse: 15, nextResponse: 30, resolution: 4 * 60 },
    },
  });
  await admin.escalation.setEscalationPolicy(actor, {
    levels: [
      { trigger: 'at_risk', notify: ['assignee', 'team_leads'] },
      { trigger: 'breach', reassignToSenior: true, notify: ['assignee', 'previous_assignee'] },
      { trigger: 'after_breach', delayMinutes: 60, notify: ['escalation_managers'], raisePriority: true },
    ],
    managerIds: [adminUser.id],
    seniorRole: 'team_lead',
  });
}
