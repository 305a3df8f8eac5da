import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assignmentTables,
  type Candidate,
  chooseAgent,
  drainsAfter,
  SWEEP_JOB,
} from '../../src/server/modules/assignment/index.js';
import type { EventEnvelope } from '../../src/server/platform/events/events.js';
import {
  createUser,
  type SignedUp,
  signupOrg,
  startTestApp,
  startWorkers,
  type TestApp,
} from '../support/harness.js';
import { until } from '../support/wait.js';

let server: TestApp;
let admin: SignedUp & { id: string };
let lead: Session;
let requester: Session;

type Session = { id: string; auth: { authorization: string } };
type Role = 'agent' | 'team_lead' | 'admin';

beforeAll(async () => {
  server = await startTestApp();
  await startWorkers(server.platform);
  const org = await signupOrg(server.app);
  admin = { ...org, id: org.adminId };
  [lead, requester] = await Promise.all([
    createUser(server.app, admin, 'team_lead'),
    createUser(server.app, admin, 'requester'),
  ]);
});
afterAll(async () => server?.close());

function api(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  who: Session,
  payload?: object,
) {
  return server.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: who.auth,
    ...(payload === undefined ? {} : { payload }),
  });
}

async function ok<T = Record<string, unknown>>(
  response: Promise<{ statusCode: number; body: string; json(): unknown }>,
  status = 200,
): Promise<T> {
  const answer = await response;
  if (answer.statusCode !== status)
    throw new Error(`expected ${status}, got ${answer.statusCode}: ${answer.body}`);
  return answer.json() as T;
}

/** A new team with `roles.length` members (sorted by id, the round-robin order) and its routing. */
async function team(roles: Role[], routing?: { mode: string; categorySkills?: Record<string, string> }) {
  const { id: teamId } = await ok<{ id: string }>(
    api('POST', '/admin/teams', admin, { name: `Team ${randomUUID().slice(0, 8)}` }),
    201,
  );
  const members = await Promise.all(
    roles.map(async (role) => ({
      ...(await createUser(server.app, admin, role, { teamIds: [teamId] })),
      role,
    })),
  );
  members.sort((a, b) => (a.id < b.id ? -1 : 1));
  if (routing) await ok(api('PUT', `/teams/${teamId}/routing`, admin, routing));
  return { teamId, members };
}

async function openTicket(teamId: string, extra: Record<string, unknown> = {}) {
  const ticket = await ok<{ id: string; assignee: { id: string } | null }>(
    api('POST', '/tickets', admin, { title: 'VPN drops every hour', teamId, ...extra }),
    201,
  );
  return { id: ticket.id, assigneeId: ticket.assignee?.id ?? null };
}

async function assigneeOf(ticketId: string): Promise<string | null> {
  const ticket = await ok<{ assignee: { id: string } | null }>(api('GET', `/tickets/${ticketId}`, admin));
  return ticket.assignee?.id ?? null;
}

const patchAgent = (userId: string, body: object) => ok(api('PATCH', `/agents/${userId}`, admin, body));
const setAvailability = (who: Session, userId: string, availability: string) =>
  ok(api('PUT', `/agents/${userId}/availability`, who, { availability }));

async function agentsOf(teamId: string) {
  const list = await ok<{ data: Array<{ id: string; openTickets: number; capacity: number | null }> }>(
    api('GET', `/agents?teamId=${teamId}&limit=100`, admin),
  );
  return new Map(list.data.map((agent) => [agent.id, agent]));
}

