import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { inject } from 'vitest';
import { buildApp } from '../../src/server/app.js';
import { type Config, loadConfig } from '../../src/server/config.js';
import { createDomain, type Domain } from '../../src/server/domain.js';
import { defineJobs } from '../../src/server/jobs.js';
import type { IdentityModule } from '../../src/server/modules/identity/index.js';
import { createLogger } from '../../src/server/platform/logger.js';
import { createPlatform, type Platform } from '../../src/server/platform/platform.js';

/** True when this run talks to PostgreSQL + Redis instead of the embedded engines. */
export const usingServices = Boolean(process.env.DATABASE_URL);

export interface TestDatabase {
  /** PostgreSQL URL of a fresh migrated database, or undefined for embedded mode. */
  url: string | undefined;
  snapshot: Blob | undefined;
  drop(): Promise<void>;
}

/** A fresh migrated database: a copy of the template (PostgreSQL) or the snapshot (PGlite). */
export async function freshDatabase(): Promise<TestDatabase> {
  const templateUrl = inject('templateDatabaseUrl');
  if (!templateUrl) {
    const bytes = fs.readFileSync(inject('snapshotPath'));
    return { url: undefined, snapshot: new Blob([bytes]), drop: () => Promise.resolve() };
  }
  const template = new URL(templateUrl).pathname.slice(1);
  const name = `sb_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  const adminUrl = new URL(templateUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  // Copying a template needs it idle; parallel files copy one at a time.
  for (let attempt = 0; ; attempt += 1) {
    try {
      await admin.query(`create database ${name} template ${template}`);
      break;
    } catch (error) {
      if (attempt >= 50 || !/being accessed by other users/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
    }
  }
  await admin.end();
  const url = new URL(templateUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    snapshot: undefined,
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl.toString() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

export interface TestApp {
  app: FastifyInstance;
  domain: Domain;
  platform: Platform;
  identity: IdentityModule;
  config: Config;
  close(): Promise<void>;
}

/**
 * A complete server on a fresh database, with workers and the outbox relay running, as
 * `RUN_MODE=all` runs it. Redis keys get a unique prefix per app.
 */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const database = await freshDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(database.url ? { DATABASE_URL: database.url } : {}),
    ...(usingServices && process.env.REDIS_URL
      ? { REDIS_URL: process.env.REDIS_URL, REDIS_PREFIX: `sbtest-${randomUUID().slice(0, 8)}` }
      : {}),
    ALLOW_SIGNUP: 'true',
    SEED_DEMO: 'false',
    MIGRATE_ON_START: 'false',
    OUTBOX_POLL_INTERVAL_MS: '200',
    DATA_DIR: fs.mkdtempSync('/tmp/switchboard-data-'),
    ...env,
  });
  const logger = createLogger(config.logLevel);
  const platform = await createPlatform(config, logger, {
    embeddedDataDir: 'memory://',
    ...(database.snapshot ? { snapshot: database.snapshot } : {}),
  });
  const domain = createDomain(platform);
  defineJobs(platform, domain);
  const { app, identity } = await buildApp(platform, domain);
  await app.ready();
  return {
    app,
    domain,
    platform,
    identity,
    config,
    async close() {
      await app.close();
      await platform.close();
      await database.drop();
      if (config.redisUrl) await deleteRedisKeys(config.redisUrl, config.redisPrefix);
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

/** Starts workers and the relay (the worker half of RUN_MODE=all). */
export async function startWorkers(platform: Platform): Promise<void> {
  await platform.jobs.start({ concurrency: 2 });
  await platform.relay.start();
}

let counter = 0;
/** Unique, valid e-mail for a test user. */
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}.${counter}.${randomUUID().slice(0, 6)}@example.test`;
}

export const PASSWORD = 'correct horse battery staple';

export interface SignedUp {
  orgId: string;
  adminId: string;
  adminEmail: string;
  token: string;
  refreshToken: string;
  auth: { authorization: string };
}

/** Signs up an organisation through the API and returns its admin's session. */
export async function signupOrg(
  app: FastifyInstance,
  name = `Org ${randomUUID().slice(0, 6)}`,
): Promise<SignedUp> {
  const adminEmail = uniqueEmail('admin');
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs',
    payload: { name, adminEmail, adminPassword: PASSWORD },
  });
  if (response.statusCode !== 201) throw new Error(`signup failed: ${response.statusCode} ${response.body}`);
  const body = response.json();
  return {
    orgId: body.organization.id,
    adminId: body.user.id,
    adminEmail,
    token: body.accessToken,
    refreshToken: body.refreshToken,
    auth: { authorization: `Bearer ${body.accessToken}` },
  };
}

/** Creates a user through the admin API and signs them in. */
export async function createUser(
  app: FastifyInstance,
  admin: SignedUp,
  role: 'requester' | 'agent' | 'team_lead' | 'admin',
  extra: { teamIds?: string[] } = {},
) {
  const email = uniqueEmail(role);
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/admin/users',
    headers: admin.auth,
    payload: { email, name: `Test ${role}`, role, password: PASSWORD, ...extra },
  });
  if (created.statusCode !== 201)
    throw new Error(`create user failed: ${created.statusCode} ${created.body}`);
  const login = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password: PASSWORD },
  });
  if (login.statusCode !== 200) throw new Error(`login failed: ${login.statusCode} ${login.body}`);
  const tokens = login.json();
  return {
    id: created.json().id as string,
    email,
    token: tokens.accessToken as string,
    refreshToken: tokens.refreshToken as string,
    auth: { authorization: `Bearer ${tokens.accessToken}` },
  };
}

/** Removes every key of a test app's Redis prefix (queues, keys), so runs leave nothing behind. */
async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
