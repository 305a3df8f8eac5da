import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

let server: TestApp;
let world: TicketWorld;

beforeAll(async () => {
  server = await startTestApp();
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);
const MINUTE = 60_000;

interface Timer {
  id: string;
  kind: string;
  cycle: number;
  state: string;
  targetSeconds: number;
  dueAt: string | null;
  remainingBusinessSeconds: number;
  businessSecondsUsed: number;
  completedAt: string | null;
  breachedAt: string | null;
  events: Array<{ kind: string; level: number; firedAt: string }>;
}

async function policy(body: Record<string, unknown>) {
  const response = await api('POST', '/sla/policies', world.admin, {
    businessHours: 'always',
    conditions: {},
    ...body,
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json() as { id: string };
}

async function timersOf(ticketId: string): Promise<Timer[]> {
  const response = await api('GET', `/tickets/${ticketId}/sla`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

const live = (timers: Timer[], kind: string) =>
  timers.find((timer) => timer.kind === kind && !timer.completedAt);

async function status(ticketId: string, to: string, who = world.agent) {
  const response = await api('POST', `/tickets/${ticketId}/status`, who, { status: to });
  expect(response.statusCode, response.body).toBe(200);
}

async function reply(
  ticketId: string,
  who: { auth: Record<string, string> },
  body = 'Thanks, looking into it',
) {
  const response = await api('POST', `/tickets/${ticketId}/comments`, who, { body });
  expect(response.statusCode, response.body).toBe(201);
}

/** The ticket's timer of `kind`, fired at `at` by the firing service (the injectable clock). */
async function fireAt(ticketId: string, kind: string, at: Date) {
  const timer = (await timersOf(ticketId)).find((t) => t.kind === kind && !t.completedAt)!;
  return server.domain.sla.firing.fire(world.admin.orgId, timer.id, 'job', at);
}

describe('SLA timers follow the ticket', () => {
  let network: { id: string };

  beforeAll(async () => {
    // Team-specific first, then a catch-all: first match wins.
    network = await policy({
      name: 'Network team',
      conditions: { teamIds: [world.otherTeamId] },
      targets: {
        high: { firstResponse: 30, resolution: 120 },
        critical: { firstResponse: 30, resolution: 120 },
      },
    });
    await policy({
      name: 'Everything else',
      targets: {
        low: { firstResponse: 480, resolution: 4800 },
        medium: { firstResponse: 240, nextResponse: 240, resolution: 2400 },
        high: { firstResponse: 60, nextResponse: 60, resolution: 480 },
        critical: { firstResponse: 15, nextResponse: 15, resolution: 240 },
      },
    });
  });

  it('starts first-response and resolution clocks on creation, due by the matching policy', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'medium' });
    const timers = await timersOf(ticket.id);
    expect(timers.map((timer) => timer.kind).sort()).toEqual(['first_response', 'resolution']);
    const first = live(timers, 'first_response')!;
    expect(first).toMatchObject({ state: 'running', targetSeconds: 240 * 60, cycle: 1 });
    const created = new Date(ticket.createdAt as string).getTime();
    expect(new Date(first.dueAt!).getTime() - created).toBeGreaterThanOrEqual(240 * MINUTE - 1_000);
    expect(new Date(first.dueAt!).getTime() - created).toBeLessThanOrEqual(240 * MINUTE + 1_000);

    const networkTicket = await openTicket(server.app, world.agent, {
      priority: 'high',
      teamId: world.otherTeamId,
    });
    const networkTimers = await timersOf(networkTicket.id);
    expect(live(networkTimers, 'first_response')!.targetSeconds).toBe(30 * 60);
    expect(networkTimers.every((timer) => timer.kind !== 'next_response')).toBe(true);
    expect(network.id).toBeDefined();
  });

  it("chooses by the requester's company and VIP flag, first match first", async () => {
    const acme = await policy({
      name: 'Acme Corp contract',
      conditions: { requesterCompanies: ['Acme Corp'] },
      targets: { medium: { firstResponse: 20 } },
    });
    const vip = await policy({
      name: 'VIPs',
      conditions: { requesterVip: true },
      targets: { medium: { firstResponse: 30 } },
    });
    const order = (await api('GET', '/sla/policies', world.admin))
      .json()
      .data.map((p: { id: string }) => p.id);
    const rest = order.filter((id: string) => id !== acme.id && id !== vip.id);
    expect(
      (await api('PUT', '/sla/policies/order', world.admin, { ids: [acme.id, vip.id, ...rest] })).statusCode,
    ).toBe(200);
    const setRequester = async (body: Record<string, unknown>) => {
      const response = await api('PATCH', `/admin/users/${world.requester2.id}`, world.admin, body);
      expect(response.statusCode, response.body).toBe(200);
      return response.json();
    };
    const firstResponseOf = async () => {
      const ticket = await openTicket(server.app, world.requester2, { priority: 'medium' });
      return live(await timersOf(ticket.id), 'first_response')!.targetSeconds / 60;
    };
    expect(await firstResponseOf()).toBe(240);
    expect(await setRequester({ company: 'ACME CORP', isVip: true })).toMatchObject({
      company: 'ACME CORP',
      isVip: true,
    });
    expect(await firstResponseOf()).toBe(20);
    await setRequester({ company: null });
    expect(await firstResponseOf()).toBe(30);
    await setRequester({ isVip: false });
    expect(await firstResponseOf()).toBe(240);
  });

  it('pauses while waiting on the requester and resumes with the business time left', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'high' });
    await status(ticket.id, 'pending_user');
    const paused = live(await timersOf(ticket.id), 'resolution')!;
    expect(paused).toMatchObject({ state: 'paused', dueAt: null });
    const leftWhenPaused = paused.remainingBusinessSeconds;
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Paused time never counts.
    expect(live(await timersOf(ticket.id), 'resolution')!.remainingBusinessSeconds).toBe(leftWhenPaused);
    await status(ticket.id, 'open');
    const resumed = live(await timersOf(ticket.id), 'resolution')!;
    expect(resumed.state).toBe('running');
    const dueIn = (new Date(resumed.dueAt!).getTime() - Date.now()) / 1000;
    expect(Math.abs(dueIn - leftWhenPaused)).toBeLessThan(3);
  });

  it('meets first response on an agent reply, and runs next response after each requester reply', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      priority: 'high',
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    await reply(ticket.id, world.agent);
    let timers = await timersOf(ticket.id);
    expect(timers.find((t) => t.kind === 'first_response')).toMatchObject({ state: 'met' });
    expect(live(timers, 'next_response')).toBeUndefined();

    await reply(ticket.id, world.requester, 'Still broken');
    timers = await timersOf(ticket.id);
    expect(live(timers, 'next_response')).toMatchObject({ state: 'running', cycle: 1, targetSeconds: 3600 });
    // A second requester message while one clock runs starts no other.
    await reply(ticket.id, world.requester, 'Any news?');
    expect((await timersOf(ticket.id)).filter((t) => t.kind === 'next_response')).toHaveLength(1);

    await reply(ticket.id, world.agent, 'Fixed the driver');
    await reply(ticket.id, world.requester, 'Broken again');
    timers = await timersOf(ticket.id);
    expect(timers.filter((t) => t.kind === 'next_response').map((t) => [t.cycle, t.state])).toEqual([
      [2, 'running'],
      [1, 'met'],
    ]);
  });

  it('recomputes targets when the priority changes, keeping the time used', async () => {
    const ticket = await openTicket(server.app, world.agent, { priority: 'low' });
    expect(live(await timersOf(ticket.id), 'resolution')!.targetSeconds).toBe(4800 * 60);
    const response = await api('PATCH', `/tickets/${ticket.id}`, world.agent, { priority: 'critical' });
    expect(response.statusCode, response.body).toBe(200);
    const resolution = live(await timersOf(ticket.id), 'resolution')!;
    expect(resolution.targetSeconds).toBe(240 * 60);
    const dueIn = new Date(resolution.dueAt!).getTime() - Date.now();
    expect(dueIn).toBeLessThanOrEqual(240 * MINUTE);
    expect(dueIn).toBeGreaterThan(239 * MINUTE);

    // Moving to the network team switches to its policy (no target for low → none runs).
    const moved = await api('PATCH', `/tickets/${ticket.id}`, world.agent, { teamId: world.otherTeamId });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(live(await timersOf(ticket.id), 'resolution')!.targetSeconds).toBe(120 * 60);
    const lowered = await api('PATCH', `/tickets/${ticket.id}`, world.agent, { priority: 'low' });
    expect(lowered.statusCode).toBe(200);
    // The network policy sets no target for low tickets: timers that never fired go away.
    expect((await timersOf(ticket.id)).filter((t) => !t.completedAt)).toEqual([]);
  });

  it('gives running clocks the new targets when an admin edits their policy', async () => {
    const ticket = await openTicket(server.app, world.agent, { priority: 'high', teamId: world.otherTeamId });
    expect(live(await timersOf(ticket.id), 'first_response')!.targetSeconds).toBe(30 * 60);
    const edited = await api('PATCH', `/sla/policies/${network.id}`, world.admin, {
      targets: {
        high: { firstResponse: 45, resolution: 120 },
        critical: { firstResponse: 30, resolution: 120 },
      },
    });
    expect(edited.statusCode, edited.body).toBe(200);
    const recomputed = await until(async () => {
      const timer = live(await timersOf(ticket.id), 'first_response')!;
      return timer.targetSeconds === 45 * 60 ? timer : undefined;
    });
    const dueIn = new Date(recomputed.dueAt!).getTime() - new Date(ticket.createdAt as string).getTime();
    expect(Math.abs(dueIn - 45 * MINUTE)).toBeLessThan(2_000);
  });

  it('moves the clocks of every ticket in a bulk update', async () => {
    const tickets = await Promise.all(
      [1, 2, 3].map(() =>
        openTicket(server.app, world.agent, { priority: 'high', requesterId: world.requester.id }),
      ),
    );
    const ticketIds = tickets.map((ticket) => ticket.id);
    const paused = await api('POST', '/tickets/bulk', world.agent, {
      ticketIds,
      changes: { status: 'pending_user' },
    });
    expect(paused.statusCode, paused.body).toBe(200);
    for (const id of ticketIds)
      expect((await timersOf(id)).filter((t) => !t.completedAt).map((t) => t.state)).toEqual([
        'paused',
        'paused',
      ]);
    const resolved = await api('POST', '/tickets/bulk', world.agent, {
      ticketIds,
      changes: { status: 'resolved' },
    });
    expect(resolved.statusCode, resolved.body).toBe(200);
    for (const id of ticketIds) {
      const timers = await timersOf(id);
      expect(timers.map((t) => [t.kind, t.state, Boolean(t.completedAt)]).sort()).toEqual([
        ['first_response', 'met', true],
        ['resolution', 'met', true],
      ]);
    }
  });

  it('stops on resolution recording met, and restarts resolution on reopen', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'medium' });
    await status(ticket.id, 'resolved');
    let timers = await timersOf(ticket.id);
    expect(timers.every((t) => t.completedAt && t.state === 'met')).toBe(true);
    await status(ticket.id, 'open');
    timers = await timersOf(ticket.id);
    expect(live(timers, 'resolution')).toMatchObject({
      cycle: 2,
      state: 'running',
      targetSeconds: 2400 * 60,
    });
  });

  it('records breached when resolved after the due time', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'critical' });
    // Fire as if 20 minutes had passed: first response (15 min) breaches.
    await fireAt(ticket.id, 'first_response', new Date(Date.now() + 20 * MINUTE));
    await status(ticket.id, 'resolved');
    const timers = await timersOf(ticket.id);
    expect(timers.find((t) => t.kind === 'first_response')).toMatchObject({ state: 'breached' });
    expect(timers.find((t) => t.kind === 'resolution')).toMatchObject({ state: 'met' });
  });
});

