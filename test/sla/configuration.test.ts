import { randomUUID } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSlaConfiguration } from '../../src/server/modules/sla/configuration.cache.js';
import {
  businessCalendars,
  escalationPolicies,
  holidayCalendars,
  holidays,
  slaPolicies,
} from '../../src/server/modules/sla/sla.table.js';
import { outbox } from '../../src/server/platform/events/outbox.table.js';
import { createUser, type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';
import { type TicketWorld, ticketWorld, type Who } from '../tickets/support.js';

let server: TestApp;
let world: TicketWorld;
let other: SignedUp;

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
  other = await signupOrg(server.app);
});
afterAll(async () => server?.close());

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

function api(method: Method, url: string, who: Who, payload?: unknown) {
  return server.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: who.auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/** A unique name, so tests sharing the organisation never collide. */
const unique = (label: string) => `${label} ${randomUUID().slice(0, 6)}`;

const WEEKDAY_HOURS = Object.fromEntries(
  ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'].map((day) => [
    day,
    [{ start: '09:00', end: '17:00' }],
  ]),
);

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by assertions, not by types
type Json = Record<string, any>;

async function created(method: Method, url: string, payload: unknown, status = 201): Promise<Json> {
  const response = await api(method, url, world.admin, payload);
  expect(response.statusCode, response.body).toBe(status);
  return response.json();
}

const createHolidayCalendar = (payload: Json = {}) =>
  created('POST', '/sla/holiday-calendars', { name: unique('Holidays'), holidays: [], ...payload });
const createCalendar = (payload: Json = {}) =>
  created('POST', '/sla/calendars', {
    name: unique('Office hours'),
    timeZone: 'Europe/Berlin',
    hours: WEEKDAY_HOURS,
    ...payload,
  });
const createPolicy = (payload: Json = {}) =>
  created('POST', '/sla/policies', {
    name: unique('Policy'),
    conditions: {},
    targets: { high: { firstResponse: 60, resolution: 480 } },
    businessHours: 'always',
    ...payload,
  });

/** Rows of an SLA table in the organisation (read as the superuser, past row-level security). */
async function countRows(
  table: PgTable & { orgId: AnyPgColumn },
  orgId = world.admin.orgId,
): Promise<number> {
  const [row] = await server.platform.database.db
    .select({ count: sql<number>`count(*)::int` })
    .from(table)
    .where(eq(table.orgId, orgId));
  return row!.count;
}

/** Row counts of every configuration table, to assert that a refused request wrote nothing. */
const snapshot = async () => ({
  holidayCalendars: await countRows(holidayCalendars),
  holidays: await countRows(holidays),
  calendars: await countRows(businessCalendars),
  policies: await countRows(slaPolicies),
  escalation: await countRows(escalationPolicies),
  outbox: await countRows(outbox),
});

/** Outbox event names recorded for one aggregate, oldest first. */
async function eventsOf(aggregateId: string): Promise<string[]> {
  const rows = await server.platform.database.db
    .select({ event: outbox.event })
    .from(outbox)
    .where(eq(outbox.aggregateId, aggregateId))
    .orderBy(asc(outbox.id));
  return rows.map((row) => row.event);
}

/** Expects a 422 whose details name `field`, and that nothing was written. */
async function expectRefused(method: Method, url: string, payload: unknown, field: string) {
  const before = await snapshot();
  const response = await api(method, url, world.admin, payload);
  expect(response.statusCode, response.body).toBe(422);
  const body = response.json();
  expect(body.code).toBe('UNPROCESSABLE');
  expect(Object.keys(body.details), response.body).toContain(field);
  expect(await snapshot()).toEqual(before);
  return body.details as Record<string, string>;
}

