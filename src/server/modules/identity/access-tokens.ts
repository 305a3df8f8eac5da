import { errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { ROLES } from './identity.policy.js';
import type { KeyRing } from './signing-keys.js';

const AUDIENCE = 'switchboard';

const AccessClaims = z.object({
  sub: z.uuid(),
  org: z.uuid(),
  role: z.enum(ROLES),
  sid: z.uuid(),
  iat: z.number(),
  // Issue time in milliseconds: revocations compare against it (iat has whole seconds).
  iatms: z.number(),
  exp: z.number(),
});
export type AccessClaims = z.infer<typeof AccessClaims>;

/**
 * The cache key of a token: its signature segment. Hashing the whole 500-character token on
 * every request cost more than the rest of authentication; the 86-character signature is as
 * unique, and an entry is used only when its whole token equals the presented one.
 */
function cacheKey(token: string): string {
  return token.slice(token.lastIndexOf('.') + 1);
}

interface Verified {
  token: string;
  claims: AccessClaims;
}

/**
 * Signs and verifies short-lived ES256 access tokens. Verified tokens are cached until they
 * expire: ECDSA verification costs far more than the rest of a typical request, and a
 * token's signature cannot change. Revocation is checked separately on every request.
 */
export class AccessTokens {
  private readonly cache = new Map<string, Verified>();
  private static readonly CACHE_LIMIT = 20_000;

  constructor(
    private readonly keys: () => Promise<KeyRing>,
    private readonly issuer: string,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Loads the signing keys. Call before opening a transaction that signs: on the embedded
   * engine a first key load inside a transaction would wait for that same transaction.
   */
  async prepare(): Promise<void> {
    await this.keys();
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  async sign(subject: { userId: string; orgId: string; role: string; sessionId: string }): Promise<string> {
    const keys = await this.keys();
    return new SignJWT({ org: subject.orgId, role: subject.role, sid: subject.sessionId, iatms: Date.now() })
      .setProtectedHeader({ alg: 'ES256', kid: keys.current.kid, typ: 'at+jwt' })
      .setSubject(subject.userId)
      .setIssuer(this.issuer)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(keys.current.privateKey);
  }

  /** Claims of a token verified before and not yet expired, without any waiting; else undefined. */
  cached(token: string): AccessClaims | undefined {
    const entry = this.cache.get(cacheKey(token));
    if (!entry || entry.token !== token) return undefined;
    return entry.claims.exp * 1000 > Date.now() ? entry.claims : undefined;
  }

  /** Verifies signature, issuer, audience and expiry; throws TOKEN_INVALID / TOKEN_EXPIRED. */
  async verify(token: string): Promise<AccessClaims> {
    const key = cacheKey(token);
    const cached = this.cache.get(key);
    if (cached?.token === token) {
      if (cached.claims.exp * 1000 > Date.now()) return cached.claims;
      this.cache.delete(key);
      throw new AppError('TOKEN_EXPIRED', 'Access token has expired');
    }
    const keys = await this.keys();
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = header.kid ? keys.verification.get(header.kid) : undefined;
          if (!key) throw new AppError('TOKEN_INVALID', 'Access token was signed by an unknown key');
          return key;
        },
        { issuer: this.issuer, audience: AUDIENCE, algorithms: ['ES256'], typ: 'at+jwt' },
      ));
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof errors.JWTExpired) throw new AppError('TOKEN_EXPIRED', 'Access token has expired');
      throw new AppError('TOKEN_INVALID', 'Access token is invalid', { cause: error });
    }
    const claims = AccessClaims.safeParse(payload);
    if (!claims.success) throw new AppError('TOKEN_INVALID', 'Access token has unexpected claims');
    if (this.cache.size >= AccessTokens.CACHE_LIMIT) {
      // Map iteration order is insertion order: drop the oldest entry.
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, { token, claims: claims.data });
    return claims.data;
  }
}
