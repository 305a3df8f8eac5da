import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';
import { openTicket, type TicketWorld, ticketWorld } from './support.js';

/**
 * Walks every ticket route with every kind of caller against a ticket of the Service Desk
 * team, requested by `owner` and assigned to a second agent of the team.
 */
let server: TestApp;
let world: TicketWorld;
let foreign: SignedUp;

type Caller = 'owner' | 'otherRequester' | 'teamAgent' | 'outsideAgent' | 'lead' | 'admin' | 'foreignAdmin';
const CALLERS: Caller[] = [
  'owner',
  'otherRequester',
  'teamAgent',
  'outsideAgent',
  'lead',
  'admin',
  'foreignAdmin',
];

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
  foreign = await signupOrg(server.app);
});
afterAll(async () => server?.close());

function auth(caller: Caller) {
  const sessions = {
    owner: world.requester,
    otherRequester: world.requester2,
    teamAgent: world.agent,
    outsideAgent: world.outsider,
    lead: world.lead,
    admin: world.admin,
    foreignAdmin: foreign,
  };
  return sessions[caller].auth;
}

interface Fixture {
  ticketId: string;
  otherTicketId: string;
  messageId: string;
}

async function fixture(): Promise<Fixture> {
  const make = () =>
    openTicket(server.app, world.agent, {
      requesterId: world.requester.id,
      teamId: world.teamId,
      assigneeId: world.agent2.id,
    });
  const [ticket, other] = await Promise.all([make(), make()]);
  const message = await server.app.inject({
    method: 'POST',
    url: `/api/v1/tickets/${ticket.id}/comments`,
    headers: world.requester.auth,
    payload: { body: 'A second, unrelated question' },
  });
  await server.app.inject({
    method: 'POST',
    url: `/api/v1/tickets/${ticket.id}/notes`,
    headers: world.agent.auth,
    payload: { body: 'INTERNAL-ONLY remark' },
  });
  return { ticketId: ticket.id, otherTicketId: other.id, messageId: message.json().id };
}

interface RouteCase {
  name: string;
  request: (f: Fixture) => { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: object };
  expected: Record<Caller, number>;
}

const seen = {
  owner: 200,
  otherRequester: 404,
  teamAgent: 200,
  outsideAgent: 404,
  lead: 200,
  admin: 200,
  foreignAdmin: 404,
};
const agentWork = (ok: number) => ({
  owner: 403,
  otherRequester: 403,
  teamAgent: ok,
  outsideAgent: 404,
  lead: ok,
  admin: ok,
  foreignAdmin: 404,
});

