import { createHash } from 'node:crypto';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  onSendHookHandler,
  preHandlerHookHandler,
} from 'fastify';
import { z } from 'zod';
import type { Database } from '../db/database.js';
import { AppError } from './app-error.js';
import { claimKey, completeKey, deleteKeysCreatedBefore, releaseKey } from './idempotency.repository.js';
import { withRouteHook } from './route-helpers.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours an `Idempotency-Key` header (see installIdempotency). */
    idempotent?: boolean;
  }
}

/** How long a key replays its answer; older keys count as unused and are pruned. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

const HEADER = 'idempotency-key';
const KEY_FORMAT = /^[\x20-\x7e]{1,255}$/;

/** Whose keys a request uses: keys are unique per user within an organisation. */
export interface IdempotencyScope {
  orgId: string;
  userId: string;
}

export interface IdempotencyOptions {
  database: Database;
  /** The caller's scope, or undefined for an anonymous request (its key is ignored). */
  scopeOf: (request: FastifyRequest) => IdempotencyScope | undefined;
  logger: Pick<FastifyBaseLogger, 'warn' | 'error'>;
}

interface HeldClaim {
  orgId: string;
  id: string;
}

// Documentation only: the format is checked in the preHandler so that a bad key gets
// BAD_REQUEST, and the object stays loose because Fastify replaces request.headers with
// the parsed value.
const IdempotencyKeyHeaders = z.looseObject({
  [HEADER]: z.string().optional().meta({
    description:
      'Up to 255 printable ASCII characters. Within 24 hours a retry with the same key and body replays the first answer (with `Idempotent-Replayed: true`) instead of acting twice; another body with the same key is 422, and a retry while the first request runs is 409.',
  }),
});

/**
 * Makes every route with `config: { idempotent: true }` honour an `Idempotency-Key`
 * header: the first request claims the key before its handler runs, and its status and
 * JSON body are stored (2xx and deterministic 4xx) so that a retry replays them instead of
 * acting twice. Install it before any route is added, after authentication: the hooks are
 * attached to each route as it is defined, and the claim needs the caller's scope.
 */
export function installIdempotency(app: FastifyInstance, options: IdempotencyOptions): void {
  const claims = new WeakMap<FastifyRequest, HeldClaim>();
  app.addHook('onRoute', (route) => {
    if (!route.config?.idempotent) return;
    route.schema = withIdempotencyKeyHeader(route.schema);
    // Last: the route's own checks run first, so a request they reject never holds a key.
    route.preHandler = withRouteHook(route.preHandler, claimOrReplay(options, claims, route.url), 'last');
    route.onSend = withRouteHook(route.onSend, settleClaim(options, claims), 'last');
  });
}

/** Deletes keys created before `olderThan` in every organisation (the prune job). */
export function pruneIdempotencyKeys(database: Database, olderThan: Date): Promise<number> {
  return database.transaction((tx) => deleteKeysCreatedBefore(tx, olderThan));
}

function claimOrReplay(
  options: IdempotencyOptions,
  claims: WeakMap<FastifyRequest, HeldClaim>,
  routeUrl: string,
): preHandlerHookHandler {
  return async function claimOrReplayHook(request, reply) {
    const offered = request.headers[HEADER];
    if (offered === undefined) return;
    if (typeof offered !== 'string' || !KEY_FORMAT.test(offered)) {
      throw new AppError('BAD_REQUEST', 'Idempotency-Key must be 1 to 255 printable ASCII characters');
    }
    const scope = options.scopeOf(request);
    if (!scope) return;
    const requestHash = fingerprint(request, routeUrl);
    const staleBefore = new Date(Date.now() - IDEMPOTENCY_WINDOW_MS);
    const outcome = await options.database.withOrg(scope.orgId, (tx) =>
      claimKey(
        tx,
        {
          orgId: scope.orgId,
          userId: scope.userId,
          key: offered,
          route: `${request.method} ${routeUrl}`,
          requestHash,
        },
        staleBefore,
      ),
    );
    if ('claimedId' in outcome) {
      claims.set(request, { orgId: scope.orgId, id: outcome.claimedId });
      return;
    }
    const { existing } = outcome;
    if (existing && existing.requestHash !== requestHash) {
      throw new AppError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different request; send a new key for a new request',
      );
    }
    // No row means the holder released the key a moment ago (its handler failed): the
    // client retries as it would for one still in flight.
    if (!existing || existing.statusCode === null) {
      throw new AppError(
        'IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still in progress',
        {
          retryAfterSeconds: 1,
        },
      );
    }
    return replay(reply, existing.statusCode, existing.response);
  };
}

