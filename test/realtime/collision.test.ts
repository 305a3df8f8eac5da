import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

let server: TestApp;
let world: TicketWorld;
const api = apiClient(() => server.app);

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
});
afterAll(async () => server?.close());

type Who = TicketWorld['agent'];

/** The id of the newest timeline event `who` can see: what their screen shows. */
async function lastSeen(ticketId: string, who: Who): Promise<string> {
  const events = await api('GET', `/tickets/${ticketId}/events?limit=500`, who);
  expect(events.statusCode).toBe(200);
  return events.json().data.at(-1).id;
}

async function messageCount(ticketId: string, who: Who): Promise<number> {
  return ((await api('GET', `/tickets/${ticketId}`, who)).json().messages as unknown[]).length;
}

describe('collision prevention', () => {
  it('stops a reply that crosses another agent’s reply, and sends it with force', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Cannot print' });
    const seen = await lastSeen(ticket.id, world.agent);

    const first = await api('POST', `/tickets/${ticket.id}/comments`, world.agent2, {
      body: 'Try the other tray',
      lastSeenEventId: seen,
    });
    expect(first.statusCode).toBe(201);
    const before = await messageCount(ticket.id, world.agent);

    const crossing = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Restart the printer',
      lastSeenEventId: seen,
    });
    expect(crossing.statusCode).toBe(409);
    const body = crossing.json();
    expect(body).toMatchObject({
      statusCode: 409,
      error: 'Conflict',
      code: 'CONFLICT',
      path: `/api/v1/tickets/${ticket.id}/comments`,
    });
    expect(body.message).toMatch(/changed since you last saw it/);
    const types = body.details.events.map((event: { type: string }) => event.type);
    expect(types).toContain('comment_added');
    expect(types).toContain('status_changed');
    const reply = body.details.events.find((event: { type: string }) => event.type === 'comment_added');
    expect(reply.actor).toMatchObject({ id: world.agent2.id });
    expect(body.details.lastEventId).toBe(body.details.events.at(-1).id);
    // Nothing was written.
    expect(await messageCount(ticket.id, world.agent)).toBe(before);

    const forced = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Restart the printer',
      lastSeenEventId: seen,
      force: true,
    });
    expect(forced.statusCode).toBe(201);
    // Up to date, the same reply goes through without force.
    const fresh = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Any luck?',
      lastSeenEventId: await lastSeen(ticket.id, world.agent),
    });
    expect(fresh.statusCode).toBe(201);
  });

  it('ignores notes and the author’s own changes, and checks assignments and status changes', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Mail bounces' });
    const seen = await lastSeen(ticket.id, world.agent);
    expect(
      (await api('POST', `/tickets/${ticket.id}/notes`, world.agent2, { body: 'Probably SPF' })).statusCode,
    ).toBe(201);
    expect(
      (
        await api('POST', `/tickets/${ticket.id}/status`, world.agent, {
          status: 'open',
          lastSeenEventId: seen,
        })
      ).statusCode,
    ).toBe(200);
    // Only the author's own status change happened since: no collision.
    expect(
      (
        await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
          body: 'Checking DNS',
          lastSeenEventId: seen,
        })
      ).statusCode,
    ).toBe(201);

    const assignedSeen = await lastSeen(ticket.id, world.agent);
    const assign = await api('POST', `/tickets/${ticket.id}/assign`, world.lead, {
      assigneeId: world.agent2.id,
    });
    expect(assign.statusCode).toBe(200);
    const version = assign.json().version;
    const stale = await api('POST', `/tickets/${ticket.id}/status`, world.agent, {
      status: 'pending_user',
      lastSeenEventId: assignedSeen,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().details.events.map((event: { type: string }) => event.type)).toEqual(['assigned']);
    const staleAssign = await api('POST', `/tickets/${ticket.id}/assign`, world.lead, {
      assigneeId: world.agent.id,
      lastSeenEventId: seen,
    });
    expect(staleAssign.statusCode).toBe(409);
    // Neither refused change touched the ticket.
    expect((await api('GET', `/tickets/${ticket.id}`, world.agent)).json()).toMatchObject({
      version,
      status: 'open',
      assignee: { id: world.agent2.id },
    });
  });

  it('shows a requester only what they may see of what happened', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Wi-Fi password' });
    const seen = await lastSeen(ticket.id, world.requester);
    await api('POST', `/tickets/${ticket.id}/notes`, world.agent, { body: 'Internal: rotate it monthly' });
    await api('POST', `/tickets/${ticket.id}/comments`, world.agent, { body: 'It is on the sticker' });
    const crossing = await api('POST', `/tickets/${ticket.id}/comments`, world.requester, {
      body: 'Where do I find it?',
      lastSeenEventId: seen,
    });
    expect(crossing.statusCode).toBe(409);
    const events = crossing.json().details.events as Array<{ type: string; isInternal: boolean }>;
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => !event.isInternal && event.type !== 'note_added')).toBe(true);
    expect(JSON.stringify(crossing.json())).not.toContain('rotate it monthly');
  });

  it('does not stop a requester with a team move they cannot see, and hides the team in a 409', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Badge reader broken' });
    const assign = async (body: Record<string, unknown>) =>
      expect((await api('POST', `/tickets/${ticket.id}/assign`, world.admin, body)).statusCode).toBe(200);
    const seen = await lastSeen(ticket.id, world.requester);
    await assign({ teamId: world.otherTeamId });
    const past = await api('POST', `/tickets/${ticket.id}/comments`, world.requester, {
      body: 'Any news?',
      lastSeenEventId: seen,
    });
    expect(past.statusCode, past.body).toBe(201);

    const later = await lastSeen(ticket.id, world.requester);
    await assign({ teamId: world.teamId, assigneeId: world.agent.id });
    const crossing = await api('POST', `/tickets/${ticket.id}/comments`, world.requester, {
      body: 'Still broken',
      lastSeenEventId: later,
    });
    expect(crossing.statusCode).toBe(409);
    expect(crossing.json().details.events).toMatchObject([
      { type: 'assigned', changes: { assigneeId: { from: null, to: world.agent.id } } },
    ]);
    expect(JSON.stringify(crossing.json())).not.toContain(world.teamId);
  });

  it('rejects a malformed lastSeenEventId in the common error shape', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Dock not charging' });
    const bad = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Hello',
      lastSeenEventId: 'yesterday',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'VALIDATION_FAILED' });
    expect(await messageCount(ticket.id, world.agent)).toBe(0);
  });
});
