import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
import { until } from '../support/wait.js';
import { type Client, connect, refusal } from './support.js';

/**
 * Two API processes (RUN_MODE=api) on their own ports and one worker (the outbox relay),
 * sharing PostgreSQL and Redis, as behind a load balancer: neither API process relays, so
 * every socket event crosses a process boundary.
 */
describe.skipIf(!usingServices)('sockets across two API processes', () => {
  let database: TestDatabase;
  let dataDir: string;
  const processes: ServerProcess[] = [];
  const api: Array<{ baseUrl: string }> = [];
  const clients: Client[] = [];
  const redisPrefix = `sbrealtime-${process.pid}`;

  beforeAll(async () => {
    database = await freshDatabase();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-realtime-'));
    const env = (runMode: string, port: number) => ({
      DATABASE_URL: database.url!,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_PREFIX: redisPrefix,
      DATA_DIR: dataDir,
      RUN_MODE: runMode,
      HOST: '127.0.0.1',
      PORT: String(port),
      // Tokens name their issuer: both processes serve one public URL, as behind a load balancer.
      PUBLIC_URL: 'http://switchboard.test',
      LOG_LEVEL: 'warn',
      ALLOW_SIGNUP: 'true',
      SEED_DEMO: 'false',
      MIGRATE_ON_START: 'false',
      OUTBOX_POLL_INTERVAL_MS: '200',
      REALTIME_MAX_CONNECTIONS_PER_USER: '1',
    });
    for (let n = 0; n < 2; n += 1) {
      const port = await freePort();
      processes.push(spawnServer(env('api', port)));
      api.push({ baseUrl: `http://127.0.0.1:${port}` });
    }
    processes.push(spawnServer(env('worker', await freePort())));
    await Promise.all(
      api.map((server, n) => waitForStatus(`${server.baseUrl}/readyz`, 200, processes[n]!, 60_000)),
    );
  }, 90_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    for (const server of processes) server.child.kill('SIGTERM');
    await Promise.all(processes.map((server) => server.exited));
    await database?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await deleteRedisPrefix(redisPrefix);
  });

  async function user(baseUrl: string, admin: string, role: string) {
    const email = uniqueEmail(role);
    const created = await call<{ id: string }>(baseUrl, 'POST', '/admin/users', admin, {
      email,
      name: `Agent on ${baseUrl.slice(-5)}`,
      role,
      password: PASSWORD,
    });
    const login = await call<{ accessToken: string }>(baseUrl, 'POST', '/auth/login', null, {
      email,
      password: PASSWORD,
    });
    return { id: created.id, token: login.accessToken };
  }

  async function client(baseUrl: string, token: string): Promise<Client> {
    const connected = await connect(baseUrl, { token });
    clients.push(connected);
    return connected;
  }

  it('delivers an update made through one process to a client of the other, and shares presence', async () => {
    const [a, b] = api as [{ baseUrl: string }, { baseUrl: string }];
    const signup = await call<{ accessToken: string }>(a.baseUrl, 'POST', '/orgs', null, {
      name: 'Two API processes',
      adminEmail: uniqueEmail('admin'),
      adminPassword: PASSWORD,
    });
    const onA = await user(a.baseUrl, signup.accessToken, 'agent');
    const onB = await user(b.baseUrl, signup.accessToken, 'agent');
    const alice = await client(a.baseUrl, onA.token);
    const bob = await client(b.baseUrl, onB.token);

    const ticket = await call<{ id: string }>(a.baseUrl, 'POST', '/tickets', onA.token, {
      title: 'Made on A',
    });
    const created = await bob.next('ticket:new', (payload) => payload.ticketId === ticket.id);
    expect(created.payload.ticket).toMatchObject({ id: ticket.id, title: 'Made on A' });
    const reply = await call<{ id: string }>(a.baseUrl, 'POST', `/tickets/${ticket.id}/comments`, onA.token, {
      body: 'Written on A',
    });
    await bob.next('message:new', (payload) => (payload.message as { id: string }).id === reply.id);

    // Presence set on A reaches B's socket (adapter) and B's endpoint (shared store).
    expect(await bob.call('ticket:view', { ticketId: ticket.id })).toMatchObject({ ok: true });
    expect(await alice.call('ticket:view', { ticketId: ticket.id })).toMatchObject({ ok: true });
    expect(await alice.call('ticket:typing:start', { ticketId: ticket.id, kind: 'note' })).toEqual({
      ok: true,
    });
    await until(() =>
      bob.received.some(
        (entry) =>
          entry.event === 'presence:update' &&
          (entry.payload.typers as Array<{ userId: string; kind: string }>).some(
            (typer) => typer.userId === onA.id && typer.kind === 'note',
          ),
      ),
    );
    const presence = await call<{ viewers: Array<{ userId: string }> }>(
      b.baseUrl,
      'GET',
      `/tickets/${ticket.id}/presence`,
      onB.token,
    );
    expect(presence.viewers.map((viewer) => viewer.userId).sort()).toEqual([onA.id, onB.id].sort());

    // The connection cap (1 here) counts the user's sockets on every process.
    const second = await refusal(b.baseUrl, { token: onA.token });
    expect(second.data).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });

    // Neither API process logged an error.
    for (const server of processes) expect(server.output()).not.toMatch(/"level":50/);
  }, 60_000);
});