describe('firing', () => {
  it('takes at-risk then breach exactly once each, however often it is fired', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'critical' });
    const soon = new Date(Date.now() + 12 * MINUTE); // 80% of 15 minutes: at risk
    await fireAt(ticket.id, 'first_response', soon);
    let first = live(await timersOf(ticket.id), 'first_response')!;
    expect(first.state).toBe('at_risk');
    const later = new Date(Date.now() + 16 * MINUTE);
    await Promise.all([
      fireAt(ticket.id, 'first_response', later),
      fireAt(ticket.id, 'first_response', later),
      server.domain.sla.firing.sweep({ now: later }),
    ]);
    await server.domain.sla.firing.sweep({ now: later });
    first = live(await timersOf(ticket.id), 'first_response')!;
    expect(first.state).toBe('breached');
    expect(first.events.map((event) => event.kind)).toEqual(['at_risk', 'breached']);

    const events = (await api('GET', `/tickets/${ticket.id}/events`, world.agent)).json().data as Array<{
      type: string;
    }>;
    expect(events.filter((event) => event.type === 'sla_at_risk')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'sla_breached')).toHaveLength(1);
    // Requesters never see SLA events.
    const theirs = (await api('GET', `/tickets/${ticket.id}/events`, world.requester)).json().data as Array<{
      type: string;
    }>;
    expect(theirs.some((event) => event.type.startsWith('sla_'))).toBe(false);
  });

  it('fires an at-risk step from its delayed job at the right time', async () => {
    const quick = await policy({
      name: 'Quick VIP desk',
      conditions: { channels: ['slack'] },
      targets: { medium: { firstResponse: 1 } },
      atRiskPercent: 2,
    });
    const order = (await api('GET', '/sla/policies', world.admin))
      .json()
      .data.map((p: { id: string }) => p.id);
    const reordered = await api('PUT', '/sla/policies/order', world.admin, {
      ids: [quick.id, ...order.filter((id: string) => id !== quick.id)],
    });
    expect(reordered.statusCode, reordered.body).toBeLessThan(300);
    const ticket = await openTicket(server.app, world.agent, { channel: 'slack' });
    const timer = live(await timersOf(ticket.id), 'first_response')!;
    expect(timer.targetSeconds).toBe(60);
    // 2% of a minute: at risk 1.2 s after creation, taken by the delayed job (the sweep waits 2 s).
    const atRisk = await until(async () => {
      const current = live(await timersOf(ticket.id), 'first_response')!;
      return current.state === 'at_risk' ? current : undefined;
    }, 10_000);
    expect(atRisk.events).toHaveLength(1);
    expect(quick.id).toBeDefined();
  });

  it('leaves paused and stopped timers alone', async () => {
    const ticket = await openTicket(server.app, world.requester, { priority: 'critical' });
    await status(ticket.id, 'waiting_on_vendor');
    const paused = live(await timersOf(ticket.id), 'resolution')!;
    const result = await server.domain.sla.firing.fire(
      world.admin.orgId,
      paused.id,
      'job',
      new Date(Date.now() + 10 * 60 * MINUTE),
    );
    expect(result).toEqual({ next: null, acted: false });
    expect(live(await timersOf(ticket.id), 'resolution')!.events).toEqual([]);
  });
});

