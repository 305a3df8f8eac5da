import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { AccessTokens } from './access-tokens.js';
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
