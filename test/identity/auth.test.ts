import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createUser,
  PASSWORD,
  type SignedUp,
  signupOrg,
  startTestApp,
  type TestApp,
} from '../support/harness.js';

let t: TestApp;
let org: SignedUp;

beforeAll(async () => {
  t = await startTestApp();
  org = await signupOrg(t.app);
});
afterAll(async () => t?.close());

const login = (email: string, password: string, extra: Record<string, unknown> = {}) =>
  t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password, ...extra } });

describe('sign-in and tokens', () => {
  it('signs in with e-mail and password and answers a token pair', async () => {
    const response = await login(org.adminEmail.toUpperCase(), PASSWORD);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    expect(body.refreshToken).toMatch(/^sb_rt_/);
    expect(decodeProtectedHeader(body.accessToken)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(decodeJwt(body.accessToken)).toMatchObject({ sub: org.adminId, org: org.orgId, role: 'admin' });
  });

  it('refuses a wrong password and an unknown e-mail alike, in the common error shape', async () => {
    const wrong = await login(org.adminEmail, 'not the password at all');
    const unknown = await login('nobody@example.test', PASSWORD);
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({
        statusCode: 401,
        error: 'Unauthorized',
        code: 'INVALID_CREDENTIALS',
        message: 'E-mail or password is incorrect',
        path: '/api/v1/auth/login',
      });
      expect(response.json().requestId).toBe(response.headers['x-request-id']);
    }
  });

  it('publishes the verification key at /.well-known/jwks.json and tokens verify against it', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(response.statusCode).toBe(200);
    const { keys } = response.json();
    const kid = decodeProtectedHeader(org.token).kid;
    const key = keys.find((entry: { kid: string }) => entry.kid === kid);
    expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(key.d).toBeUndefined();
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const verified = await jwtVerify(org.token, createLocalJWKSet({ keys }), { audience: 'switchboard' });
    expect(verified.payload.sub).toBe(org.adminId);
  });

  it('GET /me returns the user, organisation, role and permissions', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: org.auth });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.user).toMatchObject({ id: org.adminId, email: org.adminEmail });
    expect(body.organization.id).toBe(org.orgId);
    expect(body.role).toBe('admin');
    expect(body.permissions).toEqual(
      expect.arrayContaining(['admin:users', 'ticket:view_all', 'kb:publish']),
    );
    expect(body.authenticatedWith).toBe('session');
  });

  it('rejects missing, malformed, tampered and foreign-key tokens with 401', async () => {
    const [header, payload, signature] = org.token.split('.');
    const forgedPayload = Buffer.from(
      JSON.stringify({ ...decodeJwt(org.token), role: 'admin', sub: '00000000-0000-7000-8000-000000000000' }),
    ).toString('base64url');
    // The genuine token is verified and cached first: the forged ones share its signature.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: org.auth })).statusCode).toBe(
      200,
    );
    const cases: Array<[Record<string, string>, string]> = [
      [{}, 'UNAUTHENTICATED'],
      [{ authorization: 'Basic abc' }, 'UNAUTHENTICATED'],
      [{ authorization: `Bearer ${org.token} ${signature}` }, 'UNAUTHENTICATED'],
      [{ authorization: 'Bearer not-a-jwt' }, 'TOKEN_INVALID'],
      [{ authorization: `Bearer ${header}.${forgedPayload}.${signature}` }, 'TOKEN_INVALID'],
      [{ authorization: `Bearer ${header}.${payload}.${signature!.slice(0, -4)}AAAA` }, 'TOKEN_INVALID'],
      [{ authorization: 'Bearer sb_pat_doesnotexist' }, 'TOKEN_INVALID'],
    ];
    for (const [headers, code] of cases) {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers });
      expect(response.statusCode, JSON.stringify(headers)).toBe(401);
      expect(response.json().code).toBe(code);
    }
  });

  it('rejects an expired access token', async () => {
    const { SignJWT } = await import('jose');
    const key = (await t.identity.keys()).current;
    const expired = await new SignJWT({
      org: org.orgId,
      role: 'admin',
      sid: org.orgId,
      iatms: Date.now() - 7_200_000,
    })
      .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
      .setSubject(org.adminId)
      .setIssuer(t.config.publicUrl)
      .setAudience('switchboard')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(key.privateKey);
    const response = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${expired}` },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('TOKEN_EXPIRED');
  });

  it('rotates refresh tokens, and reuse of a rotated token revokes the whole family', async () => {
    const agent = await createUser(t.app, org, 'agent');
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: agent.refreshToken },
    });
    expect(first.statusCode).toBe(200);
    const second = first.json();
    expect(second.refreshToken).not.toBe(agent.refreshToken);

    const reuse = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: agent.refreshToken },
    });
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().code).toBe('TOKEN_REVOKED');

    // The thief's reuse also kills the legitimate holder's newer tokens.
    const newer = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: second.refreshToken },
    });
    expect(newer.statusCode).toBe(401);
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${second.accessToken}` },
    });
    expect(me.statusCode).toBe(401);
    expect(me.json().code).toBe('TOKEN_REVOKED');
  });

  it('signs out: the access token and the refresh token stop working', async () => {
    const agent = await createUser(t.app, org, 'agent');
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: agent.auth });
    expect(out.statusCode).toBe(204);
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: agent.auth });
    expect(me.statusCode).toBe(401);
    const refresh = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: agent.refreshToken },
    });
    expect(refresh.statusCode).toBe(401);
  });

  it('throttles repeated failed sign-ins with 429 and Retry-After', async () => {
    const small = await startTestApp({ LOGIN_MAX_FAILURES: '3' });
    try {
      const admin = await signupOrg(small.app);
      const attempt = () =>
        small.app.inject({
          method: 'POST',
          url: '/api/v1/auth/login',
          payload: { email: admin.adminEmail, password: 'wrong password!' },
        });
      for (let i = 0; i < 3; i += 1) expect((await attempt()).statusCode).toBe(401);
      const blocked = await attempt();
      expect(blocked.statusCode).toBe(429);
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Even the right password waits out the window.
      const right = await small.app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: admin.adminEmail, password: PASSWORD },
      });
      expect(right.statusCode).toBe(429);
    } finally {
      await small.close();
    }
  });
});
