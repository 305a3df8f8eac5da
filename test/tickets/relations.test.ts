import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from './support.js';

let server: TestApp;
let world: TicketWorld;

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);

describe('merge', () => {
  it('moves messages and events to the target and closes the source pointing at it', async () => {
    const source = await openTicket(server.app, world.requester2, { title: 'VPN drops every hour' });
    const target = await openTicket(server.app, world.requester, { title: 'VPN unstable' });
    await api('POST', `/tickets/${source.id}/comments`, world.requester2, { body: 'Happens at 10:00 too' });
    await api('POST', `/tickets/${source.id}/notes`, world.agent, {
      body: 'Same root cause as the other one',
    });

    const merged = await api('POST', `/tickets/${source.id}/merge`, world.agent, { targetId: target.id });
    expect(merged.statusCode).toBe(200);
    const body = merged.json();
    expect(body.id).toBe(target.id);
    expect(body.messages.map((m: { body: string }) => m.body)).toEqual(
      expect.arrayContaining(['Happens at 10:00 too', 'Same root cause as the other one']),
    );
    expect(body.followers.map((f: { id: string }) => f.id)).toContain(world.requester2.id);

    const sourceNow = (await api('GET', `/tickets/${source.id}`, world.agent)).json();
    expect(sourceNow).toMatchObject({ status: 'closed', mergedIntoId: target.id, messages: [] });
    const sourceEvents = (await api('GET', `/tickets/${source.id}/events`, world.agent)).json().data;
    expect(sourceEvents.map((e: { type: string }) => e.type)).toEqual(['merged_into']);
    const targetEvents = (await api('GET', `/tickets/${target.id}/events`, world.agent)).json().data;
    expect(targetEvents.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['created', 'comment_added', 'note_added', 'merged']),
    );
    // The source's requester now follows the target and can read it.
    expect((await api('GET', `/tickets/${target.id}`, world.requester2)).statusCode).toBe(200);
  });

  it('refuses to merge a ticket into itself or into a closed or merged ticket', async () => {
    const a = await openTicket(server.app, world.requester);
    const b = await openTicket(server.app, world.requester);
    expect((await api('POST', `/tickets/${a.id}/merge`, world.agent, { targetId: a.id })).statusCode).toBe(
      422,
    );
    await api('POST', `/tickets/${b.id}/close`, world.agent);
    expect((await api('POST', `/tickets/${a.id}/merge`, world.agent, { targetId: b.id })).statusCode).toBe(
      422,
    );
    expect(
      (await api('POST', `/tickets/${a.id}/merge`, world.requester, { targetId: b.id })).statusCode,
    ).toBe(403);
  });
});