describe('holiday calendars', () => {
  it('round-trips create, read, list, replace and delete', async () => {
    const calendar = await createHolidayCalendar({
      holidays: [
        { date: '2025-12-25', name: 'Christmas', recurring: true },
        { date: '2025-01-01', name: 'New Year' },
      ],
    });
    expect(calendar.holidays).toEqual([
      { date: '2025-01-01', name: 'New Year', recurring: false },
      { date: '2025-12-25', name: 'Christmas', recurring: true },
    ]);
    const read = await api('GET', `/sla/holiday-calendars/${calendar.id}`, world.admin);
    expect(read.json()).toEqual(calendar);
    const listed = (await api('GET', '/sla/holiday-calendars', world.admin)).json().data;
    expect(listed.find((row: Json) => row.id === calendar.id)).toEqual(calendar);

    const renamed = unique('Public holidays');
    const updated = await created(
      'PATCH',
      `/sla/holiday-calendars/${calendar.id}`,
      { name: renamed, holidays: [{ date: '2026-05-01', name: 'Labour Day', recurring: true }] },
      200,
    );
    expect(updated).toMatchObject({
      name: renamed,
      holidays: [{ date: '2026-05-01', name: 'Labour Day', recurring: true }],
    });
    expect(
      (await api('GET', `/sla/holiday-calendars/${calendar.id}`, world.admin)).json().holidays,
    ).toHaveLength(1);

    expect((await api('DELETE', `/sla/holiday-calendars/${calendar.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('GET', `/sla/holiday-calendars/${calendar.id}`, world.admin)).statusCode).toBe(404);
    expect(await eventsOf(calendar.id)).toEqual([
      'holiday_calendar.created',
      'holiday_calendar.updated',
      'holiday_calendar.deleted',
    ]);
  });

  it('refuses a date listed twice, on create and on replace', async () => {
    const twice = [
      { date: '2025-12-24', name: 'Christmas Eve' },
      { date: '2025-12-24', name: 'Also Christmas Eve' },
    ];
    await expectRefused(
      'POST',
      '/sla/holiday-calendars',
      { name: unique('Dup'), holidays: twice },
      'holidays.1.date',
    );
    const calendar = await createHolidayCalendar({ holidays: [{ date: '2025-10-03', name: 'Unity Day' }] });
    await expectRefused(
      'PATCH',
      `/sla/holiday-calendars/${calendar.id}`,
      { holidays: twice },
      'holidays.1.date',
    );
    expect((await api('GET', `/sla/holiday-calendars/${calendar.id}`, world.admin)).json().holidays).toEqual([
      { date: '2025-10-03', name: 'Unity Day', recurring: false },
    ]);
  });

  it('keeps names unique ignoring case, and a used calendar from being deleted', async () => {
    const calendar = await createHolidayCalendar();
    const clash = await api('POST', '/sla/holiday-calendars', world.admin, {
      name: calendar.name.toUpperCase(),
      holidays: [],
    });
    expect(clash.statusCode).toBe(409);
    const business = await createCalendar({ holidayCalendarIds: [calendar.id] });
    const refused = await api('DELETE', `/sla/holiday-calendars/${calendar.id}`, world.admin);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().details.calendars).toEqual([{ id: business.id, name: business.name }]);
  });
});

describe('business calendars', () => {
  it('round-trips a calendar with hours, holiday calendars and teams', async () => {
    const holidaysSet = await createHolidayCalendar();
    const calendar = await createCalendar({
      timeZone: 'America/New_York',
      hours: {
        monday: [
          { start: '13:00', end: '17:00' },
          { start: '08:00', end: '12:00' },
        ],
      },
      holidayCalendarIds: [holidaysSet.id],
      teamIds: [world.otherTeamId],
    });
    expect(calendar).toMatchObject({
      timeZone: 'America/New_York',
      holidayCalendarIds: [holidaysSet.id],
      teamIds: [world.otherTeamId],
      isDefault: false,
    });
    expect(calendar.hours.monday).toEqual([
      { start: '08:00', end: '12:00' },
      { start: '13:00', end: '17:00' },
    ]);
    expect(calendar.hours.sunday).toEqual([]);
    expect((await api('GET', `/sla/calendars/${calendar.id}`, world.admin)).json()).toEqual(calendar);

    const updated = await created(
      'PATCH',
      `/sla/calendars/${calendar.id}`,
      { hours: { saturday: [{ start: '10:00', end: '24:00' }] }, holidayCalendarIds: [] },
      200,
    );
    expect(updated.hours).toMatchObject({ monday: [], saturday: [{ start: '10:00', end: '24:00' }] });
    expect(updated.holidayCalendarIds).toEqual([]);
    const listed = (await api('GET', '/sla/calendars', world.admin)).json().data;
    expect(listed.find((row: Json) => row.id === calendar.id)).toEqual(updated);

    expect((await api('DELETE', `/sla/calendars/${calendar.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('GET', `/sla/calendars/${calendar.id}`, world.admin)).statusCode).toBe(404);
    expect(await eventsOf(calendar.id)).toEqual([
      'business_calendar.created',
      'business_calendar.updated',
      'business_calendar.deleted',
    ]);
  });

  it('keeps one default: setting it clears the previous one', async () => {
    const first = await createCalendar({ isDefault: true });
    const second = await createCalendar({ isDefault: true });
    expect(second.isDefault).toBe(true);
    expect((await api('GET', `/sla/calendars/${first.id}`, world.admin)).json().isDefault).toBe(false);
    await created('PATCH', `/sla/calendars/${first.id}`, { isDefault: true }, 200);
    const listed = (await api('GET', '/sla/calendars', world.admin)).json().data as Json[];
    expect(listed.filter((row) => row.isDefault).map((row) => row.id)).toEqual([first.id]);
    expect(await eventsOf(second.id)).toEqual(['business_calendar.created', 'business_calendar.updated']);
  });

  it('assigns teams, moving them from another calendar', async () => {
    const first = await createCalendar({ teamIds: [world.teamId] });
    const second = await createCalendar();
    const moved = await created('PATCH', `/sla/calendars/${second.id}`, { teamIds: [world.teamId] }, 200);
    expect(moved.teamIds).toEqual([world.teamId]);
    expect((await api('GET', `/sla/calendars/${first.id}`, world.admin)).json().teamIds).toEqual([]);
    expect(await eventsOf(first.id)).toEqual(['business_calendar.created', 'business_calendar.updated']);
    const cleared = await created('PATCH', `/sla/calendars/${second.id}`, { teamIds: [] }, 200);
    expect(cleared.teamIds).toEqual([]);
    await expectRefused('PATCH', `/sla/calendars/${second.id}`, { teamIds: [randomUUID()] }, 'teamIds');
    await expectRefused('POST', '/sla/calendars', calendarBody({ teamIds: [randomUUID()] }), 'teamIds');
  });

  const calendarBody = (payload: Json) => ({
    name: unique('Bad'),
    timeZone: 'Europe/Berlin',
    hours: WEEKDAY_HOURS,
    ...payload,
  });

  it('refuses overlapping or inverted hours, unknown zones and unknown holiday calendars', async () => {
    await expectRefused(
      'POST',
      '/sla/calendars',
      calendarBody({
        hours: {
          monday: [
            { start: '09:00', end: '13:00' },
            { start: '12:00', end: '17:00' },
          ],
        },
      }),
      'hours.monday.1',
    );
    await expectRefused(
      'POST',
      '/sla/calendars',
      calendarBody({ hours: { tuesday: [{ start: '17:00', end: '09:00' }] } }),
      'hours.tuesday.0.end',
    );
    await expectRefused(
      'POST',
      '/sla/calendars',
      calendarBody({ timeZone: 'Mars/Olympus_Mons' }),
      'timeZone',
    );
    await expectRefused('POST', '/sla/calendars', calendarBody({ hours: {} }), 'hours');
    await expectRefused(
      'POST',
      '/sla/calendars',
      calendarBody({ holidayCalendarIds: [randomUUID()] }),
      'holidayCalendarIds',
    );
    const calendar = await createCalendar();
    await expectRefused('PATCH', `/sla/calendars/${calendar.id}`, { timeZone: 'Nowhere/Land' }, 'timeZone');
    await expectRefused(
      'PATCH',
      `/sla/calendars/${calendar.id}`,
      { hours: { friday: [{ start: '09:00', end: '09:00' }] } },
      'hours.friday.0.end',
    );
    expect((await api('GET', `/sla/calendars/${calendar.id}`, world.admin)).json()).toEqual(calendar);
  });

  it('refuses to delete a calendar a policy counts by, naming the policy', async () => {
    const calendar = await createCalendar();
    const policy = await createPolicy({ businessHours: 'calendar', calendarId: calendar.id });
    const refused = await api('DELETE', `/sla/calendars/${calendar.id}`, world.admin);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().details.policies).toEqual([{ id: policy.id, name: policy.name }]);
    expect(refused.json().message).toContain(policy.name);
    expect((await api('DELETE', `/sla/policies/${policy.id}`, world.admin)).statusCode).toBe(204);
    // A deleted policy no longer holds the calendar.
    expect((await api('DELETE', `/sla/calendars/${calendar.id}`, world.admin)).statusCode).toBe(204);
  });
});

describe('SLA policies', () => {
  it('round-trips a policy: minutes in the API, seconds in the database', async () => {
    const category = await created('POST', '/ticket-categories', { name: unique('Hardware') });
    const field = await created('POST', '/ticket-fields', {
      key: `tier_${randomUUID().slice(0, 6)}`,
      label: 'Tier',
      type: 'select',
      options: ['gold', 'silver'],
    });
    const calendar = await createCalendar();
    const policy = await createPolicy({
      description: 'Gold customers',
      conditions: {
        teamIds: [world.teamId, world.teamId],
        categoryIds: [category.id],
        channels: ['email'],
        priorities: ['high', 'critical'],
        requesterCompanies: ['Acme'],
        requesterVip: true,
        customFields: { [field.key]: ['gold'] },
      },
      targets: { critical: { firstResponse: 15, resolution: 240 }, high: { nextResponse: 60 } },
      businessHours: 'calendar',
      calendarId: calendar.id,
      atRiskPercent: 80,
    });
    expect(policy).toMatchObject({
      description: 'Gold customers',
      enabled: true,
      conditions: {
        teamIds: [world.teamId],
        categoryIds: [category.id],
        channels: ['email'],
        requesterVip: true,
        customFields: { [field.key]: ['gold'] },
      },
      targets: {
        low: { firstResponse: null, nextResponse: null, resolution: null },
        high: { firstResponse: null, nextResponse: 60, resolution: null },
        critical: { firstResponse: 15, nextResponse: null, resolution: 240 },
      },
      businessHours: 'calendar',
      calendarId: calendar.id,
      atRiskPercent: 80,
    });
    const [row] = await server.platform.database.db
      .select()
      .from(slaPolicies)
      .where(eq(slaPolicies.id, policy.id));
    expect(row!.targets.critical).toEqual({ first_response: 900, resolution: 14_400 });
    expect(row!.targets.high).toEqual({ next_response: 3600 });
    expect(row!.atRiskShare).toBeCloseTo(0.8);
    expect((await api('GET', `/sla/policies/${policy.id}`, world.admin)).json()).toEqual(policy);

    const updated = await created(
      'PATCH',
      `/sla/policies/${policy.id}`,
      { businessHours: 'team', enabled: false, targets: { low: { resolution: 2880 } } },
      200,
    );
    expect(updated).toMatchObject({ businessHours: 'team', calendarId: null, enabled: false });
    expect(updated.targets.low.resolution).toBe(2880);
    expect(updated.targets.critical.firstResponse).toBeNull();

    expect((await api('DELETE', `/sla/policies/${policy.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('GET', `/sla/policies/${policy.id}`, world.admin)).statusCode).toBe(404);
    const listed = (await api('GET', '/sla/policies', world.admin)).json().data as Json[];
    expect(listed.map((entry) => entry.id)).not.toContain(policy.id);
    const [deleted] = await server.platform.database.db
      .select({ deletedAt: slaPolicies.deletedAt })
      .from(slaPolicies)
      .where(eq(slaPolicies.id, policy.id));
    expect(deleted!.deletedAt).not.toBeNull();
    expect(await eventsOf(policy.id)).toEqual([
      'sla_policy.created',
      'sla_policy.updated',
      'sla_policy.deleted',
    ]);
  });

  it('adds new policies last and takes a full new order', async () => {
    const a = await createPolicy();
    const b = await createPolicy();
    const c = await createPolicy();
    const ids = () =>
      api('GET', '/sla/policies', world.admin).then((r) => r.json().data.map((p: Json) => p.id));
    const before = (await ids()) as string[];
    expect(before.slice(-3)).toEqual([a.id, b.id, c.id]);

    const wanted = [c.id, ...before.filter((id) => id !== c.id && id !== a.id), a.id];
    const ordered = await created('PUT', '/sla/policies/order', { ids: wanted }, 200);
    expect(ordered.data.map((p: Json) => p.id)).toEqual(wanted);
    expect(await ids()).toEqual(wanted);
    expect(await eventsOf(c.id)).toEqual(['sla_policy.created', 'sla_policy.updated']);

    await expectRefused('PUT', '/sla/policies/order', { ids: wanted.slice(1) }, 'ids');
    await expectRefused('PUT', '/sla/policies/order', { ids: [...wanted, randomUUID()] }, 'ids');
    await expectRefused('PUT', '/sla/policies/order', { ids: [...wanted, wanted[0]] }, 'ids');
    expect(await ids()).toEqual(wanted);
  });

  const policyBody = (payload: Json) => ({
    name: unique('Bad policy'),
    conditions: {},
    targets: { high: { resolution: 60 } },
    businessHours: 'always',
    ...payload,
  });

  it('refuses zero, negative and missing targets, naming them', async () => {
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ targets: { high: { resolution: 0 } } }),
      'targets.high.resolution',
    );
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ targets: { low: { firstResponse: -5 }, high: { resolution: 60 } } }),
      'targets.low.firstResponse',
    );
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ targets: { critical: { nextResponse: 525_601 } } }),
      'targets.critical.nextResponse',
    );
    await expectRefused('POST', '/sla/policies', policyBody({ targets: {} }), 'targets');
    await expectRefused('POST', '/sla/policies', policyBody({ targets: { low: {} } }), 'targets');
    const policy = await createPolicy();
    await expectRefused(
      'PATCH',
      `/sla/policies/${policy.id}`,
      { targets: { medium: { resolution: -1 } } },
      'targets.medium.resolution',
    );
    expect((await api('GET', `/sla/policies/${policy.id}`, world.admin)).json()).toEqual(policy);
  });

  it('refuses unknown teams, categories, custom fields and calendars in conditions', async () => {
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ conditions: { teamIds: [world.teamId, randomUUID()] } }),
      'conditions.teamIds',
    );
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ conditions: { categoryIds: [randomUUID()] } }),
      'conditions.categoryIds',
    );
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ conditions: { customFields: { no_such_field: ['x'] } } }),
      'conditions.customFields.no_such_field',
    );
    await expectRefused('POST', '/sla/policies', policyBody({ businessHours: 'calendar' }), 'calendarId');
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ businessHours: 'calendar', calendarId: randomUUID() }),
      'calendarId',
    );
    const calendar = await createCalendar();
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ businessHours: 'team', calendarId: calendar.id }),
      'calendarId',
    );
    await expectRefused('POST', '/sla/policies', policyBody({ atRiskPercent: 100 }), 'atRiskPercent');
    // Another organisation's team is as unknown as a made-up one.
    const foreignTeam = await api('POST', '/admin/teams', other, { name: unique('Theirs') });
    await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ conditions: { teamIds: [foreignTeam.json().id] } }),
      'conditions.teamIds',
    );
    const details = await expectRefused(
      'POST',
      '/sla/policies',
      policyBody({ conditions: { teamIds: [randomUUID()] }, targets: { high: { resolution: 0 } } }),
      'conditions.teamIds',
    );
    expect(details['targets.high.resolution']).toBeDefined();
  });

  it('keeps live policy names unique ignoring case', async () => {
    const policy = await createPolicy();
    expect(
      (await api('POST', '/sla/policies', world.admin, policyBody({ name: policy.name.toLowerCase() })))
        .statusCode,
    ).toBe(409);
    await api('DELETE', `/sla/policies/${policy.id}`, world.admin);
    await createPolicy({ name: policy.name });
  });
});

describe('escalation policy', () => {
  it('is unset at first, then stores levels in firing order, numbered', async () => {
    const fresh = await signupOrg(server.app);
    const unset = await api('GET', '/sla/escalation-policy', fresh);
    expect(unset.statusCode).toBe(200);
    expect(unset.json()).toEqual({ levels: null, managerIds: [], seniorRole: null, updatedAt: null });

    const payload = {
      levels: [
        { trigger: 'after_breach', delayMinutes: 120, notify: ['escalation_managers'], raisePriority: true },
        { trigger: 'breach', notify: ['assignee', 'team_leads'], reassignToSenior: true },
        { trigger: 'after_breach', delayMinutes: 30, notify: ['team_leads'] },
        { trigger: 'at_risk', kinds: ['resolution'], notify: ['assignee'] },
      ],
      managerIds: [fresh.adminId],
      seniorRole: 'team_lead',
    };
    const response = await api('PUT', '/sla/escalation-policy', fresh, payload);
    expect(response.statusCode, response.body).toBe(200);
    const policy = response.json();
    expect(policy.levels.map((level: Json) => [level.level, level.trigger, level.delayMinutes])).toEqual([
      [1, 'at_risk', null],
      [2, 'breach', null],
      [3, 'after_breach', 30],
      [4, 'after_breach', 120],
    ]);
    expect(policy.levels[0]).toMatchObject({ kinds: ['resolution'], reassignToSenior: false });
    expect(policy.levels[1]).toMatchObject({ kinds: null, reassignToSenior: true });
    expect(policy).toMatchObject({ managerIds: [fresh.adminId], seniorRole: 'team_lead' });
    expect((await api('GET', '/sla/escalation-policy', fresh)).json()).toEqual(policy);
    expect(await eventsOf(fresh.orgId)).toContain('escalation_policy.updated');
  });

  it('refuses bad levels and managers, naming the field, writing nothing', async () => {
    const good = { levels: [{ trigger: 'breach', notify: ['assignee'] }], managerIds: [], seniorRole: null };
    await created('PUT', '/sla/escalation-policy', good, 200);
    const stored = (await api('GET', '/sla/escalation-policy', world.admin)).json();
    const put = (payload: Json, field: string) =>
      expectRefused('PUT', '/sla/escalation-policy', { ...good, ...payload }, field);

    await put(
      {
        levels: Array.from({ length: 11 }, (_, index) => ({
          trigger: 'after_breach',
          delayMinutes: index + 1,
          notify: ['assignee'],
        })),
      },
      'levels',
    );
    await put({ levels: [{ trigger: 'after_breach', notify: ['assignee'] }] }, 'levels.0.delayMinutes');
    await put(
      { levels: [{ trigger: 'after_breach', delayMinutes: 0, notify: ['assignee'] }] },
      'levels.0.delayMinutes',
    );
    await put(
      { levels: [{ trigger: 'after_breach', delayMinutes: 10_081, notify: ['assignee'] }] },
      'levels.0.delayMinutes',
    );
    await put(
      { levels: [{ trigger: 'breach', delayMinutes: 5, notify: ['assignee'] }] },
      'levels.0.delayMinutes',
    );
    await put(
      {
        levels: [
          { trigger: 'breach', notify: ['assignee'] },
          { trigger: 'breach', notify: ['team_leads'] },
        ],
      },
      'levels.1.trigger',
    );
    await put(
      {
        levels: [
          { trigger: 'after_breach', delayMinutes: 60, notify: ['assignee'] },
          { trigger: 'after_breach', delayMinutes: 60, notify: ['team_leads'] },
        ],
      },
      'levels.1.delayMinutes',
    );
    await put(
      { levels: [{ trigger: 'at_risk', notify: ['assignee'], reassignToSenior: true }] },
      'levels.0.reassignToSenior',
    );
    await put({ levels: [{ trigger: 'breach', notify: ['escalation_managers'] }] }, 'levels.0.notify');
    await put({ levels: [{ trigger: 'breach', notify: [] }] }, 'levels.0.notify');
    await put({ managerIds: [randomUUID()] }, 'managerIds');
    await put({ managerIds: [other.adminId] }, 'managerIds');
    const leaver = await createUser(server.app, world.admin, 'agent');
    const deactivated = await api('POST', `/admin/users/${leaver.id}/deactivate`, world.admin, {});
    expect(deactivated.statusCode, deactivated.body).toBeLessThan(300);
    await put({ managerIds: [leaver.id] }, 'managerIds');

    expect((await api('GET', '/sla/escalation-policy', world.admin)).json()).toEqual(stored);
  });
});

describe('access', () => {
  it('answers 403 without sla:manage, for reads and writes', async () => {
    const calendar = await createCalendar();
    const policy = await createPolicy();
    for (const who of [world.agent, world.lead, world.requester]) {
      for (const [method, url, payload] of [
        ['GET', '/sla/holiday-calendars'],
        ['POST', '/sla/holiday-calendars', { name: unique('Mine'), holidays: [] }],
        ['GET', '/sla/calendars'],
        ['GET', `/sla/calendars/${calendar.id}`],
        ['PATCH', `/sla/calendars/${calendar.id}`, { name: 'Mine' }],
        ['DELETE', `/sla/calendars/${calendar.id}`],
        ['GET', '/sla/policies'],
        ['POST', '/sla/policies', { name: 'x', conditions: {}, targets: {}, businessHours: 'always' }],
        ['PATCH', `/sla/policies/${policy.id}`, { enabled: false }],
        ['PUT', '/sla/policies/order', { ids: [] }],
        ['GET', '/sla/escalation-policy'],
        ['PUT', '/sla/escalation-policy', { levels: [] }],
      ] as Array<[Method, string, unknown?]>) {
        const response = await api(method, url, who, payload);
        expect(response.statusCode, `${method} ${url}`).toBe(403);
      }
    }
    expect((await api('GET', `/sla/policies/${policy.id}`, world.admin)).json()).toEqual(policy);
  });

  it("answers 404 for another organisation's ids", async () => {
    const holidaySet = await createHolidayCalendar();
    const calendar = await createCalendar();
    const policy = await createPolicy();
    for (const [method, url, payload] of [
      ['GET', `/sla/holiday-calendars/${holidaySet.id}`],
      ['PATCH', `/sla/holiday-calendars/${holidaySet.id}`, { name: 'Theirs' }],
      ['DELETE', `/sla/holiday-calendars/${holidaySet.id}`],
      ['GET', `/sla/calendars/${calendar.id}`],
      ['PATCH', `/sla/calendars/${calendar.id}`, { name: 'Theirs' }],
      ['DELETE', `/sla/calendars/${calendar.id}`],
      ['GET', `/sla/policies/${policy.id}`],
      ['PATCH', `/sla/policies/${policy.id}`, { enabled: false }],
      ['DELETE', `/sla/policies/${policy.id}`],
    ] as Array<[Method, string, unknown?]>) {
      const response = await api(method, url, other, payload);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
    }
    // Their lists hold none of ours, and our calendar cannot join their policies.
    expect((await api('GET', '/sla/policies', other)).json().data).toEqual([]);
    const foreign = await api('POST', '/sla/policies', other, {
      name: 'Theirs',
      conditions: {},
      targets: { high: { resolution: 60 } },
      businessHours: 'calendar',
      calendarId: calendar.id,
    });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json().details.calendarId).toBeDefined();
    expect((await api('GET', `/sla/policies/${policy.id}`, world.admin)).json()).toEqual(policy);
  });
});

describe('configuration read side', () => {
  it('merges the holidays of every holiday calendar of a calendar', async () => {
    const org = await signupOrg(server.app);
    const post = async (url: string, payload: unknown) => {
      const response = await api('POST', url, org, payload);
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as Json;
    };
    const team = await post('/admin/teams', { name: 'Support' });
    const publicHolidays = await post('/sla/holiday-calendars', {
      name: 'Public',
      holidays: [
        { date: '2025-12-25', name: 'Christmas', recurring: true },
        { date: '2025-04-18', name: 'Good Friday' },
      ],
    });
    const companyDays = await post('/sla/holiday-calendars', {
      name: 'Company',
      holidays: [
        { date: '2025-12-25', name: 'Christmas (company)', recurring: true },
        { date: '2025-12-31', name: 'Closing day' },
      ],
    });
    const calendar = await post('/sla/calendars', {
      name: 'Berlin',
      timeZone: 'Europe/Berlin',
      hours: WEEKDAY_HOURS,
      holidayCalendarIds: [publicHolidays.id, companyDays.id],
      teamIds: [team.id],
      isDefault: true,
    });
    const enabled = await post('/sla/policies', {
      name: 'Enabled',
      conditions: {},
      targets: { high: { resolution: 60 } },
      businessHours: 'team',
    });
    await post('/sla/policies', {
      name: 'Disabled',
      enabled: false,
      conditions: {},
      targets: { high: { resolution: 60 } },
      businessHours: 'team',
    });

    const configuration = await server.platform.database.withOrg(org.orgId, (tx) =>
      readSlaConfiguration(tx, org.orgId),
    );
    const merged = configuration.calendars.get(calendar.id)!;
    expect(merged.timeZone).toBe('Europe/Berlin');
    expect(merged.holidays).toHaveLength(3);
    expect(merged.holidays).toEqual(
      expect.arrayContaining([
        { date: '2025-12-25', recurring: true },
        { date: '2025-04-18', recurring: false },
        { date: '2025-12-31', recurring: false },
      ]),
    );
    expect(configuration.policies.map((policy) => policy.id)).toEqual([enabled.id]);
    expect(configuration.teamCalendarIds.get(team.id)).toBe(calendar.id);
    expect(configuration.defaultCalendarId).toBe(calendar.id);
    expect(configuration.escalation).toBeNull();
  });

  it('evicts the cached configuration after a change commits', async () => {
    const org = await signupOrg(server.app);
    const cache = server.domain.sla.admin.cache;
    const read = () => server.platform.database.withOrg(org.orgId, (tx) => cache.of(tx, org.orgId));
    const created = await api('POST', '/sla/policies', org, {
      name: 'Standard',
      conditions: {},
      targets: { high: { resolution: 60 } },
      businessHours: 'always',
    });
    expect(created.statusCode).toBe(201);
    const first = await read();
    expect(first.policies.map((policy) => policy.name)).toEqual(['Standard']);
    expect(await read()).toBe(first);

    const patched = await api('PATCH', `/sla/policies/${created.json().id}`, org, {
      targets: { high: { resolution: 90 } },
    });
    expect(patched.statusCode).toBe(200);
    const second = await read();
    expect(second).not.toBe(first);
    expect(second.policies[0]!.targets.high).toEqual({ resolution: 5400 });

    await api('PUT', '/sla/escalation-policy', org, {
      levels: [{ trigger: 'breach', notify: ['assignee'] }],
    });
    expect((await read()).escalation?.levels).toEqual([{ trigger: 'breach', notify: ['assignee'] }]);
    await api('DELETE', `/sla/policies/${created.json().id}`, org);
    expect((await read()).policies).toEqual([]);
  });
});

describe('documentation', () => {
  it('documents every route under the SLA tag', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = response.json().paths as Record<string, Record<string, { tags?: string[] }>>;
    const sla = Object.entries(paths).filter(([path]) =>
      /^\/api\/v1\/sla\/(holiday-calendars|calendars|policies|escalation-policy)/.test(path),
    );
    const operations = sla.flatMap(([, methods]) => Object.values(methods));
    expect(operations).toHaveLength(18);
    for (const operation of operations) expect(operation.tags).toEqual(['SLA']);
  });
});
