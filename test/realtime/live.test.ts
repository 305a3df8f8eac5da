import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';
import { type Client, type LiveServer, OpenClients, startLiveServer, tokenOf } from './support.js';

let server: LiveServer;
let world: TicketWorld;
const clients = new OpenClients(() => server.baseUrl);
const api = apiClient(() => server.app);

beforeAll(async () => {
  server = await startLiveServer();
  world = await ticketWorld(server.app);
});
afterAll(async () => {
  clients.closeAll();
  await server?.close();
});

const client = (who: { auth: { authorization: string } }): Promise<Client> =>
  clients.connect({ token: tokenOf(who) });

type Payload = Record<string, unknown> & {
  eventId: string;
  ticketId: string;
  ticket: Record<string, unknown> | null;
  event: { type: string; isInternal: boolean };
  message?: { id: string; body: string; isInternal: boolean };
};
const about = (ticketId: string) => (payload: Record<string, unknown>) => payload.ticketId === ticketId;

describe('ticket events on sockets', () => {
  it('sends ticket:new to an agent when a requester opens a ticket, in the agent view', async () => {
    const agent = await client(world.agent);
    const requester = await client(world.requester);
    const ticket = await openTicket(server.app, world.requester, { title: 'Laptop will not boot' });

    const seen = (await agent.next('ticket:new', about(ticket.id))).payload as Payload;
    expect(seen.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.event.type).toBe('created');
    expect(seen.ticket).toMatchObject({ id: ticket.id, title: 'Laptop will not boot', tags: [] });
    // The requester gets their own ticket, without agent-only fields.
    const own = (await requester.next('ticket:new', about(ticket.id))).payload as Payload;
    expect(own.eventId).toBe(seen.eventId);
    expect(own.ticket).not.toHaveProperty('tags');
    expect(own.ticket).not.toHaveProperty('team');
  });

  it('sends an internal note to agents and never to the requester', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'VPN drops every hour' });
    const agent = await client(world.agent);
    const requester = await client(world.requester);
    expect(await requester.call('ticket:view', { ticketId: ticket.id })).toMatchObject({ ok: true });

    const note = await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
      body: 'Looks like the old firmware',
    });
    expect(note.statusCode).toBe(201);
    const reply = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Please update the client to 5.2',
    });
    expect(reply.statusCode).toBe(201);

    const agentNote = (await agent.next('message:new', (p) => (p as Payload).message?.id === note.json().id))
      .payload as Payload;
    expect(agentNote.message).toMatchObject({ isInternal: true, body: 'Looks like the old firmware' });
    // The reply was written after the note and events go out in order: once the requester
    // has the reply, the note would have arrived before it.
    const publicReply = (
      await requester.next('message:new', (p) => (p as Payload).message?.id === reply.json().id)
    ).payload as Payload;
    expect(publicReply.message).toMatchObject({ isInternal: false });
    const leaked = requester.received.filter(
      (entry) =>
        JSON.stringify(entry.payload).includes('old firmware') || entry.payload.eventId === agentNote.eventId,
    );
    expect(leaked).toEqual([]);
  });

  it('keeps a team ticket from agents of other teams and follows it to its new team', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      title: 'Switch in rack 4 is down',
      requesterId: world.requester.id,
      teamId: world.teamId,
    });
    const inTeam = await client(world.agent2);
    const outsider = await client(world.outsider);
    const before = outsider.received.length;

    const status = await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'open' });
    expect(status.statusCode).toBe(200);
    const statusEvent = (await inTeam.next('ticket:status', about(ticket.id))).payload as Payload;
    expect(statusEvent.ticket).toMatchObject({ status: 'open' });

    const moved = await api('POST', `/tickets/${ticket.id}/assign`, world.agent, {
      teamId: world.otherTeamId,
    });
    expect(moved.statusCode).toBe(200);
    // The move is the first event the outsider's team may see; nothing of this ticket came before it.
    const assigned = await outsider.next('ticket:assigned', about(ticket.id), before);
    expect(outsider.received.slice(before).filter((entry) => entry.payload.ticketId === ticket.id)).toEqual([
      assigned,
    ]);
  });

  it('sends notification:new to a mentioned agent', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Printer toner' });
    const mentioned = await client(world.agent2);
    const note = await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
      body: 'Can you take this?',
      mentions: [world.agent2.id],
    });
    expect(note.statusCode).toBe(201);
    const notification = await mentioned.next('notification:new', about(ticket.id));
    expect(notification.payload).toMatchObject({
      kind: 'mention',
      messageId: note.json().id,
      data: { number: ticket.number, internal: true },
    });
  });

  it('records how long each event written to sockets took from its transaction', async () => {
    const metric = async (pattern: RegExp) =>
      Number(pattern.exec((await server.app.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);
    const count = /switchboard_realtime_fanout_lag_seconds_count (\d+)/;
    const within10s = /switchboard_realtime_fanout_lag_seconds_bucket\{le="10"\} (\d+)/;
    const agent = await client(world.agent);
    const before = await metric(count);
    const ticket = await openTicket(server.app, world.requester, { title: 'Printer jams on tray 2' });
    // Observed right after the pass's writes, before the client can have the event.
    await agent.next('ticket:new', about(ticket.id));
    const after = await metric(count);
    expect(after).toBeGreaterThan(before);
    // Loopback without load: every event well inside the last finite bucket.
    expect(await metric(within10s)).toBe(after);
  });

  it('does not send events of another organisation', async () => {
    const other = await ticketWorld(server.app);
    const stranger = await client(other.admin);
    const before = stranger.received.length;
    const ticket = await openTicket(server.app, world.requester, { title: 'Mine only' });
    const later = await openTicket(server.app, other.requester, { title: 'Theirs' });
    await stranger.next('ticket:new', about(later.id), before);
    expect(stranger.received.some((entry) => entry.payload.ticketId === ticket.id)).toBe(false);
  });
});
