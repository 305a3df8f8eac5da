import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD } from '../support/harness.js';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';
import { type Client, type LiveServer, OpenClients, refusal, startLiveServer, tokenOf } from './support.js';

let server: LiveServer;
let world: TicketWorld;
const clients = new OpenClients(() => server.baseUrl);
const api = apiClient(() => server.app);

const CATCH_UP_MAX = 10;

beforeAll(async () => {
  server = await startLiveServer({
    REALTIME_MAX_CONNECTIONS_PER_USER: '2',
    REALTIME_EVENT_RATE_MAX: '10',
    REALTIME_CATCH_UP_MAX_EVENTS: String(CATCH_UP_MAX),
  });
  world = await ticketWorld(server.app);
});
afterAll(async () => {
  clients.closeAll();
  await server?.close();
});

const client = (token: string, extra: Record<string, unknown> = {}): Promise<Client> =>
  clients.connect({ token, ...extra });

/** A second session of a user (its own refresh-token family), as another device signs in. */
async function signIn(email: string): Promise<string> {
  const login = await server.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  expect(login.statusCode).toBe(200);
  return login.json().accessToken;
}

async function emailOf(who: { auth: { authorization: string } }): Promise<string> {
  return (await api('GET', '/me', who)).json().user.email;
}

const disconnected = (target: Client) => until(() => !target.socket.connected);

