import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freshDatabase,
  PASSWORD,
  type TestDatabase,
  uniqueEmail,
  usingServices,
} from '../support/harness.js';
import {
  callApi as call,
  deleteRedisPrefix,
  freePort,
  type ServerProcess,
  spawnServer,
  waitForStatus,
} from '../support/process.js';

const AGENTS = 5;
const CAPACITY = 10;
const TICKETS = 200;
/** Requests in flight per server process. */
const IN_FLIGHT = 25;

/**
 * Two API processes (RUN_MODE=api, separate pools) create tickets into one team at the same
 * time: the team's routing row lock keeps every agent within capacity across processes.
 */
describe.skipIf(!usingServices)('automatic assignment across two API processes', () => {
  let database: TestDatabase;
  let dataDir: string;
  const servers: Array<ServerProcess & { baseUrl: string }> = [];
  const redisPrefix = `sbassign-${process.pid}`;

  beforeAll(async () => {
    database = await freshDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-assign-'));
    for (let n = 0; n < 2; n += 1) {
      const port = await freePort();
      const server = spawnServer({
        DATABASE_URL: database.url!,
        REDIS_URL: process.env.REDIS_URL!,
        REDIS_PREFIX: redisPrefix,
        DATA_DIR: dataDir,
        RUN_MODE: 'api',
        HOST: '127.0.0.1',
        PORT: String(port),
        // Tokens name their issuer: both processes serve one public URL, as behind a load balancer.
        PUBLIC_URL: 'http://switchboard.test',
        LOG_LEVEL: 'warn',
        ALLOW_SIGNUP: 'true',
        SEED_DEMO: 'false',
        MIGRATE_ON_START: 'false',
      });
      servers.push({ ...server, baseUrl: `http://127.0.0.1:${port}` });
    }
    await Promise.all(
      servers.map((server) => waitForStatus(`${server.baseUrl}/readyz`, 200, server, 60_000)),
    );
  }, 90_000);

  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGTERM');
    await Promise.all(servers.map((server) => server.exited));
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(redisPrefix);
  });

  it(`assigns exactly ${AGENTS * CAPACITY} of ${TICKETS} concurrent tickets and queues the rest`, async () => {
    const [a, b] = servers as [(typeof servers)[number], (typeof servers)[number]];
    const signup = await call<{ accessToken: string; organization: { id: string } }>(
      a.baseUrl,
      'POST',
      '/orgs',
      null,
      {
        name: 'Two Processes',
        adminEmail: uniqueEmail('admin'),
        adminPassword: PASSWORD,
      },
    );
    const token = signup.accessToken;
    const team = await call<{ id: string }>(a.baseUrl, 'POST', '/admin/teams', token, { name: 'Desk' });
    const agents: string[] = [];
    for (let n = 0; n < AGENTS; n += 1) {
      const user = await call<{ id: string }>(a.baseUrl, 'POST', '/admin/users', token, {
        email: uniqueEmail('agent'),
        name: `Agent ${n}`,
        role: 'agent',
        password: PASSWORD,
        teamIds: [team.id],
      });
      await call(b.baseUrl, 'PATCH', `/agents/${user.id}`, token, { capacity: CAPACITY });
      agents.push(user.id);
    }
    await call(b.baseUrl, 'PUT', `/teams/${team.id}/routing`, token, { mode: 'least_open' });

    // Both processes at once, many requests in flight each: creates race for the last slots.
    let next = 0;
    const worker = async (baseUrl: string) => {
      for (let n = next++; n < TICKETS; n = next++)
        await call(baseUrl, 'POST', '/tickets', token, { title: `Concurrent ${n}`, teamId: team.id });
    };
    await Promise.all(
      servers.flatMap((server) => Array.from({ length: IN_FLIGHT }, () => worker(server.baseUrl))),
    );

    const client = new pg.Client({ connectionString: database.url! });
    await client.connect();
    try {
      const { rows } = await client.query<{ assignee_id: string | null; tickets: number }>(
        'select assignee_id, count(*)::int as tickets from tickets where team_id = $1 group by assignee_id',
        [team.id],
      );
      const byAssignee = new Map(rows.map((row) => [row.assignee_id, row.tickets]));
      expect([...byAssignee.values()].reduce((sum, count) => sum + count, 0)).toBe(TICKETS);
      expect(byAssignee.get(null)).toBe(TICKETS - AGENTS * CAPACITY);
      for (const agent of agents) expect(byAssignee.get(agent)).toBe(CAPACITY);
      const created = await client.query<{ events: number }>(
        `select count(*)::int as events from ticket_events where type = 'assigned' and (data->>'automatic')::boolean`,
      );
      expect(created.rows[0]!.events).toBe(AGENTS * CAPACITY);
    } finally {
      await client.end();
    }
    // Neither process logged an error (a deadlock or a failed create would).
    for (const server of servers) expect(server.output()).not.toMatch(/"level":50/);
  }, 120_000);
});
