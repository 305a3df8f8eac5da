import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';
import { type Client, type LiveServer, OpenClients, startLiveServer, tokenOf } from './support.js';

let server: LiveServer;
let world: TicketWorld;
const clients = new OpenClients(() => server.baseUrl);
const api = apiClient(() => server.app);

beforeAll(async () => {
  // A short TTL, so that expiry is observed within the test.
  server = await startLiveServer({ PRESENCE_TTL_SECONDS: '2' });
  world = await ticketWorld(server.app);
});
afterAll(async () => {
  clients.closeAll();
  await server?.close();
});

const client = (who: { auth: { authorization: string } }): Promise<Client> =>
  clients.connect({ token: tokenOf(who) });

interface Presence {
  ticketId: string;
  viewers: Array<{ userId: string; name: string; composing: string | null }>;
  typers: Array<{ userId: string; kind: string }>;
}

/** The latest presence:update the client got for a ticket, once it satisfies `check`. */
function presenceOf(client: Client, ticketId: string, check: (presence: Presence) => boolean) {
  return until(() => {
    const updates = client.received.filter(
      (entry) => entry.event === 'presence:update' && entry.payload.ticketId === ticketId,
    );
    const latest = updates.at(-1)?.payload as Presence | undefined;
    return latest && check(latest) ? latest : undefined;
  });
}

const ids = (list: Array<{ userId: string }>) => list.map((entry) => entry.userId).sort();

describe('presence', () => {
  it('shows two agents on one ticket to each other, with typing, until the TTL runs out', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Monitor flickers' });
    const alice = await client(world.agent);
    const bob = await client(world.agent2);

    const first = await alice.call('ticket:view', { ticketId: ticket.id });
    expect(first).toMatchObject({
      ok: true,
      presence: { viewers: [{ userId: world.agent.id }], typers: [] },
    });
    // Alice keeps her ticket open (pings); Bob will go quiet after typing.
    const keepAlive = setInterval(() => void alice.call('presence:ping'), 500);
    onTestFinished(() => clearInterval(keepAlive));
    expect(await bob.call('ticket:view', { ticketId: ticket.id })).toMatchObject({ ok: true });
    await presenceOf(
      alice,
      ticket.id,
      (p) => ids(p.viewers).join() === [world.agent.id, world.agent2.id].sort().join(),
    );
    await presenceOf(bob, ticket.id, (p) => p.viewers.length === 2);

    expect(await bob.call('ticket:typing:start', { ticketId: ticket.id, kind: 'reply' })).toEqual({
      ok: true,
    });
    // The same lists for clients without a socket (read at once: typing lasts only the short TTL).
    const rest = await api('GET', `/tickets/${ticket.id}/presence`, world.lead);
    expect(rest.statusCode).toBe(200);
    expect(ids(rest.json().viewers)).toEqual([world.agent.id, world.agent2.id].sort());
    expect(ids(rest.json().typers)).toEqual([world.agent2.id]);

    const typing = await presenceOf(alice, ticket.id, (p) => p.typers.length === 1);
    expect(typing.typers).toEqual([{ userId: world.agent2.id, name: 'Test agent', kind: 'reply' }]);
    expect(typing.viewers.find((viewer) => viewer.userId === world.agent2.id)?.composing).toBe('reply');

    // Bob's typing and then his viewing run out.
    const gone = await presenceOf(alice, ticket.id, (p) => p.typers.length === 0 && p.viewers.length === 1);
    expect(ids(gone.viewers)).toEqual([world.agent.id]);
    const after = await api('GET', `/tickets/${ticket.id}/presence`, world.agent);
    expect(ids(after.json().typers)).toEqual([]);
  });

  it('clears a socket’s presence when it disconnects, and on ticket:leave', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Keyboard missing keys' });
    const alice = await client(world.agent);
    const bob = await client(world.agent2);
    await alice.call('ticket:view', { ticketId: ticket.id });
    const keepAlive = setInterval(() => void alice.call('presence:ping'), 500);
    onTestFinished(() => clearInterval(keepAlive));
    await bob.call('ticket:view', { ticketId: ticket.id });
    await presenceOf(alice, ticket.id, (p) => p.viewers.length === 2);

    bob.close();
    await presenceOf(alice, ticket.id, (p) => ids(p.viewers).join() === world.agent.id);

    clearInterval(keepAlive);
    expect(await alice.call('ticket:leave', { ticketId: ticket.id })).toEqual({ ok: true });
    const empty = await api('GET', `/tickets/${ticket.id}/presence`, world.agent2);
    expect(empty.json()).toEqual({ ticketId: ticket.id, viewers: [], typers: [] });
  });

  it('keeps presence among agents who may see the ticket', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      title: 'Core router config',
      requesterId: world.requester.id,
      teamId: world.teamId,
    });
    const requester = await client(world.requester);
    const outsider = await client(world.outsider);

    // The requester may open their ticket but neither sees nor shares presence.
    expect(await requester.call('ticket:view', { ticketId: ticket.id })).toEqual({ ok: true });
    const typing = await requester.call('ticket:typing:start', { ticketId: ticket.id });
    expect(typing).toMatchObject({ ok: false, error: { statusCode: 403, code: 'FORBIDDEN' } });
    expect((await api('GET', `/tickets/${ticket.id}/presence`, world.requester)).statusCode).toBe(403);

    // An agent of another team is told the ticket does not exist, on the socket and over HTTP.
    const refused = await outsider.call('ticket:view', { ticketId: ticket.id });
    expect(refused).toMatchObject({ ok: false, error: { statusCode: 404, code: 'NOT_FOUND' } });
    expect((await api('GET', `/tickets/${ticket.id}/presence`, world.outsider)).statusCode).toBe(404);

    const invalid = await outsider.call('ticket:view', { ticketId: 'not-a-uuid' });
    expect(invalid).toMatchObject({ ok: false, error: { statusCode: 400, code: 'VALIDATION_FAILED' } });
  });
});