describe('split, links, followers and time', () => {
  it('splits a requester message into a new linked ticket', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Laptop slow' });
    const message = (
      await api('POST', `/tickets/${ticket.id}/comments`, world.requester, {
        body: 'Also, my badge stopped opening the door\nSince Monday.',
      })
    ).json();
    const split = await api('POST', `/tickets/${ticket.id}/messages/${message.id}/split`, world.agent, {});
    expect(split.statusCode).toBe(201);
    const created = split.json();
    expect(created).toMatchObject({ title: 'Also, my badge stopped opening the door', status: 'new' });
    expect(created.requester.id).toBe(world.requester.id);
    expect(created.links.map((l: { id: string }) => l.id)).toEqual([ticket.id]);
    const original = (await api('GET', `/tickets/${ticket.id}`, world.agent)).json();
    expect(original.messages[0].splitToTicketId).toBe(created.id);
    const again = await api('POST', `/tickets/${ticket.id}/messages/${message.id}/split`, world.agent, {});
    expect(again.statusCode).toBe(422);
  });

  it('links and unlinks related tickets both ways', async () => {
    const a = await openTicket(server.app, world.requester);
    const b = await openTicket(server.app, world.requester);
    const linked = await api('POST', `/tickets/${a.id}/links`, world.agent, { relatedId: b.id });
    expect(linked.json().map((t: { id: string }) => t.id)).toEqual([b.id]);
    expect(
      (await api('GET', `/tickets/${b.id}`, world.agent)).json().links.map((t: { id: string }) => t.id),
    ).toEqual([a.id]);
    expect((await api('DELETE', `/tickets/${b.id}/links/${a.id}`, world.agent)).json()).toEqual([]);
    expect((await api('DELETE', `/tickets/${b.id}/links/${a.id}`, world.agent)).statusCode).toBe(404);
  });

  it('lets a follower read the ticket and leave it again', async () => {
    const ticket = await openTicket(server.app, world.requester);
    expect((await api('GET', `/tickets/${ticket.id}`, world.requester2)).statusCode).toBe(404);
    expect(
      (
        await api('POST', `/tickets/${ticket.id}/followers`, world.requester2, {
          userId: world.requester2.id,
        })
      ).statusCode,
    ).toBe(403);
    const added = await api('POST', `/tickets/${ticket.id}/followers`, world.agent, {
      userId: world.requester2.id,
    });
    expect(added.json().map((u: { id: string }) => u.id)).toEqual([world.requester2.id]);
    expect((await api('GET', `/tickets/${ticket.id}`, world.requester2)).statusCode).toBe(200);
    expect(
      (await api('DELETE', `/tickets/${ticket.id}/followers/${world.requester2.id}`, world.requester2))
        .statusCode,
    ).toBe(200);
    expect((await api('GET', `/tickets/${ticket.id}`, world.requester2)).statusCode).toBe(404);
  });

  it('totals time per ticket and per agent, for agents only', async () => {
    const ticket = await openTicket(server.app, world.requester);
    await api('POST', `/tickets/${ticket.id}/time`, world.agent, { minutes: 30, note: 'diagnosis' });
    await api('POST', `/tickets/${ticket.id}/time`, world.agent2, { minutes: 15 });
    const sheet = (await api('POST', `/tickets/${ticket.id}/time`, world.agent, { minutes: 5 })).json();
    expect(sheet.totalMinutes).toBe(50);
    expect(sheet.byUser).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ minutes: 35, user: expect.objectContaining({ id: world.agent.id }) }),
        expect.objectContaining({ minutes: 15, user: expect.objectContaining({ id: world.agent2.id }) }),
      ]),
    );
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json().timeSpentMinutes).toBe(50);
    expect((await api('GET', `/tickets/${ticket.id}/time`, world.requester)).statusCode).toBe(403);
    expect((await api('POST', `/tickets/${ticket.id}/time`, world.agent, { minutes: 0 })).statusCode).toBe(
      400,
    );
  });
});

describe('bulk update', () => {
  it('changes many tickets in one call and reports each ticket', async () => {
    const tickets = await Promise.all(
      Array.from({ length: 12 }, () =>
        openTicket(server.app, world.agent, {
          requesterId: world.requester.id,
          teamId: world.teamId,
          tags: ['old'],
        }),
      ),
    );
    await api('POST', `/tickets/${tickets[0]!.id}/close`, world.agent);
    const foreign = '00000000-0000-7000-8000-000000000000';
    const response = await api('POST', '/tickets/bulk', world.lead, {
      ticketIds: [...tickets.map((t) => t.id), foreign],
      changes: {
        status: 'in_progress',
        priority: 'high',
        assigneeId: world.agent2.id,
        addTags: ['outage'],
        removeTags: ['old'],
      },
    });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ updated: 11, failed: 2 });
    expect(body.results[0]).toMatchObject({
      id: tickets[0]!.id,
      ok: false,
      error: { code: 'UNPROCESSABLE' },
    });
    expect(body.results.at(-1)).toMatchObject({ id: foreign, ok: false, error: { code: 'NOT_FOUND' } });
    const one = (await api('GET', `/tickets/${tickets[5]!.id}`, world.agent)).json();
    expect(one).toMatchObject({ status: 'in_progress', priority: 'high', tags: ['outage'], version: 2 });
    expect(one.assignee.id).toBe(world.agent2.id);
    const events = (await api('GET', `/tickets/${tickets[5]!.id}/events`, world.agent)).json().data;
    expect(events.map((e: { type: string }) => e.type)).toEqual([
      'created',
      'status_changed',
      'updated',
      'assigned',
      'updated',
    ]);
  });

  it('refuses more than 500 tickets and unknown assignees as a whole', async () => {
    const ids = Array.from(
      { length: 501 },
      (_, index) => `00000000-0000-7000-8000-${String(index).padStart(12, '0')}`,
    );
    expect(
      (await api('POST', '/tickets/bulk', world.agent, { ticketIds: ids, changes: { priority: 'low' } }))
        .statusCode,
    ).toBe(400);
    const ticket = await openTicket(server.app, world.requester);
    const bad = await api('POST', '/tickets/bulk', world.agent, {
      ticketIds: [ticket.id],
      changes: { assigneeId: world.requester.id },
    });
    expect(bad.statusCode).toBe(422);
    expect(
      (
        await api('POST', '/tickets/bulk', world.requester, {
          ticketIds: [ticket.id],
          changes: { priority: 'low' },
        })
      ).statusCode,
    ).toBe(403);
  });
});
