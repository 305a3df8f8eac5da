import { randomUUID } from 'node:crypto';
import { and, asc, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tickets } from '../../src/server/modules/tickets/tickets.table.js';
import { outbox } from '../../src/server/platform/events/outbox.table.js';
import { createUser, type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld, type Who } from './support.js';

let server: TestApp;
let world: TicketWorld;
let other: SignedUp;

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
  other = await signupOrg(server.app);
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);

/** A unique name, so tests sharing the organisation never collide. */
const unique = (label: string) => `${label} ${randomUUID().slice(0, 6)}`;

async function createCategory(name: string, parentId?: string, who: Who = world.admin) {
  const response = await api('POST', '/ticket-categories', who, { name, ...(parentId ? { parentId } : {}) });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; name: string; parentId: string | null; path: string };
}

async function createField(payload: Record<string, unknown>, who: Who = world.admin) {
  const response = await api('POST', '/ticket-fields', who, payload);
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string; key: string } & Record<string, unknown>;
}

const fieldKey = (label: string) => `${label}_${randomUUID().slice(0, 6)}`;

/** Outbox event names recorded for one aggregate, oldest first. */
async function eventsOf(aggregateId: string): Promise<string[]> {
  const rows = await server.platform.database.db
    .select({ event: outbox.event })
    .from(outbox)
    .where(eq(outbox.aggregateId, aggregateId))
    .orderBy(asc(outbox.id));
  return rows.map((row) => row.event);
}

async function ticketCount(orgId: string): Promise<number> {
  const [row] = await server.platform.database.db
    .select({ count: sql<number>`count(*)::int` })
    .from(tickets)
    .where(eq(tickets.orgId, orgId));
  return row!.count;
}

