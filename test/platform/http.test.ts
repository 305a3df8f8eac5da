import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { organizations, users } from '../../src/server/modules/identity/identity.table.js';
import {
  PASSWORD,
  type SignedUp,
  signupOrg,
  startTestApp,
  type TestApp,
  uniqueEmail,
} from '../support/harness.js';

let t: TestApp;
let org: SignedUp;

beforeAll(async () => {
  t = await startTestApp({ BODY_LIMIT_BYTES: '4096' });
  org = await signupOrg(t.app);
});
afterAll(async () => t?.close());

const countUsers = () =>
  t.platform.database.transaction(async (tx) => (await tx.select().from(users)).length);

describe('bad input gets a 4xx in the common error shape and writes nothing', () => {
  const expectErrorShape = (body: Record<string, unknown>, statusCode: number, path: string) => {
    expect(body).toMatchObject({ statusCode, path });
    expect(typeof body.error).toBe('string');
    expect(typeof body.message).toBe('string');
    expect(typeof body.code).toBe('string');
    expect(typeof body.requestId).toBe('string');
    expect(Number.isNaN(Date.parse(String(body.timestamp)))).toBe(false);
  };

  it('malformed JSON → 400', async () => {
    const before = await countUsers();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: { ...org.auth, 'content-type': 'application/json' },
      payload: '{"email": "a@b.c", "name": ',
    });
    expect(response.statusCode).toBe(400);
    expectErrorShape(response.json(), 400, '/api/v1/admin/users');
    expect(response.json().code).toBe('BAD_REQUEST');
    expect(await countUsers()).toBe(before);
  });

  it('unknown fields and wrong types → 400 naming the field', async () => {
    const before = await countUsers();
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: org.auth,
      payload: { email: uniqueEmail(), name: 'X', role: 'agent', password: PASSWORD, isAdmin: true },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().code).toBe('VALIDATION_FAILED');
    expect(unknown.json().message).toContain('isAdmin');
    const wrongType = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: org.auth,
      payload: { email: uniqueEmail(), name: 42, role: 'wizard', password: PASSWORD },
    });
    expect(wrongType.statusCode).toBe(400);
    const paths = wrongType.json().details.map((detail: { path: string }) => detail.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'role']));
    const shortPassword = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      headers: org.auth,
      payload: { email: uniqueEmail(), name: 'X', role: 'agent', password: 'short' },
    });
    expect(shortPassword.statusCode).toBe(400);
    expect(shortPassword.json().message).toContain('password');
    expect(await countUsers()).toBe(before);
  });

  it('oversize body → 413', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/teams',
      headers: org.auth,
      payload: { name: 'Big', description: 'x'.repeat(10_000) },
    });
    expect(response.statusCode).toBe(413);
    expectErrorShape(response.json(), 413, '/api/v1/admin/teams');
  });

  it('bad ids in the path and bad query values → 400', async () => {
    const badId = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/users/not-a-uuid',
      headers: org.auth,
    });
    expect(badId.statusCode).toBe(400);
    const badQuery = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/users?limit=100000',
      headers: org.auth,
    });
    expect(badQuery.statusCode).toBe(400);
  });

  it('unknown route → 404 in the same shape; anonymous calls → 401 before validation', async () => {
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(missing.statusCode).toBe(404);
    expectErrorShape(missing.json(), 404, '/api/v1/nothing-here');
    const anonymous = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/users',
      payload: { junk: true },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it('sign-up: missing fields → 400, a taken slug → 409, and neither creates an organisation', async () => {
    const countOrganizations = () =>
      t.platform.database.transaction(async (tx) => (await tx.select().from(organizations)).length);
    const before = await countOrganizations();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      payload: { adminEmail: 'x@y.z' },
    });
    expect(response.statusCode).toBe(400);
    const duplicate = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      payload: { name: 'Dup', slug: 'dup-slug', adminEmail: uniqueEmail(), adminPassword: PASSWORD },
    });
    expect(duplicate.statusCode).toBe(201);
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      payload: { name: 'Dup', slug: 'dup-slug', adminEmail: uniqueEmail(), adminPassword: PASSWORD },
    });
    expect(again.statusCode).toBe(409);
    // Only the one successful sign-up added an organisation.
    expect(await countOrganizations()).toBe(before + 1);
  });
});

describe('sign-up switch', () => {
  it('ALLOW_SIGNUP=false turns organisation sign-up off', async () => {
    const closed = await startTestApp({ ALLOW_SIGNUP: 'false' });
    try {
      const response = await closed.app.inject({
        method: 'POST',
        url: '/api/v1/orgs',
        payload: { name: 'Nope', adminEmail: uniqueEmail(), adminPassword: PASSWORD },
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('SIGNUP_DISABLED');
    } finally {
      await closed.close();
    }
  });
});

describe('operations endpoints', () => {
  it('echoes X-Request-Id, or generates one', async () => {
    const given = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'abc-123' },
    });
    expect(given.headers['x-request-id']).toBe('abc-123');
    const generated = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await t.app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'a b\tc' },
    });
    expect(unsafe.headers['x-request-id']).not.toBe('a b\tc');
  });

  it('healthz and readyz report liveness and readiness with each check', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toMatchObject({
      database: { ok: true },
      migrations: { ok: true },
      queue: { ok: true },
      pubsub: { ok: true },
    });
  });

  it('/metrics exposes per-route latency, job and queue figures in Prometheus format', async () => {
    await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: org.auth });
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toMatch(
      /switchboard_http_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/me"/,
    );
    expect(response.body).toContain('switchboard_jobs_failed_total');
    expect(response.body).toContain('switchboard_outbox_pending');
    expect(response.body).toContain('switchboard_queue_jobs');
  });

  it('serves OpenAPI 3.1 generated from the route schemas, and the interactive docs', async () => {
    const spec = (await t.app.inject({ method: 'GET', url: '/api/openapi.json' })).json();
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/auth/login',
        '/api/v1/me',
        '/api/v1/admin/users',
        '/api/v1/admin/teams/{id}',
        '/api/v1/orgs',
      ]),
    );
    const login = spec.paths['/api/v1/auth/login'].post;
    expect(JSON.stringify(login.requestBody)).toContain('password');
    expect(login.responses['200']).toBeDefined();
    const docs = await t.app.inject({ method: 'GET', url: '/api/docs' });
    expect([200, 302]).toContain(docs.statusCode);
    const page = await t.app.inject({ method: 'GET', url: '/api/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    const script = await t.app.inject({ method: 'GET', url: '/api/docs/static/swagger-ui-bundle.js' });
    expect(script.statusCode).toBe(200);
  });
});
