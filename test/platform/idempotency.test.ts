import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import swagger from '@fastify/swagger';
import { and, count, eq, sql } from 'drizzle-orm';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ticketCategories } from '../../src/server/modules/tickets/tickets.table.js';
import { AppError } from '../../src/server/platform/http/app-error.js';
import { registerErrorHandling } from '../../src/server/platform/http/error-handler.js';
import {
  IDEMPOTENCY_WINDOW_MS,
  installIdempotency,
  pruneIdempotencyKeys,
} from '../../src/server/platform/http/idempotency.js';
import { idempotencyKeys } from '../../src/server/platform/http/idempotency.table.js';
import { serializerCompiler } from '../../src/server/platform/http/serializer.js';
import { createUser, type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';

const ThingBody = z.object({ name: z.string().min(1) }).strict();
const Thing = z.object({ id: z.string(), name: z.string() });

let t: TestApp;
let app: FastifyInstance;
let org: SignedUp;
let agentId: string;
let handlerRuns = 0;
let nextFailure: 'unprocessable' | 'crash' | undefined;

/** Inserts a real row, so "acted once" is checked on stored state, not on a counter alone. */
async function createThing(request: FastifyRequest, reply: FastifyReply) {
  handlerRuns += 1;
  const failure = nextFailure;
  nextFailure = undefined;
  // Long enough for concurrent requests with one key to overlap.
  await sleep(25);
  if (failure === 'unprocessable') throw new AppError('UNPROCESSABLE', 'Things cannot be named that');
  if (failure === 'crash') throw new Error('the disk is on fire');
  const orgId = String(request.headers['x-test-org']);
  const { name } = request.body as z.infer<typeof ThingBody>;
  const [row] = await t.platform.database.withOrg(orgId, (tx) =>
    tx
      .insert(ticketCategories)
      .values({ orgId, name })
      .returning({ id: ticketCategories.id, name: ticketCategories.name }),
  );
  return reply.code(201).send(row);
}

beforeAll(async () => {
  t = await startTestApp();
  org = await signupOrg(t.app);
  agentId = (await createUser(t.app, org, 'agent')).id;

  // The feature needs routes that opt in; none exist yet, so this app carries its own.
  app = Fastify();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);
  installIdempotency(app, {
    database: t.platform.database,
    logger: t.platform.logger,
    scopeOf: (request) => {
      const orgId = request.headers['x-test-org'];
      const userId = request.headers['x-test-user'];
      return typeof orgId === 'string' && typeof userId === 'string' ? { orgId, userId } : undefined;
    },
  });
  await app.register(swagger, { openapi: { openapi: '3.1.0' }, transform: jsonSchemaTransform });
  const schema = { body: ThingBody, response: { 201: Thing } };
  app.post('/things', { config: { idempotent: true }, schema }, createThing);
  app.post('/plain-things', { schema }, createThing);
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await t?.close();
});
beforeEach(() => {
  handlerRuns = 0;
  nextFailure = undefined;
});

const asAdmin = () => ({ 'x-test-org': org.orgId, 'x-test-user': org.adminId });

function post(key: string | undefined, name: string, headers: Record<string, string> = asAdmin()) {
  return app.inject({
    method: 'POST',
    url: '/things',
    headers: { ...headers, ...(key === undefined ? {} : { 'idempotency-key': key }) },
    payload: { name },
  });
}

const countThings = async (name: string) => {
  const [row] = await t.platform.database.transaction((tx) =>
    tx.select({ n: count() }).from(ticketCategories).where(eq(ticketCategories.name, name)),
  );
  return row?.n ?? 0;
};

const ageKey = (key: string, hours: number) =>
  t.platform.database.transaction((tx) =>
    tx
      .update(idempotencyKeys)
      .set({ createdAt: sql`now() - make_interval(hours => ${hours})` })
      .where(eq(idempotencyKeys.key, key)),
  );