describe('routing new tickets', () => {
  it('round robin cycles through the available agents in a stable order', async () => {
    const { teamId, members } = await team(['agent', 'agent', 'team_lead'], { mode: 'round_robin' });
    const assignees: Array<string | null> = [];
    for (let i = 0; i < 6; i += 1) assignees.push((await openTicket(teamId)).assigneeId);
    const ids = members.map((member) => member.id);
    const start = ids.indexOf(assignees[0]!);
    expect(assignees).toEqual([0, 1, 2, 3, 4, 5].map((n) => ids[(start + n) % 3]));
  });

  it('records the automatic assignment in the timeline with the mode', async () => {
    const { teamId } = await team(['agent'], { mode: 'round_robin' });
    const ticket = await openTicket(teamId);
    const events = await ok<{ data: Array<{ type: string; data: Record<string, unknown> }> }>(
      api('GET', `/tickets/${ticket.id}/events`, admin),
    );
    expect(events.data.map((event) => event.type)).toEqual(['created', 'assigned']);
    expect(events.data[1]!.data).toMatchObject({ automatic: true, mode: 'round_robin' });
  });

  it('least_open gives each ticket to the agent with the fewest open tickets', async () => {
    const { teamId, members } = await team(['agent', 'agent', 'agent'], { mode: 'off' });
    const [a, b, c] = members.map((member) => member.id) as [string, string, string];
    for (const assigneeId of [a, a, b]) await openTicket(teamId, { assigneeId });
    await ok(api('PUT', `/teams/${teamId}/routing`, admin, { mode: 'least_open' }));
    expect((await openTicket(teamId)).assigneeId).toBe(c);
    const next = [(await openTicket(teamId)).assigneeId, (await openTicket(teamId)).assigneeId];
    expect(next.sort()).toEqual([b, c].sort());
    const load = await agentsOf(teamId);
    expect([a, b, c].map((id) => load.get(id)!.openTickets)).toEqual([2, 2, 2]);
  });

  it('routes tickets created together one after another: least_open spreads them, capacity holds', async () => {
    const spread = await team(['agent', 'agent', 'agent'], { mode: 'least_open' });
    const together = await Promise.all(Array.from({ length: 6 }, () => openTicket(spread.teamId)));
    const counts = new Map<string, number>();
    for (const { assigneeId } of together) counts.set(assigneeId!, (counts.get(assigneeId!) ?? 0) + 1);
    expect([...counts.entries()].sort()).toEqual(spread.members.map((member) => [member.id, 2]).sort());

    const capped = await team(['agent', 'agent'], { mode: 'round_robin' });
    for (const member of capped.members) await patchAgent(member.id, { capacity: 1 });
    const four = await Promise.all(Array.from({ length: 4 }, () => openTicket(capped.teamId)));
    const assigned = four.flatMap(({ assigneeId }) => (assigneeId ? [assigneeId] : []));
    expect(assigned.sort()).toEqual(capped.members.map((member) => member.id).sort());
  });

  it('assigns nothing when routing is off or was never configured', async () => {
    const off = await team(['agent'], { mode: 'off' });
    expect((await openTicket(off.teamId)).assigneeId).toBeNull();
    const never = await team(['agent']);
    expect((await openTicket(never.teamId)).assigneeId).toBeNull();
    const routing = await ok(api('GET', `/teams/${never.teamId}/routing`, admin));
    expect(routing).toMatchObject({ mode: 'off', categorySkills: {}, lastAssigneeId: null, updatedAt: null });
  });

  it('gives a category that needs a skill only to agents with it', async () => {
    const category = await ok<{ id: string }>(
      api('POST', '/ticket-categories', admin, { name: `Network ${randomUUID().slice(0, 6)}` }),
      201,
    );
    const { teamId, members } = await team(['agent', 'agent'], { mode: 'least_open' });
    const [skilled, other] = [members[0]!, members[1]!];
    await patchAgent(skilled.id, { skills: ['Network', ' vpn '] });
    const routing = await ok(
      api('PUT', `/teams/${teamId}/routing`, admin, {
        mode: 'least_open',
        categorySkills: { [category.id]: 'NETWORK' },
      }),
    );
    expect(routing).toMatchObject({ categorySkills: { [category.id]: 'network' } });
    for (let i = 0; i < 3; i += 1)
      expect((await openTicket(teamId, { categoryId: category.id })).assigneeId).toBe(skilled.id);
    // Without the category any agent qualifies: the least loaded one gets it.
    expect((await openTicket(teamId)).assigneeId).toBe(other.id);
    // Nobody with the skill has room: the ticket waits.
    await patchAgent(skilled.id, { capacity: 3 });
    expect((await openTicket(teamId, { categoryId: category.id })).assigneeId).toBeNull();
  });
});

