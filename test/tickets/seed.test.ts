import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedDemo } from '../../src/server/modules/identity/index.js';
import { createTicketsModule, seedDemoTickets } from '../../src/server/modules/tickets/index.js';
import { startTestApp, type TestApp } from '../support/harness.js';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(async () => server?.close());

it('seeds the demo organisation with sample tickets in several states, once', async () => {
  const result = await seedDemo(server.platform.database, { adminPassword: 'demo password 123' });
  expect(result.demo).toBeDefined();
  const count = await seedDemoTickets(createTicketsModule(server.platform), result.demo!);
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
  const again = await seedDemo(server.platform.database);
  expect(again).toMatchObject({ created: false });
  expect(again.demo).toBeUndefined();
});