function replay(reply: FastifyReply, statusCode: number, response: unknown): FastifyReply {
  reply.code(statusCode).header('idempotent-replayed', 'true');
  if (response === null) return reply.send();
  // The stored body may be an error, which the route's success serialiser cannot write.
  return reply.type('application/json; charset=utf-8').serializer(JSON.stringify).send(response);
}

function settleClaim(
  options: IdempotencyOptions,
  claims: WeakMap<FastifyRequest, HeldClaim>,
): onSendHookHandler {
  const { database, logger } = options;
  return async function settleClaimHook(request, reply, payload) {
    const claim = claims.get(request);
    if (!claim) return payload;
    claims.delete(request);
    const replayable = isReplayable(reply.statusCode);
    const response = replayable ? parseJsonPayload(payload) : undefined;
    if (response !== undefined) {
      try {
        await database.withOrg(claim.orgId, (tx) => completeKey(tx, claim.id, reply.statusCode, response));
        return payload;
      } catch (error) {
        // A claim left in flight would answer 409 for a day; released, the retry acts
        // again, which is what a client sending no key would get.
        logger.error({ err: error, requestId: request.id }, 'could not store an idempotent response');
      }
    } else if (replayable) {
      logger.warn(
        { requestId: request.id },
        'idempotent route answered a body that is not JSON; key released',
      );
    }
    try {
      await database.withOrg(claim.orgId, (tx) => releaseKey(tx, claim.id));
    } catch (error) {
      logger.error({ err: error, requestId: request.id }, 'could not release an idempotency key');
    }
    return payload;
  };
}

/**
 * 2xx and 4xx answers are what a retry would get again, so they replay; 409 and 429 say
 * "not now", and 5xx says the request may not have happened, so those free the key.
 */
function isReplayable(statusCode: number): boolean {
  if (statusCode >= 200 && statusCode < 300) return true;
  return statusCode >= 400 && statusCode < 500 && statusCode !== 409 && statusCode !== 429;
}

/** The body as JSON (null when empty), or undefined when it cannot be stored as jsonb. */
function parseJsonPayload(payload: unknown): unknown {
  if (payload === undefined || payload === null || payload === '') return null;
  const text =
    typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Method, route pattern, concrete URL and the validated body with its keys sorted. */
function fingerprint(request: FastifyRequest, routeUrl: string): string {
  return createHash('sha256')
    .update(`${request.method}\n${routeUrl}\n${request.url}\n`)
    .update(canonicalJson(request.body))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, current: unknown) => {
      if (current === null || typeof current !== 'object' || Array.isArray(current)) return current;
      return Object.fromEntries(
        Object.entries(current).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)),
      );
    }) ?? ''
  );
}

function withIdempotencyKeyHeader(schema: FastifySchema | undefined): FastifySchema {
  const headers = schema?.headers;
  if (headers === undefined) return { ...schema, headers: IdempotencyKeyHeaders };
  if (headers instanceof z.ZodObject)
    return { ...schema, headers: headers.extend(IdempotencyKeyHeaders.shape) };
  // A JSON-schema header list is not ours to rewrite; docs/architecture.md describes the header.
  return schema ?? {};
}