describe('capacity and the queue', () => {
  it('never goes past capacity; a resolved ticket frees the slot for the oldest queued one', async () => {
    const { teamId, members } = await team(['agent', 'agent'], { mode: 'round_robin' });
    for (const member of members) await patchAgent(member.id, { capacity: 1 });
    const first = await openTicket(teamId);
    const second = await openTicket(teamId);
    const queued = await openTicket(teamId);
    const later = await openTicket(teamId);
    expect([first.assigneeId, second.assigneeId].sort()).toEqual(members.map((member) => member.id).sort());
    expect(queued.assigneeId).toBeNull();
    expect(later.assigneeId).toBeNull();
    const load = await agentsOf(teamId);
    for (const member of members) expect(load.get(member.id)).toMatchObject({ openTickets: 1, capacity: 1 });

    await ok(api('POST', `/tickets/${first.id}/status`, admin, { status: 'resolved' }));
    const assignee = await until(() => assigneeOf(queued.id).then((id) => id ?? undefined));
    expect(assignee).toBe(first.assigneeId);
    expect(await assigneeOf(later.id)).toBeNull();
    const events = await ok<{ data: Array<{ type: string; data: Record<string, unknown> }> }>(
      api('GET', `/tickets/${queued.id}/events`, admin),
    );
    expect(events.data.at(-1)).toMatchObject({ type: 'assigned', data: { automatic: true, queued: true } });

    // More capacity drains the queue too.
    await patchAgent(second.assigneeId!, { capacity: 2 });
    expect(await until(() => assigneeOf(later.id).then((id) => id ?? undefined))).toBe(second.assigneeId);
  });

  it('skips away and offline agents; becoming available drains the queue', async () => {
    const { teamId, members } = await team(['agent', 'agent'], { mode: 'least_open' });
    const [a, b] = [members[0]!, members[1]!];
    await setAvailability(a, a.id, 'away');
    await setAvailability(lead, b.id, 'offline');
    const waiting = await openTicket(teamId);
    expect(waiting.assigneeId).toBeNull();
    const agent = await ok(api('GET', '/me/availability', a));
    expect(agent).toMatchObject({ id: a.id, availability: 'away', openTickets: 0 });
    await ok(api('PUT', '/me/availability', a, { availability: 'available' }));
    expect(await until(() => assigneeOf(waiting.id).then((id) => id ?? undefined))).toBe(a.id);
  });

  it('re-routes a ticket when it is unassigned, to someone else', async () => {
    const { teamId, members } = await team(['agent', 'agent'], { mode: 'least_open' });
    const ticket = await openTicket(teamId);
    const first = ticket.assigneeId!;
    expect(first).not.toBeNull();
    await ok(api('DELETE', `/tickets/${ticket.id}/assign`, admin));
    const second = await until(() => assigneeOf(ticket.id).then((id) => id ?? undefined));
    expect(second).not.toBe(first);
    expect(members.map((member) => member.id)).toContain(second);
  });
});

describe('the minutely sweep', () => {
  it('drains a queue that no event drained', async () => {
    const { teamId, members } = await team(['agent'], { mode: 'round_robin' });
    const agentId = members[0]!.id;
    await patchAgent(agentId, { capacity: 0 });
    const waiting = await openTicket(teamId);
    expect(waiting.assigneeId).toBeNull();
    // Room appears without an event (as when a queued ticket was locked while a slot freed).
    await server.platform.database.db
      .update(assignmentTables.agentProfiles)
      .set({ capacity: 1 })
      .where(eq(assignmentTables.agentProfiles.userId, agentId));
    expect(await server.domain.assignment.queuedTeams()).toContainEqual({ orgId: admin.orgId, teamId });
    await server.platform.jobs.enqueue(SWEEP_JOB, {});
    expect(await until(() => assigneeOf(waiting.id).then((id) => id ?? undefined))).toBe(agentId);
    expect(await server.domain.assignment.queuedTeams()).not.toContainEqual({ orgId: admin.orgId, teamId });
  });
});

