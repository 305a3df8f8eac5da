import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, usingServices } from '../support/harness.js';
import { deleteRedisPrefix, freePort, spawnServer, waitForStatus } from '../support/process.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-proc-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const ADMIN_PASSWORD = 'demo-password-for-tests';

describe('the server process', () => {
  it('exits at start naming the bad variable', async () => {
    const server = spawnServer({ PORT: 'not-a-port', REDIS_URL: 'http://wrong' });
    expect(await server.exited).toBe(78);
    expect(server.output()).toContain('PORT');
    expect(server.output()).toContain('REDIS_URL');
  });

  it.runIf(!usingServices)(
    'embedded: starts with demo data, prints the admin login once, serves it, and exits cleanly on SIGTERM',
    async () => {
      const dataDir = tempDir();
      const port = await freePort();
      const env = { PORT: String(port), DATA_DIR: dataDir, SEED_ADMIN_EMAIL: 'boss@acme.example' };
      const first = spawnServer(env);
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, first, 60_000);
      const banner = /password: (\S+)/.exec(first.output());
      expect(first.output()).toContain('boss@acme.example');
      expect(banner).not.toBeNull();
      const login = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boss@acme.example', password: banner![1] }),
      });
      expect(login.status).toBe(200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const me = await fetch(`http://127.0.0.1:${port}/api/v1/me`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(((await me.json()) as { organization: { slug: string } }).organization.slug).toBe('acme');
      // The access log line is written after the response: wait for it.
      const findLogLine = () =>
        first
          .output()
          .split('\n')
          .find((line) => line.includes('"route":"/api/v1/me"'));
      for (let i = 0; i < 100 && !findLogLine(); i += 1)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(JSON.parse(findLogLine()!)).toMatchObject({ requestId: expect.any(String), statusCode: 200 });

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      expect(first.output()).toContain('shutdown complete');

      // Second start on the same data: no new demo data, no password printed again.
      const second = spawnServer(env);
      await waitForStatus(`http://127.0.0.1:${port}/readyz`, 200, second, 60_000);
      expect(second.output()).not.toContain('password:');
      const again = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'boss@acme.example', password: banner![1] }),
      });
      expect(again.status).toBe(200);
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    },
    120_000,
  );

  it.runIf(usingServices)(
    'PostgreSQL + Redis: RUN_MODE=migrate applies migrations; api and worker run as separate processes',
    async () => {
      const database = await freshDatabaseWithoutMigrations();
      const redisPrefix = `sbproc-${process.pid}`;
      const base = {
        DATABASE_URL: database.url,
        REDIS_URL: process.env.REDIS_URL!,
        REDIS_PREFIX: redisPrefix,
        DATA_DIR: tempDir(),
      };
      try {
        const apiPort = await freePort();
        const api = spawnServer({ ...base, RUN_MODE: 'api', PORT: String(apiPort) });
        // Not ready until migrations are applied.
        await waitForStatus(`http://127.0.0.1:${apiPort}/readyz`, 503, api, 60_000);

        const migrate = spawnServer({ ...base, RUN_MODE: 'migrate' });
        expect(await migrate.exited).toBe(0);
        expect(migrate.output()).toContain('migrations applied');
        await waitForStatus(`http://127.0.0.1:${apiPort}/readyz`, 200, api, 30_000);

        const worker = spawnServer({ ...base, RUN_MODE: 'worker', PORT: String(await freePort()) });
        // The seed script runs on PostgreSQL too and the API process serves its users.
        const { spawnSync } = await import('node:child_process');
        const seed = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/seed-demo.ts'], {
          cwd: path.resolve(import.meta.dirname, '../..'),
          env: { ...process.env, ...base, SEED_ADMIN_PASSWORD: ADMIN_PASSWORD },
          encoding: 'utf8',
        });
        expect(seed.status, seed.stderr).toBe(0);
        const login = await fetch(`http://127.0.0.1:${apiPort}/api/v1/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'admin@acme.example', password: ADMIN_PASSWORD }),
        });
        expect(login.status).toBe(200);

        // The worker relays what the API process wrote (the seed's events) from the outbox.
        const pg = await import('pg');
        const client = new pg.default.Client({ connectionString: database.url });
        await client.connect();
        const deadline = Date.now() + 20_000;
        let pending = -1;
        while (Date.now() < deadline) {
          pending = (await client.query('select count(*)::int as n from outbox where published_at is null'))
            .rows[0].n;
          if (pending === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await client.end();
        expect(pending).toBe(0);
        expect(worker.output()).toContain('Switchboard worker started');

        for (const server of [api, worker]) server.child.kill('SIGTERM');
        expect(await api.exited).toBe(0);
        expect(await worker.exited).toBe(0);
      } finally {
        await database.drop();
        await deleteRedisPrefix(redisPrefix);
      }
    },
    120_000,
  );
});

/** An empty database (no migrations), to watch RUN_MODE=migrate do its work. */
async function freshDatabaseWithoutMigrations() {
  const template = await freshDatabase();
  const pg = await import('pg');
  const url = new URL(template.url!);
  const name = `${url.pathname.slice(1)}_empty`;
  url.pathname = '/postgres';
  const admin = new pg.default.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  await template.drop();
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.default.Client({
        connectionString: template.url!.replace(/\/[^/]+$/, '/postgres'),
      });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
