import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { newId } from '../../platform/db/columns.js';
import type { Executor } from '../../platform/db/database.js';
import { recordEvent } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/app-error.js';
import type { AccessClaims } from './access-tokens.js';
import type { ApiTokenAuthenticator } from './api-tokens.service.js';
import type { ClientInfo, IdentityContext } from './identity.context.js';
import { SessionReuseDetected } from './identity.events.js';
import { type Actor, ROLE_PERMISSIONS } from './identity.policy.js';
import * as repo from './identity.repository.js';
import type { LoginBody, TokenPair } from './identity.schema.js';
import { verifyPassword } from './passwords.js';
import { API_TOKEN_PREFIX, hashSecret, REFRESH_TOKEN_PREFIX } from './secrets.js';

type Tokens = z.output<typeof TokenPair>;

/**
 * Sign-in, token refresh with rotation, sign-out and request authentication.
 */
export class AuthService {
  constructor(
    private readonly context: IdentityContext,
    private readonly apiTokens: ApiTokenAuthenticator,
  ) {}

  /** Verifies e-mail and password; throttled per e-mail and address. */
  async login(input: z.output<typeof LoginBody>, client: ClientInfo): Promise<Tokens> {
    const { config, store, database } = this.context;
    const throttleKey = `login-failures:${input.email}:${client.ip ?? 'unknown'}`;
    const failures = Number((await store.get(throttleKey)) ?? 0);
    if (failures >= config.loginMaxFailures) {
      const ttl = (await store.ttl(throttleKey)) ?? config.loginWindowSeconds * 1000;
      throw new AppError('RATE_LIMITED', 'Too many failed sign-in attempts; try again later', {
        retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)),
      });
    }
    const candidates = await database.transaction((tx) =>
      repo.findSignInCandidates(tx, input.email, input.org),
    );
    if (candidates.length > 1) {
      throw new AppError(
        'ORG_REQUIRED',
        'This e-mail belongs to several organisations; send "org" (its slug)',
      );
    }
    const candidate = candidates[0];
    const valid = await verifyPassword(candidate?.user.passwordHash, input.password);
    if (!candidate || !valid) {
      await store.increment(throttleKey, config.loginWindowSeconds * 1000);
      throw new AppError('INVALID_CREDENTIALS', 'E-mail or password is incorrect');
    }
    await store.delete(throttleKey);
    await this.context.tokens.prepare();
    const { user } = candidate;
    return database.transaction(async (tx) => {
      await repo.updateUser(tx, user.orgId, user.id, { lastLoginAt: new Date() });
      return this.startSession(tx, user, client);
    });
  }

  /** Starts a refresh-token family for the user and returns the first token pair. */
  async startSession(tx: Executor, user: repo.UserRow, client: ClientInfo): Promise<Tokens> {
    return this.issuePair(tx, user, newId(), client);
  }

  private async issuePair(
    tx: Executor,
    user: repo.UserRow,
    familyId: string,
    client: ClientInfo,
  ): Promise<Tokens> {
    const { config, tokens } = this.context;
    const refreshToken = `${REFRESH_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    await repo.insertRefreshToken(tx, {
      orgId: user.orgId,
      userId: user.id,
      familyId,
      tokenHash: hashSecret(refreshToken),
      expiresAt: new Date(Date.now() + config.refreshTokenTtlSeconds * 1000),
      ip: client.ip ?? null,
      userAgent: client.userAgent?.slice(0, 500) ?? null,
    });
    const accessToken = await tokens.sign({
      userId: user.id,
      orgId: user.orgId,
      role: user.role,
      sessionId: familyId,
    });
    return { accessToken, refreshToken, expiresIn: tokens.expiresIn, tokenType: 'Bearer' };
  }

  /**
   * Exchanges a refresh token for a new pair. A token presented twice means someone else
   * holds a copy: the whole family is revoked, and its access tokens stop working at once.
   */
  async refresh(refreshToken: string, client: ClientInfo): Promise<Tokens> {
    const { database, revocations } = this.context;
    await this.context.tokens.prepare();
    const outcome = await database.transaction(async (tx) => {
      const row = await repo.lockRefreshToken(tx, hashSecret(refreshToken));
      if (!row) return { error: new AppError('TOKEN_INVALID', 'Refresh token is invalid') };
      if (row.revokedAt) return { error: new AppError('TOKEN_REVOKED', 'Refresh token has been revoked') };
      if (row.usedAt) {
        await repo.revokeRefreshFamily(tx, row.familyId);
        await recordEvent(
          tx,
          SessionReuseDetected,
          { orgId: row.orgId, actorId: row.userId, requestId: client.requestId },
          row.userId,
          {
            familyId: row.familyId,
            ip: client.ip ?? null,
          },
        );
        return {
          revokedFamily: row.familyId,
          error: new AppError(
            'TOKEN_REVOKED',
            'Refresh token was already used; the session has been revoked',
          ),
        };
      }
      if (row.expiresAt.getTime() <= Date.now())
        return { error: new AppError('TOKEN_EXPIRED', 'Refresh token has expired') };
      const user = await repo.findUser(tx, row.orgId, row.userId);
      if (!user?.isActive) return { error: new AppError('TOKEN_REVOKED', 'The account is deactivated') };
      await repo.markRefreshTokenUsed(tx, row.id);
      return { tokens: await this.issuePair(tx, user, row.familyId, client) };
    });
    // The revocation commits with the transaction above even though the request fails.
    if (outcome.revokedFamily) await revocations.revokeSession(outcome.revokedFamily);
    if (outcome.error) throw outcome.error;
    return outcome.tokens!;
  }

  /** Ends the caller's session: its refresh tokens and access tokens stop working. */
  async logout(actor: Actor): Promise<void> {
    if (!actor.sessionId) throw new AppError('BAD_REQUEST', 'API tokens are revoked, not signed out');
    const sessionId = actor.sessionId;
    await this.context.database.withOrg(actor.orgId, (tx) => repo.revokeRefreshFamily(tx, sessionId));
    await this.context.revocations.revokeSession(sessionId);
  }

  /** Resolves an `Authorization` header value to the actor; throws 401 errors. */
  async authenticate(authorization: string | undefined, requestId?: string): Promise<Actor> {
    const token = bearerToken(authorization);
    if (token.startsWith(API_TOKEN_PREFIX)) return this.apiTokens.authenticate(token, requestId);
    return this.actorFromClaims(await this.context.tokens.verify(token), requestId);
  }

  /**
   * The same answer as `authenticate` when it needs no I/O (an access token verified
   * before); undefined when the slow path must run. Lets the request hook skip a promise
   * on nearly every request.
   */
  authenticateCached(authorization: string | undefined, requestId?: string): Actor | undefined {
    // The usual form first: a token the cache holds verbatim was verified, so it is well formed.
    if (authorization?.startsWith('Bearer ')) {
      const claims = this.context.tokens.cached(authorization.slice(7));
      if (claims) return this.actorFromClaims(claims, requestId);
    }
    const token = bearerToken(authorization);
    if (token.startsWith(API_TOKEN_PREFIX)) return undefined;
    const claims = this.context.tokens.cached(token);
    return claims ? this.actorFromClaims(claims, requestId) : undefined;
  }

  private actorFromClaims(claims: AccessClaims, requestId: string | undefined): Actor {
    if (this.context.revocations.isRevoked(claims.sid, claims.sub, claims.iatms)) {
      throw new AppError('TOKEN_REVOKED', 'Access token has been revoked');
    }
    return {
      userId: claims.sub,
      orgId: claims.org,
      role: claims.role,
      permissions: ROLE_PERMISSIONS[claims.role],
      sessionId: claims.sid,
      requestId,
    };
  }
}

const WHITESPACE = /\s/;

/** The token of an `Authorization: Bearer <token>` header; 401 when missing or malformed. */
function bearerToken(authorization: string | undefined): string {
  if (!authorization) {
    throw new AppError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <token>');
  }
  // The usual form, `Bearer <token>`, without running the regular expression over the token.
  if (authorization.startsWith('Bearer ')) {
    const token = authorization.slice(7);
    if (token.length > 0 && !WHITESPACE.test(token)) return token;
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
  return match[1]!;
}