describe('pickSenior (SLA escalation)', () => {
  it('picks the least-loaded available senior (flagged or of the senior role), excluding given ids', async () => {
    const { teamId, members } = await team(['agent', 'team_lead', 'agent', 'agent'], { mode: 'off' });
    const leadId = members.find((member) => member.role === 'team_lead')!.id;
    const [senior, junior, absent] = members
      .filter((member) => member.role === 'agent')
      .map((member) => member.id) as [string, string, string];
    await patchAgent(senior, { isSenior: true });
    await patchAgent(absent, { isSenior: true });
    await setAvailability(admin, absent, 'away');
    for (const assigneeId of [senior, senior, leadId, junior]) await openTicket(teamId, { assigneeId });

    const pick = (input: { excludeUserIds?: string[]; seniorRole?: string | null; teamId?: string | null }) =>
      server.platform.database.withOrg(admin.orgId, (tx) =>
        server.domain.assignment.pickSenior(tx, {
          orgId: admin.orgId,
          teamId: input.teamId === undefined ? teamId : input.teamId,
          excludeUserIds: input.excludeUserIds ?? [],
          seniorRole: input.seniorRole ?? null,
        }),
      );
    expect(await pick({})).toBe(senior);
    expect(await pick({ seniorRole: 'team_lead' })).toBe(leadId);
    expect(await pick({ seniorRole: 'team_lead', excludeUserIds: [leadId] })).toBe(senior);
    expect(await pick({ excludeUserIds: [senior] })).toBeNull();
    await patchAgent(senior, { capacity: 2 });
    expect(await pick({})).toBeNull();
  });
});

