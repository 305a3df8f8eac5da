import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EventOrigin } from '../../platform/events/events.js';
import { AppError } from '../../platform/http/app-error.js';
import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { AccessTokens } from './access-tokens.js';
import type { Actor } from './identity.policy.js';
import type { Revocations } from './revocations.js';

/** What the identity services need from the platform, built once in app.ts. */
export interface IdentityContext {
  config: Config;
  database: Database;
  tokens: AccessTokens;
  revocations: Revocations;
  store: EphemeralStore;
  pubsub: PubSub;
  logger: Logger;
}

/** Where a request came from, recorded with sessions and events. */
export interface ClientInfo {
  ip?: string | undefined;
  userAgent?: string | undefined;
  requestId?: string | undefined;
}

/** The event origin of a use case run by `actor`. */
export function originOf(actor: Actor): EventOrigin {
  return { orgId: actor.orgId, actorId: actor.userId, requestId: actor.requestId };
}

/**
 * De-duplicates `wanted` ids and checks each was found in the organisation; unknown ids are
 * a 422 naming them (ids of another organisation are unknown too).
 */
export function requireKnownIds(field: string, wanted: string[], found: string[]): string[] {
  const unique = [...new Set(wanted)];
  const missing = unique.filter((id) => !found.includes(id));
  if (missing.length > 0)
    throw new AppError('UNPROCESSABLE', `Unknown ${field}`, { details: { [field]: missing } });
  return unique;
}

/** True when both lists hold the same ids, in any order. */
export function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join();
}