const ROUTES: RouteCase[] = [
  {
    name: 'GET /tickets/:id',
    request: (f) => ({ method: 'GET', url: `/tickets/${f.ticketId}` }),
    expected: seen,
  },
  {
    name: 'GET /tickets/:id/events',
    request: (f) => ({ method: 'GET', url: `/tickets/${f.ticketId}/events` }),
    expected: seen,
  },
  {
    name: 'PATCH /tickets/:id',
    request: (f) => ({ method: 'PATCH', url: `/tickets/${f.ticketId}`, payload: { priority: 'high' } }),
    expected: agentWork(200),
  },
  {
    name: 'DELETE /tickets/:id',
    request: (f) => ({ method: 'DELETE', url: `/tickets/${f.ticketId}` }),
    expected: {
      owner: 403,
      otherRequester: 403,
      teamAgent: 403,
      outsideAgent: 403,
      lead: 403,
      admin: 204,
      foreignAdmin: 404,
    },
  },
  {
    name: 'POST /tickets/:id/comments',
    request: (f) => ({ method: 'POST', url: `/tickets/${f.ticketId}/comments`, payload: { body: 'hello' } }),
    expected: { ...seen, owner: 201, teamAgent: 201, lead: 201, admin: 201 },
  },
  {
    name: 'POST /tickets/:id/notes',
    request: (f) => ({ method: 'POST', url: `/tickets/${f.ticketId}/notes`, payload: { body: 'note' } }),
    expected: agentWork(201),
  },
  {
    name: 'POST /tickets/:id/status',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/status`,
      payload: { status: 'in_progress' },
    }),
    expected: { ...agentWork(200), otherRequester: 404 },
  },
  {
    name: 'POST /tickets/:id/close',
    request: (f) => ({ method: 'POST', url: `/tickets/${f.ticketId}/close` }),
    expected: seen,
  },
  {
    name: 'POST /tickets/:id/assign (someone else’s ticket)',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/assign`,
      payload: { assigneeId: world.agent.id },
    }),
    expected: { ...agentWork(200), teamAgent: 403 },
  },
  {
    name: 'DELETE /tickets/:id/assign (someone else’s ticket)',
    request: (f) => ({ method: 'DELETE', url: `/tickets/${f.ticketId}/assign` }),
    expected: { ...agentWork(200), teamAgent: 403 },
  },
  {
    name: 'POST /tickets/:id/claim (already assigned)',
    request: (f) => ({ method: 'POST', url: `/tickets/${f.ticketId}/claim` }),
    expected: agentWork(409),
  },
  {
    name: 'POST /tickets/:id/merge',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/merge`,
      payload: { targetId: f.otherTicketId },
    }),
    expected: agentWork(200),
  },
  {
    name: 'POST /tickets/:id/links',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/links`,
      payload: { relatedId: f.otherTicketId },
    }),
    expected: agentWork(200),
  },
  {
    name: 'GET /tickets/:id/followers',
    request: (f) => ({ method: 'GET', url: `/tickets/${f.ticketId}/followers` }),
    expected: seen,
  },
  {
    name: 'POST /tickets/:id/followers',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/followers`,
      payload: { userId: world.lead.id },
    }),
    expected: agentWork(200),
  },
  {
    name: 'GET /tickets/:id/time',
    request: (f) => ({ method: 'GET', url: `/tickets/${f.ticketId}/time` }),
    expected: agentWork(200),
  },
  {
    name: 'POST /tickets/:id/time',
    request: (f) => ({ method: 'POST', url: `/tickets/${f.ticketId}/time`, payload: { minutes: 10 } }),
    expected: agentWork(201),
  },
  {
    name: 'POST /tickets/:id/messages/:messageId/split',
    request: (f) => ({
      method: 'POST',
      url: `/tickets/${f.ticketId}/messages/${f.messageId}/split`,
      payload: {},
    }),
    expected: agentWork(201),
  },
];

describe('ticket routes × callers', () => {
  for (const route of ROUTES) {
    it(route.name, async () => {
      const answers: Record<string, number> = {};
      for (const caller of CALLERS) {
        const f = await fixture();
        const { method, url, payload } = route.request(f);
        const response = await server.app.inject({
          method,
          url: `/api/v1${url}`,
          headers: auth(caller),
          ...(payload ? { payload } : {}),
        });
        answers[caller] = response.statusCode;
        if (response.statusCode >= 400)
          expect(response.json()).toMatchObject({
            statusCode: response.statusCode,
            code: expect.any(String),
          });
        if (caller === 'owner' && response.statusCode < 300 && response.body)
          expect(response.body).not.toContain('INTERNAL-ONLY');
      }
      expect(answers).toEqual(route.expected);
    });
  }

  it('POST /tickets/bulk: a ticket the caller cannot see fails as not found', async () => {
    const outcome: Record<string, unknown> = {};
    for (const caller of CALLERS) {
      const f = await fixture();
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/v1/tickets/bulk',
        headers: auth(caller),
        payload: { ticketIds: [f.ticketId], changes: { priority: 'high' } },
      });
      outcome[caller] =
        response.statusCode === 200
          ? response.json().results[0].ok || response.json().results[0].error.code
          : response.statusCode;
    }
    expect(outcome).toEqual({
      owner: 403,
      otherRequester: 403,
      teamAgent: true,
      outsideAgent: 'NOT_FOUND',
      lead: true,
      admin: true,
      foreignAdmin: 'NOT_FOUND',
    });
  });

  it('GET /tickets lists the ticket exactly for those who may see it', async () => {
    const f = await fixture();
    const listed: Record<string, boolean> = {};
    for (const caller of CALLERS) {
      const response = await server.app.inject({
        method: 'GET',
        url: '/api/v1/tickets?limit=100',
        headers: auth(caller),
      });
      expect(response.statusCode).toBe(200);
      listed[caller] = response.json().data.some((ticket: { id: string }) => ticket.id === f.ticketId);
    }
    expect(listed).toEqual({
      owner: true,
      otherRequester: false,
      teamAgent: true,
      outsideAgent: false,
      lead: true,
      admin: true,
      foreignAdmin: false,
    });
  });

  it('POST /tickets is open to every role', async () => {
    for (const caller of CALLERS) {
      const response = await server.app.inject({
        method: 'POST',
        url: '/api/v1/tickets',
        headers: auth(caller),
        payload: { title: 'New one' },
      });
      expect(response.statusCode, caller).toBe(201);
    }
  });

  it('without a token every ticket route answers 401', async () => {
    const f = await fixture();
    for (const route of ROUTES) {
      const { method, url, payload } = route.request(f);
      const response = await server.app.inject({
        method,
        url: `/api/v1${url}`,
        ...(payload ? { payload } : {}),
      });
      expect(response.statusCode, route.name).toBe(401);
    }
  });
});
