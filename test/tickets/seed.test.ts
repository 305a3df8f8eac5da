import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemo } from '../../src/server/modules/identity/index.js';
import { seedDemoSla } from '../../src/server/modules/sla/index.js';
import { seedDemoTickets } from '../../src/server/modules/tickets/index.js';
import { startTestApp, type TestApp } from '../support/harness.js';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(async () => server?.close());

it('seeds the demo organisation with an SLA set-up and sample tickets in several states, once', async () => {
  const result = await seedDemo(server.platform.database, { adminPassword: 'demo password 123' });
  expect(result.demo).toBeDefined();
  await seedDemoSla(server.domain.sla.admin, result.demo!);
  const count = await seedDemoTickets(server.domain.tickets, result.demo!);
  const login = await server.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: 'admin@acme.example', password: 'demo password 123' },
  });
  const auth = { authorization: `Bearer ${login.json().accessToken}` };
  const list = (
    await server.app.inject({ method: 'GET', url: '/api/v1/tickets?limit=100', headers: auth })
  ).json();
  expect(list.data).toHaveLength(count);
  expect(new Set(list.data.map((ticket: { status: string }) => ticket.status))).toEqual(
    new Set(['pending_user', 'waiting_on_vendor', 'resolved', 'in_progress', 'open', 'new', 'closed']),
  );
  // Every open demo ticket runs a resolution clock of the demo policy.
  const open = list.data.filter(
    (ticket: { status: string }) => !['resolved', 'closed'].includes(ticket.status),
  );
  for (const ticket of open) {
    const timers = (
      await server.app.inject({ method: 'GET', url: `/api/v1/tickets/${ticket.id}/sla`, headers: auth })
    ).json().data as Array<{ kind: string; completedAt: string | null; state: string }>;
    expect(timers.some((timer) => timer.kind === 'resolution' && !timer.completedAt)).toBe(true);
  }
  const paused = list.data.find((ticket: { status: string }) => ticket.status === 'pending_user');
  const pausedTimers = (
    await server.app.inject({ method: 'GET', url: `/api/v1/tickets/${paused.id}/sla`, headers: auth })
  ).json().data as Array<{ kind: string; completedAt: string | null; state: string }>;
  expect(pausedTimers.find((timer) => timer.kind === 'resolution' && !timer.completedAt)?.state).toBe(
    'paused',
  );
  const again = await seedDemo(server.platform.database);
  expect(again).toMatchObject({ created: false });
  expect(again.demo).toBeUndefined();
});