describe('the at-risk board', () => {
  it('lists at-risk and breached timers of open tickets, soonest due first, for agents only', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      priority: 'critical',
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    await fireAt(ticket.id, 'first_response', new Date(Date.now() + 13 * MINUTE));
    const board = await api('GET', `/sla/at-risk?teamId=${world.teamId}`, world.lead);
    expect(board.statusCode, board.body).toBe(200);
    const rows = board.json().data as Array<{ ticket: { id: string }; timer: Timer }>;
    const row = rows.find((entry) => entry.ticket.id === ticket.id);
    expect(row?.timer).toMatchObject({ kind: 'first_response', state: 'at_risk' });
    const dues = rows.map((entry) => entry.timer.dueAt ?? '');
    expect([...dues].sort()).toEqual(dues);
    expect((await api('GET', '/sla/at-risk', world.requester)).statusCode).toBe(403);
    expect((await api('GET', `/tickets/${ticket.id}/sla`, world.requester)).statusCode).toBe(403);
  });
});

describe('simulating a draft policy', () => {
  it('replays recent tickets without writing, and refuses a bad draft with the field named', async () => {
    const draft = {
      name: 'Draft',
      conditions: { priorities: ['critical'] },
      businessHours: 'always',
      targets: { critical: { firstResponse: 15, resolution: 240 } },
    };
    const policiesBefore = (await api('GET', '/sla/policies', world.admin)).json().data.length;
    const response = await api('POST', '/sla/simulate', world.admin, { policy: draft, days: 7 });
    expect(response.statusCode, response.body).toBe(200);
    const result = response.json();
    expect(result.ticketsConsidered).toBeGreaterThan(result.ticketsMatched);
    expect(result.ticketsMatched).toBeGreaterThan(0);
    // Every critical ticket of this file got a first-response and resolution clock in the replay.
    const { first_response: first, resolution } = result.byKind;
    expect(first.met + first.breached + first.running).toBe(result.ticketsMatched);
    expect(resolution.met + resolution.breached + resolution.running).toBeGreaterThanOrEqual(
      result.ticketsMatched,
    );
    expect((await api('GET', '/sla/policies', world.admin)).json().data).toHaveLength(policiesBefore);

    const bad = await api('POST', '/sla/simulate', world.admin, {
      policy: { ...draft, conditions: { teamIds: ['00000000-0000-4000-8000-000000000000'] } },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().details).toHaveProperty(['conditions.teamIds']);
    expect((await api('POST', '/sla/simulate', world.agent, { policy: draft })).statusCode).toBe(403);
  });
});
