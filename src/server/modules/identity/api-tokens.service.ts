import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import type { IdentityContext } from './identity.context.js';
import { type Actor, hasPermission, scopedPermissions } from './identity.policy.js';
import { presentApiToken } from './identity.presenter.js';
import * as repo from './identity.repository.js';
import type { CreateApiTokenBody } from './identity.schema.js';
import { API_TOKEN_PREFIX, hashSecret } from './secrets.js';

const CACHE_TTL_MS = 30_000;
/** Pub/sub channel of revoked API tokens (their hashes), evicted from every process's cache. */
export const API_TOKEN_INVALIDATED_CHANNEL = 'api-token-invalidated';

/**
 * Authenticates personal API tokens. Lookups are cached briefly per process; revocation
 * and deactivation evict the entry everywhere through pub/sub, so the cache never outlives
 * a revocation by more than a message's flight.
 */
export class ApiTokenAuthenticator {
  private readonly cache: SharedCache<Actor>;

  constructor(private readonly context: IdentityContext) {
    this.cache = new SharedCache<Actor>(context.pubsub, API_TOKEN_INVALIDATED_CHANNEL, {
      ttlMs: CACHE_TTL_MS,
      maxEntries: 20_000,
    });
  }

  async start(): Promise<void> {
    await this.cache.start();
  }

  async invalidate(tokenHashes: string[]): Promise<void> {
    await this.cache.invalidate(...tokenHashes);
  }

  async authenticate(token: string, requestId?: string): Promise<Actor> {
    const tokenHash = hashSecret(token);
    const now = Date.now();
    const cached = this.cache.get(tokenHash);
    if (cached) return requestId ? { ...cached, requestId } : cached;
    const found = await this.context.database.transaction((tx) => repo.findApiTokenByHash(tx, tokenHash));
    if (!found) throw new AppError('TOKEN_INVALID', 'API token is invalid');
    const { token: row, user } = found;
    if (row.revokedAt) throw new AppError('TOKEN_REVOKED', 'API token has been revoked');
    if (row.expiresAt && row.expiresAt.getTime() <= now)
      throw new AppError('TOKEN_EXPIRED', 'API token has expired');
    if (!user.isActive) throw new AppError('TOKEN_REVOKED', 'The account is deactivated');
    const actor: Actor = {
      userId: user.id,
      orgId: user.orgId,
      role: user.role,
      permissions: scopedPermissions(user.role, row.scopes),
      apiTokenId: row.id,
    };
    this.cache.set(tokenHash, actor, row.expiresAt?.getTime());
    // Last use is recorded at most once per cache period, off the request's path.
    this.context.database
      .transaction((tx) => repo.touchApiToken(tx, row.id))
      .catch((error: unknown) => this.context.logger.warn({ err: error }, 'could not record API token use'));
    return requestId ? { ...actor, requestId } : actor;
  }
}

/** Personal API tokens: created by their owner, scoped, listed without secrets, revocable. */
export class ApiTokensService {
  constructor(
    private readonly context: IdentityContext,
    private readonly authenticator: ApiTokenAuthenticator,
  ) {}

  async create(actor: Actor, input: z.output<typeof CreateApiTokenBody>) {
    if (!hasPermission(actor, 'api_tokens:manage'))
      throw new AppError('FORBIDDEN', 'You may not create API tokens');
    if (actor.apiTokenId) throw new AppError('FORBIDDEN', 'API tokens cannot create API tokens');
    const outside = input.scopes.filter((scope) => !actor.permissions.has(scope));
    if (outside.length > 0) {
      throw new AppError('FORBIDDEN', 'A token cannot hold permissions its owner lacks', {
        details: { scopes: outside },
      });
    }
    const secret = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.insertApiToken(tx, {
        orgId: actor.orgId,
        userId: actor.userId,
        name: input.name,
        prefix: secret.slice(0, API_TOKEN_PREFIX.length + 6),
        tokenHash: hashSecret(secret),
        scopes: [...new Set(input.scopes)],
        expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86_400_000) : null,
      }),
    );
    return { ...presentApiToken(row), token: secret };
  }

  async list(actor: Actor) {
    const rows = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.listApiTokens(tx, actor.orgId, actor.userId),
    );
    return rows.map(presentApiToken);
  }

  async revoke(actor: Actor, tokenId: string): Promise<void> {
    const row = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.revokeApiToken(tx, actor.orgId, actor.userId, tokenId),
    );
    if (!row) throw notFound('API token');
    await this.authenticator.invalidate([row.tokenHash]);
  }
}