describe('ticket categories', () => {
  it('lists the tree depth first with paths, to every member of the organisation', async () => {
    const hardware = await createCategory(unique('Hardware'));
    const printers = await createCategory('Printers', hardware.id);
    const laser = await createCategory('Laser', printers.id);
    expect(printers.path).toBe(`${hardware.name} / Printers`);
    expect(laser).toMatchObject({ parentId: printers.id, path: `${hardware.name} / Printers / Laser` });

    for (const who of [world.requester, world.agent, world.admin]) {
      const response = await api('GET', '/ticket-categories', who);
      expect(response.statusCode).toBe(200);
      const listed = response.json().data as Array<{ id: string; path: string; parentId: string | null }>;
      const ids = listed.map((category) => category.id);
      expect(ids.indexOf(hardware.id)).toBeLessThan(ids.indexOf(printers.id));
      expect(ids.indexOf(printers.id)).toBe(ids.indexOf(hardware.id) + 1);
      expect(ids.indexOf(laser.id)).toBe(ids.indexOf(printers.id) + 1);
      expect(listed.find((category) => category.id === laser.id)).toMatchObject({
        parentId: printers.id,
        path: `${hardware.name} / Printers / Laser`,
      });
    }
    expect(await eventsOf(hardware.id)).toEqual(['ticket_category.created']);
  });

  it('refuses writes without admin:settings', async () => {
    const category = await createCategory(unique('Network'));
    for (const who of [world.agent, world.lead, world.requester]) {
      expect((await api('POST', '/ticket-categories', who, { name: unique('Mine') })).statusCode).toBe(403);
      expect((await api('PATCH', `/ticket-categories/${category.id}`, who, { name: 'x' })).statusCode).toBe(
        403,
      );
      expect((await api('DELETE', `/ticket-categories/${category.id}`, who)).statusCode).toBe(403);
    }
    const listed = (await api('GET', '/ticket-categories', world.admin)).json().data;
    expect(listed.find((row: { id: string }) => row.id === category.id).name).toBe(category.name);
  });

  it('keeps sibling names unique ignoring case, but not across levels', async () => {
    const root = await createCategory(unique('Software'));
    await createCategory('Email', root.id);
    const clash = await api('POST', '/ticket-categories', world.admin, { name: 'EMAIL', parentId: root.id });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().code).toBe('NAME_TAKEN');
    const elsewhere = await createCategory('Email', (await createCategory('Other', root.id)).id);
    expect(elsewhere.path).toBe(`${root.name} / Other / Email`);
    const move = await api('PATCH', `/ticket-categories/${elsewhere.id}`, world.admin, { parentId: root.id });
    expect(move.statusCode).toBe(409);
    const unknownParent = await api('POST', '/ticket-categories', world.admin, {
      name: 'Orphan',
      parentId: randomUUID(),
    });
    expect(unknownParent.statusCode).toBe(422);
    expect(unknownParent.json().details.parentId).toBeDefined();
  });

  it('renames and moves categories, refusing cycles', async () => {
    const a = await createCategory(unique('A'));
    const b = await createCategory('B', a.id);
    const c = await createCategory('C', b.id);
    for (const parentId of [a.id, b.id, c.id]) {
      const cycle = await api('PATCH', `/ticket-categories/${a.id}`, world.admin, { parentId });
      expect(cycle.statusCode).toBe(422);
      expect(cycle.json().details.parentId).toMatch(/itself or one of its sub-categories/);
    }
    const renamed = await api('PATCH', `/ticket-categories/${b.id}`, world.admin, { name: 'Bee' });
    expect(renamed.json()).toMatchObject({ name: 'Bee', path: `${a.name} / Bee` });
    const moved = await api('PATCH', `/ticket-categories/${c.id}`, world.admin, {
      parentId: null,
      position: 3,
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ parentId: null, path: 'C', position: 3 });
    // B may now move below C: C is no longer its descendant.
    const under = await api('PATCH', `/ticket-categories/${b.id}`, world.admin, { parentId: c.id });
    expect(under.json().path).toBe('C / Bee');
    const listed = (await api('GET', '/ticket-categories', world.agent)).json().data;
    expect(listed.find((row: { id: string }) => row.id === b.id).path).toBe('C / Bee');
    expect(await eventsOf(b.id)).toEqual([
      'ticket_category.created',
      'ticket_category.updated',
      'ticket_category.updated',
    ]);
    expect((await api('PATCH', `/ticket-categories/${b.id}`, world.admin, {})).statusCode).toBe(400);
  });

  it('soft-deletes leaves only; tickets keep their category', async () => {
    const parent = await createCategory(unique('Facilities'));
    const child = await createCategory('Doors', parent.id);
    const ticket = await openTicket(server.app, world.requester, { categoryId: child.id });
    const refused = await api('DELETE', `/ticket-categories/${parent.id}`, world.admin);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().details.children).toEqual([child.id]);

    expect((await api('DELETE', `/ticket-categories/${child.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('DELETE', `/ticket-categories/${child.id}`, world.admin)).statusCode).toBe(404);
    expect(
      (await api('PATCH', `/ticket-categories/${child.id}`, world.admin, { name: 'x' })).statusCode,
    ).toBe(404);
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().categoryId).toBe(child.id);
    const listed = (await api('GET', '/ticket-categories', world.agent)).json().data;
    expect(listed.some((row: { id: string }) => row.id === child.id)).toBe(false);
    const onDeleted = await api('POST', '/tickets', world.agent, { title: 'Door', categoryId: child.id });
    expect(onDeleted.statusCode).toBe(422);
    // The name is free again, and the parent is now a leaf.
    await createCategory('Doors', parent.id);
    expect(await eventsOf(child.id)).toEqual(['ticket_category.created', 'ticket_category.deleted']);
  });

  it('treats another organisation’s categories as unknown', async () => {
    const mine = await createCategory(unique('Private'));
    expect((await api('PATCH', `/ticket-categories/${mine.id}`, other, { name: 'x' })).statusCode).toBe(404);
    expect((await api('DELETE', `/ticket-categories/${mine.id}`, other)).statusCode).toBe(404);
    const theirs = (await api('GET', '/ticket-categories', other)).json().data;
    expect(theirs.some((row: { id: string }) => row.id === mine.id)).toBe(false);
    const under = await api('POST', '/ticket-categories', other, { name: 'Sub', parentId: mine.id });
    expect(under.statusCode).toBe(422);

    const before = await ticketCount(other.orgId);
    const create = await api('POST', '/tickets', other, { title: 'Borrowed category', categoryId: mine.id });
    expect(create.statusCode).toBe(422);
    expect(create.json().details.categoryId).toBeDefined();
    expect(await ticketCount(other.orgId)).toBe(before);
    const theirTicket = await openTicket(server.app, { id: other.adminId, auth: other.auth });
    const patch = await api('PATCH', `/tickets/${theirTicket.id}`, other, { categoryId: mine.id });
    expect(patch.statusCode).toBe(422);
  });

  it('filters tickets by a category and its sub-categories', async () => {
    const top = await createCategory(unique('Devices'));
    const mid = await createCategory('Phones', top.id);
    const leaf = await createCategory('Android', mid.id);
    const sibling = await createCategory(unique('Accounts'));
    const inTop = await openTicket(server.app, world.agent, { categoryId: top.id });
    const inMid = await openTicket(server.app, world.agent, { categoryId: mid.id });
    const inLeaf = await openTicket(server.app, world.agent, { categoryId: leaf.id });
    await openTicket(server.app, world.agent, { categoryId: sibling.id });
    await openTicket(server.app, world.agent);
    const ids = async (category: string) =>
      (await api('GET', `/tickets?category=${category}&limit=100`, world.admin))
        .json()
        .data.map((ticket: { id: string }) => ticket.id)
        .sort();
    expect(await ids(top.id)).toEqual([inTop.id, inMid.id, inLeaf.id].sort());
    expect(await ids(mid.id)).toEqual([inMid.id, inLeaf.id].sort());
    expect(await ids(leaf.id)).toEqual([inLeaf.id]);
  });
});

describe('custom field definitions', () => {
  it('creates, edits and archives fields, with key and type immutable', async () => {
    const key = fieldKey('impact');
    const field = await createField({ key, label: 'Impact', type: 'select', options: ['Low', 'High'] });
    expect(field).toMatchObject({
      key,
      type: 'select',
      options: ['Low', 'High'],
      required: false,
      visibleToRequester: false,
      archivedAt: null,
    });
    const edited = await api('PATCH', `/ticket-fields/${field.id}`, world.admin, {
      label: 'Business impact',
      options: ['Low', 'Medium', 'High'],
      visibleToRequester: true,
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ label: 'Business impact', options: ['Low', 'Medium', 'High'] });
    for (const body of [{ type: 'text' }, { key: 'renamed' }, { key, label: 'Same key still refused' }]) {
      const refused = await api('PATCH', `/ticket-fields/${field.id}`, world.admin, body);
      expect(refused.statusCode).toBe(422);
    }
    expect((await api('PATCH', `/ticket-fields/${field.id}`, world.admin, { options: [] })).statusCode).toBe(
      400,
    );

    const duplicate = await api('POST', '/ticket-fields', world.admin, { key, label: 'Again', type: 'text' });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().code).toBe('NAME_TAKEN');

    expect((await api('DELETE', `/ticket-fields/${field.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('DELETE', `/ticket-fields/${field.id}`, world.admin)).statusCode).toBe(204);
    const live = (await api('GET', '/ticket-fields', world.agent)).json().data;
    expect(live.some((row: { id: string }) => row.id === field.id)).toBe(false);
    const all = (await api('GET', '/ticket-fields?includeArchived=true', world.admin)).json().data;
    expect(all.find((row: { id: string }) => row.id === field.id).archivedAt).not.toBeNull();
    expect((await api('PATCH', `/ticket-fields/${field.id}`, world.admin, { label: 'x' })).statusCode).toBe(
      422,
    );
    const reused = await api('POST', '/ticket-fields', world.admin, { key, label: 'Reuse', type: 'text' });
    expect(reused.statusCode).toBe(409);
    expect(await eventsOf(field.id)).toEqual([
      'ticket_field.created',
      'ticket_field.updated',
      'ticket_field.archived',
    ]);
  });

  it('validates definitions', async () => {
    const cases: Array<[Record<string, unknown>, number]> = [
      [{ key: fieldKey('choice'), label: 'Choice', type: 'select' }, 422],
      [{ key: fieldKey('choices'), label: 'Choices', type: 'multi_select', options: [] }, 400],
      [{ key: fieldKey('twice'), label: 'Twice', type: 'select', options: ['a', 'a'] }, 400],
      [{ key: fieldKey('note'), label: 'Note', type: 'text', options: ['a'] }, 422],
      [{ key: 'Bad-Key', label: 'Bad', type: 'text' }, 400],
      [{ key: '1st', label: 'Bad', type: 'text' }, 400],
      [{ key: 'k'.repeat(65), label: 'Long', type: 'text' }, 400],
      [{ key: fieldKey('kind'), label: 'Kind', type: 'color' }, 400],
      [{ key: fieldKey('empty'), label: '  ', type: 'text' }, 400],
    ];
    for (const [payload, status] of cases) {
      const response = await api('POST', '/ticket-fields', world.admin, payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(status);
    }
    expect((await createField({ key: 'k'.repeat(64), label: 'Longest key', type: 'text' })).key).toHaveLength(
      64,
    );
  });

  it('refuses writes without admin:settings and shows requesters only their fields', async () => {
    const hidden = await createField({ key: fieldKey('internal'), label: 'Internal', type: 'text' });
    const visible = await createField({
      key: fieldKey('location'),
      label: 'Location',
      type: 'text',
      visibleToRequester: true,
    });
    for (const who of [world.agent, world.lead, world.requester]) {
      expect(
        (await api('POST', '/ticket-fields', who, { key: fieldKey('x'), label: 'X', type: 'text' }))
          .statusCode,
      ).toBe(403);
      expect((await api('PATCH', `/ticket-fields/${hidden.id}`, who, { label: 'Y' })).statusCode).toBe(403);
      expect((await api('DELETE', `/ticket-fields/${hidden.id}`, who)).statusCode).toBe(403);
    }
    const requesterIds = (await api('GET', '/ticket-fields?includeArchived=true', world.requester))
      .json()
      .data.map((row: { id: string }) => row.id);
    expect(requesterIds).toContain(visible.id);
    expect(requesterIds).not.toContain(hidden.id);
    const agentIds = (await api('GET', '/ticket-fields', world.agent))
      .json()
      .data.map((row: { id: string }) => row.id);
    expect(agentIds).toEqual(expect.arrayContaining([visible.id, hidden.id]));

    expect((await api('PATCH', `/ticket-fields/${hidden.id}`, other, { label: 'x' })).statusCode).toBe(404);
    expect((await api('DELETE', `/ticket-fields/${hidden.id}`, other)).statusCode).toBe(404);
    const theirs = (await api('GET', '/ticket-fields', other)).json().data;
    expect(theirs.some((row: { id: string }) => row.id === hidden.id)).toBe(false);
    // Keys are per organisation.
    await createField({ key: hidden.key, label: 'Theirs', type: 'number' }, other);
  });
});

describe('custom field values through the ticket API', () => {
  const keys = {
    assetTag: fieldKey('asset_tag'),
    cost: fieldKey('cost'),
    os: fieldKey('os'),
    apps: fieldKey('apps'),
    due: fieldKey('due_on'),
    vip: fieldKey('vip'),
    legacy: fieldKey('legacy'),
  };

  beforeAll(async () => {
    await createField({ key: keys.assetTag, label: 'Asset tag', type: 'text', visibleToRequester: true });
    await createField({ key: keys.cost, label: 'Cost', type: 'number' });
    await createField({
      key: keys.os,
      label: 'Operating system',
      type: 'select',
      options: ['Windows', 'macOS', 'Linux'],
      visibleToRequester: true,
    });
    await createField({
      key: keys.apps,
      label: 'Apps',
      type: 'multi_select',
      options: ['Office', 'Slack', 'Zoom'],
    });
    await createField({ key: keys.due, label: 'Due on', type: 'date' });
    await createField({ key: keys.vip, label: 'VIP', type: 'checkbox' });
    const legacy = await createField({ key: keys.legacy, label: 'Legacy', type: 'text' });
    await api('DELETE', `/ticket-fields/${legacy.id}`, world.admin);
  });

  it('stores valid values of every type', async () => {
    const values = {
      [keys.assetTag]: 'A-100',
      [keys.cost]: 12.5,
      [keys.os]: 'Linux',
      [keys.apps]: ['Zoom', 'Office'],
      [keys.due]: '2028-02-29',
      [keys.vip]: false,
    };
    const ticket = await openTicket(server.app, world.agent, { customFields: values });
    expect(ticket.customFields).toEqual(values);
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().customFields).toEqual(values);
  });

  it('refuses invalid values with 422 naming the field, and writes nothing', async () => {
    const cases: Array<[string, unknown]> = [
      [keys.cost, '12'],
      [keys.cost, [1]],
      [keys.os, 'BeOS'],
      [keys.os, ['Linux']],
      [keys.apps, ['Office', 'Office']],
      [keys.apps, ['Office', 'Teams']],
      [keys.apps, 'Office'],
      [keys.due, '2026-02-30'],
      [keys.due, '2026-2-3'],
      [keys.vip, 'yes'],
      [keys.vip, 1],
      [keys.assetTag, 42],
      ['no_such_field', 'x'],
      [keys.legacy, 'x'],
    ];
    const existing = await openTicket(server.app, world.agent, { customFields: { [keys.cost]: 1 } });
    const before = await ticketCount(world.admin.orgId);
    for (const [key, value] of cases) {
      const label = `${key} = ${JSON.stringify(value)}`;
      const created = await api('POST', '/tickets', world.agent, {
        title: 'Bad field',
        customFields: { [key]: value },
      });
      expect(created.statusCode, label).toBe(422);
      expect(created.json().details.customFields[key], label).toEqual(expect.any(String));
      const patched = await api('PATCH', `/tickets/${existing.id}`, world.agent, {
        customFields: { [key]: value },
      });
      expect(patched.statusCode, label).toBe(422);
      expect(patched.json().details.customFields[key], label).toEqual(expect.any(String));
    }
    expect(await ticketCount(world.admin.orgId)).toBe(before);
    const after = (await api('GET', `/tickets/${existing.id}`, world.agent)).json();
    expect(after).toMatchObject({ version: existing.version, customFields: { [keys.cost]: 1 } });

    const several = await api('POST', '/tickets', world.agent, {
      title: 'Several',
      customFields: { [keys.cost]: 'x', [keys.vip]: 'no' },
    });
    expect(Object.keys(several.json().details.customFields).sort()).toEqual([keys.cost, keys.vip].sort());
  });

  it('clears a value with null on PATCH', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      customFields: { [keys.cost]: 3, [keys.os]: 'macOS' },
    });
    const cleared = await api('PATCH', `/tickets/${ticket.id}`, world.agent, {
      customFields: { [keys.cost]: null },
    });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json().customFields).toEqual({ [keys.os]: 'macOS' });
    const stored = await server.platform.database.db
      .select({ customFields: tickets.customFields })
      .from(tickets)
      .where(and(eq(tickets.id, ticket.id)));
    expect(stored[0]!.customFields).toEqual({ [keys.os]: 'macOS' });
  });

  it('keeps fields a requester may not see out of their writes and reads', async () => {
    const refused = await api('POST', '/tickets', world.requester, {
      title: 'Mine',
      customFields: { [keys.os]: 'Windows', [keys.cost]: 100 },
    });
    expect(refused.statusCode).toBe(422);
    expect(Object.keys(refused.json().details.customFields)).toEqual([keys.cost]);

    const ticket = await openTicket(server.app, world.requester, { customFields: { [keys.os]: 'Windows' } });
    await api('PATCH', `/tickets/${ticket.id}`, world.agent, {
      customFields: { [keys.cost]: 99, [keys.vip]: true, [keys.assetTag]: 'A-7' },
    }).then((response) => expect(response.statusCode).toBe(200));
    expect(
      (await api('PATCH', `/tickets/${ticket.id}`, world.requester, { customFields: { [keys.os]: 'Linux' } }))
        .statusCode,
    ).toBe(403);

    const visible = { [keys.os]: 'Windows', [keys.assetTag]: 'A-7' };
    const read = (await api('GET', `/tickets/${ticket.id}`, world.requester)).json();
    expect(read.customFields).toEqual(visible);
    const listed = (await api('GET', '/tickets?limit=100', world.requester)).json().data;
    expect(listed.find((row: { id: string }) => row.id === ticket.id).customFields).toEqual(visible);
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().customFields).toMatchObject({
      [keys.cost]: 99,
      [keys.vip]: true,
    });
  });

  it('filters lists by custom field values of each type', async () => {
    const run = unique('run').replace(' ', '-');
    const open = (values: Record<string, unknown>) =>
      openTicket(server.app, world.agent, { customFields: { [keys.assetTag]: run, ...values } });
    const first = await open({
      [keys.cost]: 12.5,
      [keys.vip]: true,
      [keys.os]: 'Linux',
      [keys.apps]: ['Zoom'],
    });
    const second = await open({
      [keys.cost]: 3,
      [keys.vip]: false,
      [keys.os]: 'Windows',
      [keys.apps]: ['Office', 'Zoom'],
      [keys.due]: '2027-01-31',
    });
    const third = await open({ [keys.apps]: ['Slack'] });
    const find = async (filter?: string) => {
      const query = [`cf.${keys.assetTag}=${encodeURIComponent(run)}`, filter, 'limit=100'].filter(Boolean);
      const response = await api('GET', `/tickets?${query.join('&')}`, world.admin);
      expect(response.statusCode, response.body).toBe(200);
      return response
        .json()
        .data.map((ticket: { id: string }) => ticket.id)
        .sort();
    };
    expect(await find()).toEqual([first.id, second.id, third.id].sort());
    expect(await find(`cf.${keys.cost}=12.5`)).toEqual([first.id]);
    expect(await find(`cf.${keys.cost}=3`)).toEqual([second.id]);
    expect(await find(`cf.${keys.vip}=true`)).toEqual([first.id]);
    expect(await find(`cf.${keys.vip}=false`)).toEqual([second.id]);
    expect(await find(`cf.${keys.os}=Windows`)).toEqual([second.id]);
    expect(await find(`cf.${keys.apps}=Zoom`)).toEqual([first.id, second.id].sort());
    expect(await find(`cf.${keys.apps}=Slack`)).toEqual([third.id]);
    expect(await find(`cf.${keys.due}=2027-01-31`)).toEqual([second.id]);
    expect(await find(`cf.${keys.apps}=Zoom&cf.${keys.vip}=false`)).toEqual([second.id]);

    for (const filter of [
      `cf.${keys.cost}=abc`,
      `cf.${keys.vip}=yes`,
      `cf.${keys.legacy}=x`,
      'cf.no_such_field=x',
    ]) {
      const response = await api('GET', `/tickets?${filter}`, world.admin);
      expect(response.statusCode, filter).toBe(400);
    }
  });

  it('requires required fields on create, except those hidden from the requester', async () => {
    const org = await signupOrg(server.app);
    const requester = await createUser(server.app, org, 'requester');
    const summary = fieldKey('summary');
    const approver = fieldKey('approver');
    const orgField = async (payload: Record<string, unknown>) => {
      const response = await api('POST', '/ticket-fields', org, payload);
      expect(response.statusCode, response.body).toBe(201);
    };
    await orgField({
      key: summary,
      label: 'Summary',
      type: 'text',
      required: true,
      visibleToRequester: true,
    });
    await orgField({ key: approver, label: 'Approver', type: 'text', required: true });

    const before = await ticketCount(org.orgId);
    const missing = await api('POST', '/tickets', org, { title: 'No fields' });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().details.customFields).toEqual({
      [summary]: 'is required',
      [approver]: 'is required',
    });
    const blank = await api('POST', '/tickets', org, {
      title: 'Blank',
      customFields: { [summary]: '  ', [approver]: 'Kim' },
    });
    expect(blank.statusCode).toBe(422);
    expect(blank.json().details.customFields).toEqual({ [summary]: 'is required' });
    const forRequester = await api('POST', '/tickets', requester, { title: 'Portal' });
    expect(forRequester.json().details.customFields).toEqual({ [summary]: 'is required' });
    expect(await ticketCount(org.orgId)).toBe(before);

    const portal = await api('POST', '/tickets', requester, {
      title: 'Portal',
      customFields: { [summary]: 'Laptop broken' },
    });
    expect(portal.statusCode).toBe(201);
    // A required value can be replaced, not removed.
    const ticketId = portal.json().id;
    const clear = await api('PATCH', `/tickets/${ticketId}`, org, { customFields: { [summary]: null } });
    expect(clear.statusCode).toBe(422);
    expect(clear.json().details.customFields).toEqual({ [summary]: 'is required' });
    const replace = await api('PATCH', `/tickets/${ticketId}`, org, {
      customFields: { [summary]: 'Screen broken', [approver]: 'Kim' },
    });
    expect(replace.json().customFields).toEqual({ [summary]: 'Screen broken', [approver]: 'Kim' });
  });

  it('keeps values of archived fields and removed options on tickets', async () => {
    const key = fieldKey('shift');
    const field = await createField({ key, label: 'Shift', type: 'select', options: ['Day', 'Night'] });
    const ticket = await openTicket(server.app, world.agent, { customFields: { [key]: 'Night' } });
    await api('PATCH', `/ticket-fields/${field.id}`, world.admin, { options: ['Day'] }).then((response) =>
      expect(response.statusCode).toBe(200),
    );
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().customFields[key]).toBe('Night');
    const again = await api('POST', '/tickets', world.agent, {
      title: 'Night',
      customFields: { [key]: 'Night' },
    });
    expect(again.statusCode).toBe(422);
    await api('DELETE', `/ticket-fields/${field.id}`, world.admin);
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().customFields[key]).toBe('Night');
  });
});