describe('Idempotency-Key on routes that opt in', () => {
  it('replays the stored status and body with Idempotent-Replayed, and acts once', async () => {
    const key = randomUUID();
    const name = `thing ${randomUUID()}`;
    const first = await post(key, name);
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const second = await post(key, name);
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(handlerRuns).toBe(1);
    expect(await countThings(name)).toBe(1);
  });

  it('answers 422 for the same key with a different body and writes nothing', async () => {
    const key = randomUUID();
    const name = `thing ${randomUUID()}`;
    expect((await post(key, name)).statusCode).toBe(201);
    const other = `other ${randomUUID()}`;
    const reused = await post(key, other);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ statusCode: 422, code: 'IDEMPOTENCY_KEY_REUSED', path: '/things' });
    expect(await countThings(other)).toBe(0);
    expect(handlerRuns).toBe(1);
  });

  it('runs the handler once for concurrent identical requests; the others replay or get 409', async () => {
    const key = randomUUID();
    const name = `thing ${randomUUID()}`;
    const responses = await Promise.all(Array.from({ length: 5 }, () => post(key, name)));
    expect(handlerRuns).toBe(1);
    expect(await countThings(name)).toBe(1);
    const fresh = responses.filter((r) => r.statusCode === 201 && !r.headers['idempotent-replayed']);
    expect(fresh).toHaveLength(1);
    for (const response of responses) {
      if (response.statusCode === 409) {
        expect(response.headers['retry-after']).toBe('1');
        expect(response.json().code).toBe('IDEMPOTENCY_IN_PROGRESS');
      } else {
        expect(response.statusCode).toBe(201);
        expect(response.json()).toEqual(fresh[0]!.json());
      }
    }
    const retry = await post(key, name);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(fresh[0]!.json());
  });

  it('replays a 4xx thrown by the handler without running it again', async () => {
    const key = randomUUID();
    const name = `thing ${randomUUID()}`;
    nextFailure = 'unprocessable';
    const first = await post(key, name);
    expect(first.statusCode).toBe(422);
    expect(first.json().code).toBe('UNPROCESSABLE');
    const second = await post(key, name);
    expect(second.statusCode).toBe(422);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(handlerRuns).toBe(1);
    expect(await countThings(name)).toBe(0);
  });

  it('frees the key after a 5xx, so the retry runs', async () => {
    const key = randomUUID();
    const name = `thing ${randomUUID()}`;
    nextFailure = 'crash';
    expect((await post(key, name)).statusCode).toBe(500);
    const retry = await post(key, name);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(handlerRuns).toBe(2);
    expect(await countThings(name)).toBe(1);
  });

  it('rejects a malformed key with 400 before running the handler', async () => {
    for (const key of ['', 'k'.repeat(256), 'clé', 'tab\there']) {
      const response = await post(key, `thing ${randomUUID()}`);
      expect(response.statusCode, JSON.stringify(key)).toBe(400);
      expect(response.json()).toMatchObject({ code: 'BAD_REQUEST', path: '/things' });
    }
    expect((await post('k'.repeat(255), `thing ${randomUUID()}`)).statusCode).toBe(201);
    expect(handlerRuns).toBe(1);
  });

  it('claims no key for a body that fails validation', async () => {
    const key = randomUUID();
    const invalid = await app.inject({
      method: 'POST',
      url: '/things',
      headers: { ...asAdmin(), 'idempotency-key': key },
      payload: { name: '' },
    });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().code).toBe('VALIDATION_FAILED');
    expect((await post(key, `thing ${randomUUID()}`)).statusCode).toBe(201);
  });

  it('keeps keys per user: another user with the same key runs the handler', async () => {
    const key = randomUUID();
    expect((await post(key, `thing ${randomUUID()}`)).statusCode).toBe(201);
    // Another body: category names are unique, and for the same user this would be a 422.
    const name = `thing ${randomUUID()}`;
    const agent = await post(key, name, { 'x-test-org': org.orgId, 'x-test-user': agentId });
    expect(agent.statusCode).toBe(201);
    expect(agent.headers['idempotent-replayed']).toBeUndefined();
    expect(handlerRuns).toBe(2);
    expect(await countThings(name)).toBe(1);
  });

  it('treats a key older than 24 hours as new', async () => {
    const key = randomUUID();
    expect((await post(key, `thing ${randomUUID()}`)).statusCode).toBe(201);
    await ageKey(key, 25);
    const name = `thing ${randomUUID()}`;
    const again = await post(key, name);
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(await countThings(name)).toBe(1);
    expect((await post(key, name)).headers['idempotent-replayed']).toBe('true');
  });

  it('runs every time without the header, or on a route that does not opt in', async () => {
    const name = `thing ${randomUUID()}`;
    expect((await post(undefined, name)).statusCode).toBe(201);
    const key = randomUUID();
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const response = await app.inject({
        method: 'POST',
        url: '/plain-things',
        headers: { ...asAdmin(), 'idempotency-key': key },
        payload: { name: `plain ${randomUUID()}` },
      });
      expect(response.statusCode).toBe(201);
    }
    expect(handlerRuns).toBe(3);
  });

  it('documents the header in the OpenAPI description of routes that opt in only', () => {
    const paths = (app.swagger() as { paths: Record<string, { post: { parameters?: unknown[] } }> }).paths;
    expect(paths['/things']?.post.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false }),
      ]),
    );
    expect(paths['/plain-things']?.post.parameters ?? []).toEqual([]);
  });
});

describe('pruneIdempotencyKeys', () => {
  it('deletes keys older than the window and keeps fresh ones', async () => {
    const [oldKey, freshKey] = [randomUUID(), randomUUID()];
    expect((await post(oldKey, `thing ${randomUUID()}`)).statusCode).toBe(201);
    expect((await post(freshKey, `thing ${randomUUID()}`)).statusCode).toBe(201);
    await ageKey(oldKey, 25);
    const removed = await pruneIdempotencyKeys(
      t.platform.database,
      new Date(Date.now() - IDEMPOTENCY_WINDOW_MS),
    );
    expect(removed).toBe(1);
    const remaining = await t.platform.database.transaction((tx) =>
      tx
        .select({ key: idempotencyKeys.key })
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.orgId, org.orgId), eq(idempotencyKeys.userId, org.adminId))),
    );
    const keys = remaining.map((row) => row.key);
    expect(keys).toContain(freshKey);
    expect(keys).not.toContain(oldKey);
  });
});