describe('authentication', () => {
  it('refuses handshakes without a valid token, in the common error shape', async () => {
    expect((await refusal(server.baseUrl, {})).data).toMatchObject({
      statusCode: 401,
      code: 'UNAUTHENTICATED',
    });
    const garbage = await refusal(server.baseUrl, { token: 'not-a-token' });
    expect(garbage.data).toMatchObject({ statusCode: 401, code: 'TOKEN_INVALID' });
    expect(garbage.message).toBe('Access token is invalid');
  });

  it('refuses an expired access token', async () => {
    const keys = await server.identity.keys();
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({
      org: world.admin.orgId,
      role: 'agent',
      sid: randomUUID(),
      iatms: Date.now(),
    })
      .setProtectedHeader({ alg: 'ES256', kid: keys.current.kid, typ: 'at+jwt' })
      .setSubject(world.agent.id)
      .setIssuer(server.config.publicUrl)
      .setAudience('switchboard')
      .setIssuedAt(now - 120)
      .setExpirationTime(now - 60)
      .sign(keys.current.privateKey);
    expect((await refusal(server.baseUrl, { token: expired })).data).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('ends a connected socket when its session signs out, and refuses the token afterwards', async () => {
    const token = await signIn(await emailOf(world.agent));
    const socket = await client(token);
    const other = await client(tokenOf(world.agent));
    const logout = await server.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(logout.statusCode).toBe(204);
    const ended = await socket.next('session:ended');
    expect(ended.payload).toMatchObject({ code: 'TOKEN_REVOKED' });
    await disconnected(socket);
    expect((await refusal(server.baseUrl, { token })).data).toMatchObject({ code: 'TOKEN_REVOKED' });
    // The user's other session stays connected.
    expect(other.socket.connected).toBe(true);
    other.close();
  });

  it('accepts a personal API token and ends its socket when the token is revoked', async () => {
    const created = await api('POST', '/me/api-tokens', world.lead, {
      name: 'wallboard',
      scopes: ['ticket:view_team'],
    });
    expect(created.statusCode).toBe(201);
    const socket = await client(created.json().token);
    const ticket = await openTicket(server.app, world.requester, { title: 'Seen on the wallboard' });
    await socket.next('ticket:new', (payload) => payload.ticketId === ticket.id);
    expect((await api('DELETE', `/me/api-tokens/${created.json().id}`, world.lead)).statusCode).toBe(204);
    expect((await socket.next('session:ended')).payload).toMatchObject({ code: 'TOKEN_REVOKED' });
    await disconnected(socket);
  });

  it('swaps the token of a live socket for a fresh one of the same user only', async () => {
    const socket = await client(tokenOf(world.requester));
    const fresh = await signIn(await emailOf(world.requester));
    expect(await socket.call('auth:refresh', { token: fresh })).toEqual({ ok: true });
    const someoneElse = await socket.call('auth:refresh', { token: tokenOf(world.requester2) });
    expect(someoneElse).toMatchObject({ ok: false, error: { statusCode: 403, code: 'FORBIDDEN' } });
    socket.close();
  });
});

describe('limits', () => {
  it('caps the connections of one user', async () => {
    const token = tokenOf(world.requester2);
    const first = await client(token);
    await client(token);
    const third = await refusal(server.baseUrl, { token });
    expect(third.data).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect(third.message).toMatch(/At most 2 connections/);
    first.close();
    // Once the server has seen the first one go, there is room again.
    await until(async () => {
      try {
        return await client(token);
      } catch (error) {
        if ((error as { data?: { code: string } }).data?.code !== 'RATE_LIMITED') throw error;
        return undefined;
      }
    });
  });

  it('refuses client events beyond the rate limit', async () => {
    const socket = await client(tokenOf(world.agent2));
    const answers: Array<Record<string, unknown>> = [];
    for (let sent = 0; sent < 12; sent += 1) answers.push(await socket.call('presence:ping'));
    expect(answers.slice(0, 10).every((answer) => answer.ok === true)).toBe(true);
    expect(answers[10]).toMatchObject({ ok: false, error: { statusCode: 429, code: 'RATE_LIMITED' } });
    expect((answers[10]!.error as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(0);
    socket.close();
  });
});

describe('catch-up after reconnect', () => {
  it('replays missed events, filtered as live ones, and asks for a refetch past the limit', async () => {
    const fresh = await ticketWorld(server.app);
    // Stays connected: once it has an event, the relay has published it (and those before it).
    const observer = await client(tokenOf(fresh.lead));
    const relayed = (messageId: string) =>
      observer.next('message:new', (payload) => (payload.message as { id: string }).id === messageId);
    const agent = await client(tokenOf(fresh.agent));
    const ticket = await openTicket(server.app, fresh.requester, { title: 'Badge reader' });
    const created = (await agent.next('ticket:new', (payload) => payload.ticketId === ticket.id)).payload;
    const lastEventId = created.eventId as string;
    agent.close();

    const reply = await api('POST', `/tickets/${ticket.id}/comments`, fresh.agent2, {
      body: 'Swap the reader',
    });
    const note = await api('POST', `/tickets/${ticket.id}/notes`, fresh.agent2, { body: 'Spare is in B2' });
    expect([reply.statusCode, note.statusCode]).toEqual([201, 201]);
    await relayed(note.json().id);

    const back = await client(tokenOf(fresh.agent), { lastEventId });
    const done = await back.next('sync:done');
    const messages = back.received
      .filter((entry) => entry.event === 'message:new')
      .map((entry) => (entry.payload.message as { id: string }).id);
    expect(messages).toEqual([reply.json().id, note.json().id]);
    expect(done.payload.lastEventId).toBe(
      back.received.filter((e) => e.event === 'message:new').at(-1)?.payload.eventId,
    );

    // The requester's replay has the reply, never the note.
    const requester = await client(tokenOf(fresh.requester));
    const answer = await requester.call('sync', { lastEventId });
    expect(answer).toMatchObject({ ok: true, refetch: false });
    await requester.next('sync:done');
    const seen = requester.received.filter((entry) => entry.event === 'message:new');
    expect(seen.map((entry) => (entry.payload.message as { id: string }).id)).toEqual([reply.json().id]);
    requester.close();

    let last = '';
    for (let n = 0; n < CATCH_UP_MAX; n += 1) {
      const more = await api('POST', `/tickets/${ticket.id}/notes`, fresh.agent2, { body: `Note ${n}` });
      expect(more.statusCode).toBe(201);
      last = more.json().id;
    }
    await relayed(last);
    back.close();
    const late = await client(tokenOf(fresh.agent), { lastEventId });
    expect((await late.next('sync:refetch')).payload).toMatchObject({ reason: 'too_many_missed' });
    expect(late.received.some((entry) => entry.event === 'message:new')).toBe(false);
  });
});
