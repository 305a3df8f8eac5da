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
  const ok = (response: { statusCode: number; body: string }) =>
    expect(response.statusCode, response.body).toBeLessThan(300);
  ok(
    await api('POST', '/sla/policies', world.admin, {
      name: 'Service desk',
      conditions: {},
      businessHours: 'always',
      targets: { high: { resolution: 60 }, critical: { resolution: 30 } },
    }),
  );
  ok(
    await api('PUT', '/sla/escalation-policy', world.admin, {
      levels: [
        { trigger: 'at_risk', notify: ['assignee', 'team_leads'] },
        { trigger: 'breach', reassignToSenior: true, notify: ['assignee', 'previous_assignee'] },
        { trigger: 'after_breach', delayMinutes: 30, notify: ['escalation_managers'], raisePriority: true },
      ],
      managerIds: [world.admin.id],
      seniorRole: null,
    }),
  );
  ok(await api('PATCH', `/agents/${world.agent2.id}`, world.admin, { isSenior: true }));
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);
const MINUTE = 60_000;

interface Timer {
  id: string;
  kind: string;
  state: string;
  targetSeconds: number;
  completedAt: string | null;
  events: Array<{ kind: string; level: number }>;
}

const resolutionTimer = async (ticketId: string): Promise<Timer> => {
  const response = await api('GET', `/tickets/${ticketId}/sla`, world.agent);
  return (response.json().data as Timer[]).find(
    (timer) => timer.kind === 'resolution' && !timer.completedAt,
  )!;
};

const ticketOf = async (ticketId: string) => (await api('GET', `/tickets/${ticketId}`, world.admin)).json();

const notificationsOf = async (who: { auth: Record<string, string> }, ticketId: string) =>
  (
    (await api('GET', '/notifications', who)).json().data as Array<{
      kind: string;
      ticketId: string;
      data: Record<string, unknown>;
    }>
  ).filter((notification) => notification.kind === 'sla_escalation' && notification.ticketId === ticketId);

describe('escalation', () => {
  it('warns at risk, reassigns to a senior agent at breach, then raises priority — each exactly once', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      priority: 'high',
      teamId: world.teamId,
      assigneeId: world.agent.id,
      requesterId: world.requester.id,
    });
    const timer = await resolutionTimer(ticket.id);
    const fire = (minutes: number) =>
      server.domain.sla.firing.fire(
        world.admin.orgId,
        timer.id,
        'job',
        new Date(Date.now() + minutes * MINUTE),
      );

    // Level 1 at 75% of an hour: the assignee and the team lead hear of it.
    await fire(46);
    await until(async () => (await notificationsOf(world.lead, ticket.id)).length === 1);
    expect(await notificationsOf(world.agent, ticket.id)).toHaveLength(1);
    expect((await ticketOf(ticket.id)).assignee.id).toBe(world.agent.id);

    // Level 2 at breach: reassigned to the senior agent, both told. Fired three ways at once.
    await Promise.all([
      fire(61),
      fire(61),
      server.domain.sla.firing.sweep({ now: new Date(Date.now() + 61 * MINUTE) }),
    ]);
    const reassigned = await ticketOf(ticket.id);
    expect(reassigned.assignee.id).toBe(world.agent2.id);
    await until(async () => (await notificationsOf(world.agent2, ticket.id)).length === 1);
    await until(async () => (await notificationsOf(world.agent, ticket.id)).length === 2);

    // Level 3, 30 minutes after the breach: priority up (high → critical), manager told.
    await fire(95);
    await fire(96);
    expect((await ticketOf(ticket.id)).priority).toBe('critical');
    await until(async () => (await notificationsOf(world.admin, ticket.id)).length === 1);

    const after = await resolutionTimer(ticket.id);
    expect(after.state).toBe('breached');
    expect(after.events.map((event) => [event.kind, event.level])).toEqual([
      ['at_risk', 0],
      ['escalated', 1],
      ['breached', 0],
      ['escalated', 2],
      ['escalated', 3],
    ]);
    // The raised priority gave the timer the critical target, business time kept.
    expect(after.targetSeconds).toBe(30 * 60);

    const timeline = (await api('GET', `/tickets/${ticket.id}/events?limit=100`, world.agent)).json()
      .data as Array<{
      type: string;
      data: Record<string, unknown>;
      changes: Record<string, { from: unknown; to: unknown }>;
    }>;
    expect(
      timeline.filter((event) => event.type === 'sla_escalated').map((event) => event.data.level),
    ).toEqual([1, 2, 3]);
    const assignments = timeline.filter((event) => event.type === 'assigned' && event.data.automatic);
    expect(assignments).toHaveLength(1);
    expect(assignments[0]!.changes.assigneeId).toEqual({ from: world.agent.id, to: world.agent2.id });
    await until(async () => (await notificationsOf(world.admin, ticket.id)).length === 1);
  });

  it('says so when no senior agent has room, and keeps the assignee', async () => {
    expect(
      (await api('PUT', `/agents/${world.agent2.id}/availability`, world.agent2, { availability: 'away' }))
        .statusCode,
    ).toBe(200);
    const ticket = await openTicket(server.app, world.agent, {
      priority: 'high',
      teamId: world.teamId,
      assigneeId: world.agent.id,
      requesterId: world.requester.id,
    });
    const timer = await resolutionTimer(ticket.id);
    await server.domain.sla.firing.fire(
      world.admin.orgId,
      timer.id,
      'job',
      new Date(Date.now() + 61 * MINUTE),
    );
    expect((await ticketOf(ticket.id)).assignee.id).toBe(world.agent.id);
    const timeline = (await api('GET', `/tickets/${ticket.id}/events?limit=100`, world.agent)).json()
      .data as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;
    const level2 = timeline.find((event) => event.type === 'sla_escalated' && event.data.level === 2);
    expect(level2?.data).toMatchObject({
      reassignedTo: null,
      note: expect.stringMatching(/no available senior/),
    });
    await api('PUT', `/agents/${world.agent2.id}/availability`, world.agent2, { availability: 'available' });
  });

  it('does nothing for a ticket resolved before its due time', async () => {
    const ticket = await openTicket(server.app, world.agent, { priority: 'high', teamId: world.teamId });
    const timer = await resolutionTimer(ticket.id);
    expect(
      (await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'resolved' })).statusCode,
    ).toBe(200);
    const result = await server.domain.sla.firing.fire(
      world.admin.orgId,
      timer.id,
      'job',
      new Date(Date.now() + 61 * MINUTE),
    );
    expect(result.acted).toBe(false);
  });
});
