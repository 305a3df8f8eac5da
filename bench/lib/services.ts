import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Cleanup } from './cleanup.js';
import { sleep } from './processes.js';

/** PostgreSQL and Redis for the benchmarks, and the few Switchboard API calls they make. */

export const POSTGRES_ADMIN_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether PostgreSQL and Redis answer; `detail` says what failed otherwise. */
export async function servicesReachable(): Promise<{ ok: boolean; detail: string }> {
  const problems: string[] = [];
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    problems.push(`PostgreSQL ${POSTGRES_ADMIN_URL}: ${error instanceof Error ? error.message : error}`);
  } finally {
    await client.end().catch((error: unknown) => problems.push(`PostgreSQL close: ${String(error)}`));
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    problems.push(`Redis ${REDIS_URL}: ${error instanceof Error ? error.message : error}`);
  } finally {
    redis.disconnect();
  }
  return { ok: problems.length === 0, detail: problems.join('; ') || 'PostgreSQL and Redis reachable' };
}

let servicesCount = 0;

/**
 * A throw-away PostgreSQL database `sb_bench_<pid>_<n>` and Redis prefix `sbbench-<pid>-<n>`,
 * as server environment. On cleanup the database is dropped and the prefix's keys deleted.
 */
export async function createServicesEnv(cleanup: Cleanup): Promise<Record<string, string>> {
  servicesCount += 1;
  const database = `sb_bench_${process.pid}_${servicesCount}`;
  const prefix = `sbbench-${process.pid}-${servicesCount}`;
  await adminQuery(`create database ${database}`);
  cleanup.defer(`drop database ${database}`, () =>
    adminQuery(`drop database if exists ${database} with (force)`),
  );
  cleanup.defer(`delete Redis keys ${prefix}*`, () => deleteRedisKeys(prefix));
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return { DATABASE_URL: url.toString(), REDIS_URL, REDIS_PREFIX: prefix };
}

async function adminQuery(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// --- Switchboard helpers -------------------------------------------------------------------

/** Signs in and returns the access token; throws with the response body otherwise. */
export async function login(baseUrl: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`login as ${email} answered ${response.status}: ${body}`);
  const token = (JSON.parse(body) as { accessToken?: unknown }).accessToken;
  if (typeof token !== 'string') throw new Error(`login answered 200 without accessToken: ${body}`);
  return token;
}

export interface ApiCall {
  token?: string;
  body?: unknown;
  /** The status that counts as success; anything else throws with the response body. */
  expect: number;
}

/**
 * Keep-alive connections for the benchmark's clients. node:http costs the client a fraction
 * of what fetch() does per request; on two shared cores every millisecond the load generator
 * spends is taken from the server under test.
 */
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });

/** One JSON API call; returns the response body as text (parse it only where needed). */
export function callApi(baseUrl: string, method: string, urlPath: string, call: ApiCall): Promise<string> {
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:') throw new Error(`callApi speaks plain HTTP only (got ${baseUrl})`);
  const headers: Record<string, string | number> = {};
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: base.hostname, port: base.port, path: urlPath, method, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (response.statusCode === call.expect) return resolve(text);
          reject(
            new Error(
              `${method} ${urlPath} answered ${response.statusCode} (expected ${call.expect}): ${text.slice(0, 500)}`,
            ),
          );
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** callApi with the body parsed as JSON. */
export async function callApiJson<T>(
  baseUrl: string,
  method: string,
  urlPath: string,
  call: ApiCall,
): Promise<T> {
  return JSON.parse(await callApi(baseUrl, method, urlPath, call)) as T;
}

/**
 * Waits until Switchboard's outbox relay has published every event, so that one run's
 * backlog does not load the next; returns how long that took.
 */
export async function waitForOutbox(client: pg.Client, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const { rows } = await client.query<{ pending: boolean }>(
      'select exists (select 1 from outbox where published_at is null) as pending',
    );
    if (!rows[0]!.pending) return performance.now() - started;
    await sleep(50);
  }
  throw new Error(`the outbox still had unpublished events after ${timeoutMs} ms`);
}

/** Reads one Prometheus sample (no labels) from /metrics, or undefined if absent. */
export async function readMetric(baseUrl: string, name: string): Promise<number | undefined> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const text = await response.text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** A Prometheus histogram's cumulative bucket counts (`le` in the metric's unit, the last +Inf). */
export async function readHistogram(
  baseUrl: string,
  name: string,
): Promise<Array<{ le: number; count: number }>> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  const prefix = `${name}_bucket{le="`;
  return (await response.text())
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => {
      const le = line.slice(prefix.length, line.indexOf('"', prefix.length));
      return { le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: Number(line.split(' ')[1]) };
    });
}

/** A random SEED_ADMIN_PASSWORD (the server wants at least 12 characters). */
export function benchPassword(): string {
  return `bench-${randomBytes(12).toString('base64url')}`;
}

/** Whether the server analyzes changed tables by itself (autovacuum is off on some machines). */
export async function autoanalyzeIsOn(db: pg.Client): Promise<boolean> {
  return (await db.query<{ autovacuum: string }>('show autovacuum')).rows[0]!.autovacuum === 'on';
}

/**
 * With autovacuum off (as on the benchmark machine) a table's statistics would stay those of
 * the run's start while rows arrive, and the planner would pick plans for a near-empty table
 * (walking an organisation's index instead of the primary key, say). Autoanalyze re-reads them
 * every 50 + 10 % of the rows changed — every few seconds under load; this runs `statement`
 * (`analyze tickets`, or `analyze` for every table) every 5 s until stopped.
 */
export function analyzeWhileRunning(db: pg.Client, statement = 'analyze') {
  let running = true;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const done = (async () => {
    while (running) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, 5_000);
      });
      if (running) await db.query(statement);
    }
  })();
  return {
    done,
    stop() {
      running = false;
      clearTimeout(timer);
      wake?.();
    },
  };
}
