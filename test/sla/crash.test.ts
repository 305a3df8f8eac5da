import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp, usingServices } from '../support/harness.js';
import { freePort, type ServerProcess, spawnServer } from '../support/process.js';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

/**
 * Real worker processes on PostgreSQL + Redis (BullMQ): timers come due while a worker is
 * killed with SIGKILL mid-burst, it restarts, and two workers run at once. Every breach and
 * every reassignment must still happen exactly once.
 */
let server: TestApp;
let world: TicketWorld;
let client: pg.Client;
const workers: ServerProcess[] = [];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-sla-crash-'));
const api = apiClient(() => server.app);

beforeAll(async () => {
  if (!usingServices) return;
  server = await startTestApp();
  world = await ticketWorld(server.app);
  client = new pg.Client({ connectionString: server.config.databaseUrl });
  await client.connect();
});
afterAll(async () => {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await client?.end();
  await server?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function startWorker(): Promise<ServerProcess> {
  const worker = spawnServer({
    RUN_MODE: 'worker',
    DATABASE_URL: server.config.databaseUrl!,
    REDIS_URL: server.config.redisUrl!,
    REDIS_PREFIX: server.config.redisPrefix,
    PORT: String(await freePort()),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
  });
  workers.push(worker);
  return worker;
}

const count = async (text: string, values: unknown[] = []) =>
  (await client.query<{ n: number }>(text, values)).rows[0]!.n;

describe.skipIf(!usingServices)('SLA firing across crashes', () => {
  it('fires every breach and reassigns every ticket exactly once through SIGKILL, restart and two workers', async () => {
    const ok = (response: { statusCode: number; body: string }) =>
      expect(response.statusCode, response.body).toBeLessThan(300);
    ok(
      await api('POST', '/sla/policies', world.admin, {
        name: 'One minute',
        conditions: {},
        businessHours: 'always',
        targets: { high: { firstResponse: 1 } },
      }),
    );
    ok(
      await api('PUT', '/sla/escalation-policy', world.admin, {
        levels: [{ trigger: 'breach', reassignToSenior: true, notify: ['assignee', 'previous_assignee'] }],
        managerIds: [],
        seniorRole: null,
      }),
    );
    ok(await api('PATCH', `/agents/${world.agent2.id}`, world.admin, { isSenior: true }));

    // Two workers from the start; their delayed jobs and sweeps race for every step.
    await Promise.all([startWorker(), startWorker()]);
    // Three batches, 3 s apart: breaches come due over ~7 s, a minute from now.
    const ticketIds: string[] = [];
    const started = Date.now();
    for (let batch = 0; batch < 3; batch += 1) {
      if (batch > 0)
        await new Promise((resolve) => setTimeout(resolve, started + batch * 3_000 - Date.now()));
      const created = await Promise.all(
        Array.from({ length: 10 }, () =>
          openTicket(server.app, world.agent, {
            priority: 'high',
            teamId: world.teamId,
            assigneeId: world.agent.id,
            requesterId: world.requester.id,
          }),
        ),
      );
      ticketIds.push(...created.map((ticket) => ticket.id));
    }
    const firstDue = started + 60_000;
    const breached = () =>
      count(
        `select count(*)::int as n from sla_timer_events where kind = 'breached' and ticket_id = any($1)`,
        [ticketIds],
      );

    // Kill both workers while the first batch is being fired.
    await new Promise((resolve) => setTimeout(resolve, firstDue + 500 - Date.now()));
    for (const worker of workers) worker.child.kill('SIGKILL');
    await Promise.all(workers.map((worker) => worker.exited));
    const firedBeforeCrash = await breached();
    expect(firedBeforeCrash).toBeGreaterThan(0);
    expect(firedBeforeCrash).toBeLessThan(30);

    // Nothing fires while no worker runs; then one restarts, and a second joins it.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await startWorker();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await startWorker();

    await until(async () => (await breached()) === 30, 60_000);
    await until(
      async () =>
        (await count(`select count(*)::int as n from tickets where id = any($1) and assignee_id = $2`, [
          ticketIds,
          world.agent2.id,
        ])) === 30,
      20_000,
    );
    // Give any duplicate a chance to appear before counting.
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    const perTicket = await client.query<{
      ticket_id: string;
      breaches: number;
      escalations: number;
      reassigned: number;
      timeline: number;
    }>(
      `select t.id as ticket_id,
              (select count(*)::int from sla_timer_events e where e.ticket_id = t.id and e.kind = 'breached') as breaches,
              (select count(*)::int from sla_timer_events e where e.ticket_id = t.id and e.kind = 'escalated') as escalations,
              (select count(*)::int from ticket_events te where te.ticket_id = t.id and te.type = 'assigned'
                 and (te.data->>'automatic')::boolean) as reassigned,
              (select count(*)::int from ticket_events te where te.ticket_id = t.id and te.type = 'sla_breached') as timeline
         from tickets t where t.id = any($1)`,
      [ticketIds],
    );
    expect(perTicket.rows).toHaveLength(30);
    for (const row of perTicket.rows)
      expect(row, row.ticket_id).toMatchObject({ breaches: 1, escalations: 1, reassigned: 1, timeline: 1 });
    expect(
      await count(
        `select count(*)::int as n from sla_timers where ticket_id = any($1) and state = 'breached'`,
        [ticketIds],
      ),
    ).toBe(30);
  }, 180_000);
});
