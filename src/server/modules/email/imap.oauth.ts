/** An OAuth 2.0 client that may refresh access tokens for a mailbox account. */
export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  /** Public clients have none. */
  clientSecret: string | null;
  refreshToken: string;
}

const REQUEST_TIMEOUT_MS = 15_000;
/** An access token is renewed this long before it expires (or at half its life, if shorter). */
const RENEW_MARGIN_MS = 60_000;
/** How long a token without `expires_in` is used. */
const UNKNOWN_LIFETIME_MS = 300_000;

/**
 * Access tokens for XOAUTH2, from the RFC 6749 §6 refresh_token grant that Google and
 * Microsoft both follow: `POST tokenUrl` with `grant_type=refresh_token`, `refresh_token`,
 * `client_id` and `client_secret` as form fields (§2.3.1); the answer is JSON with
 * `access_token`, `expires_in` (seconds) and sometimes a new `refresh_token` (rotation,
 * Microsoft), which replaces the old one. Tokens are cached in the process until shortly
 * before they expire.
 */
export class AccessTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  /**
   * A valid access token for the client cached under `key`. `onRotated` stores a refresh
   * token the provider replaced; the old one may stop working.
   */
  async get(key: string, client: OAuthClient, onRotated: (refreshToken: string) => Promise<void>) {
    const cached = this.cache.get(key);
    if (cached && cached.renewAt > Date.now()) return cached.token;
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: client.refreshToken,
      client_id: client.clientId,
      ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
    });
    const response = await fetch(client.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`The token endpoint answered ${response.status} without JSON`, { cause: error });
    }
    if (!response.ok || typeof body.access_token !== 'string') {
      const reason = [body.error, body.error_description]
        .filter((part) => typeof part === 'string')
        .join(': ');
      throw new Error(`The token endpoint answered ${response.status}${reason ? ` (${reason})` : ''}`);
    }
    const lifetimeMs =
      typeof body.expires_in === 'number' && body.expires_in > 0
        ? body.expires_in * 1000
        : UNKNOWN_LIFETIME_MS;
    const renewAt = Date.now() + Math.max(lifetimeMs - RENEW_MARGIN_MS, lifetimeMs / 2);
    this.cache.set(key, { token: body.access_token, renewAt });
    if (typeof body.refresh_token === 'string' && body.refresh_token !== client.refreshToken)
      await onRotated(body.refresh_token);
    return body.access_token;
  }

  /** Forgets a token the server refused, so the next connection asks for a new one. */
  invalidate(key: string): void {
    this.cache.delete(key);
  }
}
