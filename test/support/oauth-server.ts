import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for the OAuth 2.0 authorization server of a mail provider (Google, Microsoft),
 * which cannot be reached from the tests. It follows the published contracts:
 *
 * - Token endpoint, RFC 6749 §6 (refresh_token grant) with client authentication in the body
 *   (§2.3.1): `POST /token`, `application/x-www-form-urlencoded`, fields `grant_type=refresh_token`,
 *   `refresh_token`, `client_id`, `client_secret`. Success: 200 JSON
 *   `{ access_token, token_type: "Bearer", expires_in }`, plus a new `refresh_token` when
 *   rotation is on (as Microsoft does; the old one then stops working). Errors (§5.2): 400
 *   `{ error: "invalid_grant" }` for an unknown refresh token, 401 `{ error: "invalid_client" }`
 *   for a wrong client, 400 `{ error: "unsupported_grant_type" }` otherwise.
 * - Introspection endpoint, RFC 7662 §2: `POST /introspect` with the form field `token`;
 *   200 JSON `{ active: true, username, scope, exp, token_type }` for a live access token,
 *   `{ active: false }` for anything else. Dovecot's oauth2 passdb calls it.
 */
export interface OAuthServer {
  url: string;
  tokenUrl: string;
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  /** Issues a refresh token that yields access tokens for `username`. */
  refreshTokenFor(username: string): string;
  /** How many access tokens the token endpoint issued. */
  issued(): number;
  /** Makes every access token issued so far invalid (as a revocation or expiry would). */
  expireAccessTokens(): void;
  rotate: boolean;
  close(): Promise<void>;
}

export async function startOAuthServer(): Promise<OAuthServer> {
  const clientId = 'switchboard-test-client';
  const clientSecret = randomBytes(12).toString('hex');
  const refreshTokens = new Map<string, string>();
  const accessTokens = new Map<string, { username: string; exp: number }>();
  let issued = 0;
  const json = (response: http.ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };
  const state = { rotate: false };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (request.method === 'POST' && request.url === '/token') {
        if (form.get('grant_type') !== 'refresh_token')
          return json(response, 400, { error: 'unsupported_grant_type' });
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret)
          return json(response, 401, { error: 'invalid_client' });
        const refreshToken = form.get('refresh_token') ?? '';
        const username = refreshTokens.get(refreshToken);
        if (!username)
          return json(response, 400, { error: 'invalid_grant', error_description: 'unknown token' });
        const accessToken = randomBytes(24).toString('base64url');
        accessTokens.set(accessToken, { username, exp: Math.floor(Date.now() / 1000) + 3600 });
        issued += 1;
        const body: Record<string, unknown> = {
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: 3600,
        };
        if (state.rotate) {
          refreshTokens.delete(refreshToken);
          const next = randomBytes(24).toString('base64url');
          refreshTokens.set(next, username);
          body.refresh_token = next;
        }
        return json(response, 200, body);
      }
      if (request.method === 'POST' && request.url === '/introspect') {
        const token = accessTokens.get(form.get('token') ?? '');
        if (!token || token.exp * 1000 < Date.now()) return json(response, 200, { active: false });
        return json(response, 200, {
          active: true,
          username: token.username,
          scope: 'https://mail.google.com/',
          exp: token.exp,
          token_type: 'Bearer',
        });
      }
      json(response, 404, { error: 'not_found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    tokenUrl: `${url}/token`,
    introspectionUrl: `${url}/introspect`,
    clientId,
    clientSecret,
    refreshTokenFor(username) {
      const token = randomBytes(24).toString('base64url');
      refreshTokens.set(token, username);
      return token;
    },
    issued: () => issued,
    expireAccessTokens() {
      accessTokens.clear();
    },
    get rotate() {
      return state.rotate;
    },
    set rotate(value: boolean) {
      state.rotate = value;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