describe('validation and permissions', () => {
  it('refuses bad input naming the field, and writes nothing', async () => {
    const { teamId, members } = await team(['agent'], { mode: 'round_robin', categorySkills: {} });
    const agentId = members[0]!.id;
    const before = {
      routing: await ok(api('GET', `/teams/${teamId}/routing`, admin)),
      agents: await ok(api('GET', `/agents?teamId=${teamId}`, admin)),
    };
    const unknownCategory = randomUUID();
    const semantic = await api('PUT', `/teams/${teamId}/routing`, admin, {
      mode: 'least_open',
      categorySkills: { [unknownCategory]: 'network' },
    });
    expect(semantic.statusCode).toBe(422);
    expect(semantic.json()).toMatchObject({
      code: 'UNPROCESSABLE',
      details: { categorySkills: { [unknownCategory]: expect.any(String) } },
    });
    const requesterPatch = await api('PATCH', `/agents/${requester.id}`, admin, { capacity: 3 });
    expect(requesterPatch.statusCode).toBe(422);
    expect(requesterPatch.json().details).toHaveProperty('userId');
    const requesterAvailability = await api('PUT', `/agents/${requester.id}/availability`, admin, {
      availability: 'away',
    });
    expect(requesterAvailability.statusCode).toBe(422);

    // Malformed bodies fail schema validation: 400 VALIDATION_FAILED naming the field, like every route.
    const malformed: Array<[string, string, object, string]> = [
      ['PUT', `/teams/${teamId}/routing`, { mode: 'random' }, 'mode'],
      [
        'PUT',
        `/teams/${teamId}/routing`,
        { mode: 'least_open', categorySkills: { 'not-a-uuid': 'x' } },
        'categorySkills',
      ],
      [
        'PUT',
        `/teams/${teamId}/routing`,
        { mode: 'least_open', categorySkills: { [randomUUID()]: ' ' } },
        'categorySkills',
      ],
      ['PUT', `/teams/${teamId}/routing`, { mode: 'least_open', extra: 1 }, ''],
      ['PATCH', `/agents/${agentId}`, { capacity: -1 }, 'capacity'],
      ['PATCH', `/agents/${agentId}`, { capacity: 1.5 }, 'capacity'],
      ['PATCH', `/agents/${agentId}`, { skills: [''] }, 'skills'],
      ['PATCH', `/agents/${agentId}`, { isSenior: 'yes' }, 'isSenior'],
      ['PATCH', `/agents/${agentId}`, {}, ''],
      ['PUT', `/agents/${agentId}/availability`, { availability: 'busy' }, 'availability'],
    ];
    for (const [method, url, payload, field] of malformed) {
      const response = await api(method as 'PUT', url, admin, payload);
      expect(response.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(400);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED', requestId: expect.any(String) });
      expect(JSON.stringify(response.json().details)).toContain(field);
    }
    expect(await ok(api('GET', `/teams/${teamId}/routing`, admin))).toEqual(before.routing);
    expect(await ok(api('GET', `/agents?teamId=${teamId}`, admin))).toEqual(before.agents);
  });

  it('answers 404 for unknown users and teams', async () => {
    const nobody = randomUUID();
    expect((await api('PATCH', `/agents/${nobody}`, admin, { capacity: 1 })).statusCode).toBe(404);
    expect(
      (await api('PUT', `/agents/${nobody}/availability`, admin, { availability: 'away' })).statusCode,
    ).toBe(404);
    expect((await api('GET', `/teams/${nobody}/routing`, admin)).statusCode).toBe(404);
    expect((await api('PUT', `/teams/${nobody}/routing`, admin, { mode: 'off' })).statusCode).toBe(404);
  });

  it('answers 403 to callers without the permission', async () => {
    const { teamId, members } = await team(['agent', 'agent'], { mode: 'off' });
    const [agent, colleague] = [members[0]!, members[1]!];
    const forbidden: Array<[Session, 'GET' | 'PUT' | 'PATCH', string, object?]> = [
      [requester, 'GET', '/agents'],
      [agent, 'PATCH', `/agents/${colleague.id}`, { capacity: 5 }],
      [agent, 'PATCH', `/agents/${agent.id}`, { capacity: 50 }],
      [lead, 'PATCH', `/agents/${agent.id}`, { isSenior: true }],
      [agent, 'PUT', `/agents/${colleague.id}/availability`, { availability: 'away' }],
      [requester, 'PUT', `/agents/${agent.id}/availability`, { availability: 'away' }],
      [agent, 'GET', `/teams/${teamId}/routing`],
      [lead, 'PUT', `/teams/${teamId}/routing`, { mode: 'least_open' }],
    ];
    for (const [who, method, url, payload] of forbidden) {
      const response = await api(method, url, who, payload);
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
    // What they may do: agents list and set their own availability, leads anyone's.
    expect((await api('GET', '/agents', agent)).statusCode).toBe(200);
    await setAvailability(agent, agent.id, 'away');
    await setAvailability(lead, colleague.id, 'offline');
    const load = await agentsOf(teamId);
    expect(load.get(agent.id)).toMatchObject({ availability: 'away' });
    expect(load.get(colleague.id)).toMatchObject({ availability: 'offline' });
  });
});

describe('API description', () => {
  it('documents every route under the Assignment tag', async () => {
    const spec = (await server.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    const paths = [
      '/api/v1/agents',
      '/api/v1/agents/{userId}',
      '/api/v1/agents/{userId}/availability',
      '/api/v1/me/availability',
      '/api/v1/teams/{teamId}/routing',
    ];
    for (const path of paths)
      for (const operation of Object.values(spec.paths[path] ?? { missing: { tags: [path] } }))
        expect((operation as { tags: string[] }).tags).toEqual(['Assignment']);
    expect(JSON.stringify(spec.paths['/api/v1/teams/{teamId}/routing'].put.requestBody)).toContain(
      'least_open',
    );
  });
});

describe('choosing an agent', () => {
  const agent = (userId: string, open: number, extra: Partial<Candidate> = {}): Candidate => ({
    userId,
    role: 'agent',
    capacity: null,
    skills: [],
    isSenior: false,
    open,
    ...extra,
  });
  const ids = (picks: Array<Candidate | undefined>) => picks.map((pick) => pick?.userId ?? null);

  it('round robin takes the next agent after the last one, wrapping around', () => {
    const team = [agent('c', 0), agent('a', 9), agent('b', 1)];
    expect(ids([null, 'a', 'b', 'c', 'z'].map((last) => chooseAgent(team, 'round_robin', last)))).toEqual([
      'a',
      'b',
      'c',
      'a',
      'a',
    ]);
  });

  it('least_open takes the fewest open tickets, ties in turn after the last assignee', () => {
    const team = [agent('a', 2), agent('b', 1), agent('c', 1), agent('d', 3)];
    expect(chooseAgent(team, 'least_open', null)?.userId).toBe('b');
    expect(chooseAgent(team, 'least_open', 'b')?.userId).toBe('c');
    expect(chooseAgent(team, 'least_open', 'c')?.userId).toBe('b');
  });

  it('skips agents at capacity, without the skill, or excluded', () => {
    const team = [agent('a', 2, { capacity: 2 }), agent('b', 5, { skills: ['network'] }), agent('c', 0)];
    expect(chooseAgent(team, 'least_open', null)?.userId).toBe('c');
    expect(chooseAgent(team, 'least_open', null, { skill: 'network' })?.userId).toBe('b');
    expect(chooseAgent(team, 'round_robin', null, { excludeUserIds: ['c'] })?.userId).toBe('b');
    expect(chooseAgent(team, 'round_robin', null, { skill: 'vpn' })).toBeUndefined();
    expect(chooseAgent([agent('a', 0, { capacity: 0 })], 'round_robin', null)).toBeUndefined();
  });
});

describe('which events drain which queues', () => {
  const envelope = (event: string, payload: Record<string, unknown>): EventEnvelope => ({
    id: '1',
    event,
    orgId: randomUUID(),
    aggregateType: 'ticket',
    aggregateId: ticketId,
    actorId: null,
    requestId: null,
    createdAt: new Date().toISOString(),
    payload: {
      eventId: randomUUID(),
      type: 'x',
      number: 'TKT-20250101-00001',
      status: 'open',
      priority: 'medium',
      teamId,
      assigneeId: null,
      requesterId: randomUUID(),
      isInternal: false,
      changes: {},
      data: {},
      ...payload,
    },
  });
  const ticketId = randomUUID();
  const teamId = randomUUID();
  const agentId = randomUUID();
  const otherId = randomUUID();

  it('frees the slot of an agent whose ticket is done, moved away or deleted', () => {
    const done = envelope('ticket.status_changed', {
      assigneeId: agentId,
      status: 'resolved',
      changes: { status: { from: 'open', to: 'resolved' } },
    });
    expect(drainsAfter(done)).toEqual({ teams: [], agents: [agentId] });
    const reassigned = envelope('ticket.assigned', {
      assigneeId: otherId,
      changes: { assigneeId: { from: agentId, to: otherId } },
    });
    expect(drainsAfter(reassigned)).toEqual({ teams: [], agents: [agentId] });
    expect(drainsAfter(envelope('ticket.deleted', { assigneeId: agentId }))).toEqual({
      teams: [],
      agents: [agentId],
    });
    const mergedAway = envelope('ticket.merged', {
      assigneeId: agentId,
      status: 'closed',
      changes: { status: { from: 'in_progress', to: 'closed' } },
    });
    expect(drainsAfter(mergedAway)).toEqual({ teams: [], agents: [agentId] });
  });

  it('re-routes an unassigned ticket away from its previous agent, and ignores what frees nothing', () => {
    const unassigned = envelope('ticket.assigned', { changes: { assigneeId: { from: agentId, to: null } } });
    expect(drainsAfter(unassigned)).toEqual({
      teams: [{ teamId, avoid: { ticketId, userId: agentId } }],
      agents: [agentId],
    });
    const routed = envelope('ticket.assigned', {
      assigneeId: agentId,
      changes: { assigneeId: { from: null, to: agentId } },
    });
    expect(drainsAfter(routed)).toEqual({ teams: [], agents: [] });
    const waiting = envelope('ticket.status_changed', {
      assigneeId: agentId,
      status: 'pending_user',
      changes: { status: { from: 'open', to: 'pending_user' } },
    });
    expect(drainsAfter(waiting)).toEqual({ teams: [], agents: [] });
    const reopened = envelope('ticket.status_changed', {
      assigneeId: agentId,
      changes: { status: { from: 'resolved', to: 'open' } },
    });
    expect(drainsAfter(reopened)).toEqual({ teams: [], agents: [] });
    expect(drainsAfter(envelope('ticket.created', {}))).toEqual({ teams: [], agents: [] });
  });

  it('drains after an agent becomes available or gains room, and after routing is turned on', () => {
    const agentEvent = (event: string, payload: Record<string, unknown>) => ({
      ...envelope(event, {}),
      payload: { userId: agentId, ...payload },
    });
    expect(
      drainsAfter(agentEvent('agent.availability_changed', { from: 'away', to: 'available' })).agents,
    ).toEqual([agentId]);
    expect(
      drainsAfter(agentEvent('agent.availability_changed', { from: 'available', to: 'away' })).agents,
    ).toEqual([]);
    const capacity = (from: number | null, to: number | null) =>
      drainsAfter(agentEvent('agent.profile_updated', { changes: { capacity: { from, to } } })).agents;
    expect(capacity(2, 3)).toEqual([agentId]);
    expect(capacity(2, null)).toEqual([agentId]);
    expect(capacity(3, 2)).toEqual([]);
    expect(capacity(null, 5)).toEqual([]);
    const routing = (mode: string) =>
      drainsAfter({ ...envelope('team_routing.updated', {}), payload: { teamId, mode, changes: {} } }).teams;
    expect(routing('round_robin')).toEqual([{ teamId }]);
    expect(routing('off')).toEqual([]);
  });
});
