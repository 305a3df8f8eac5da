import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';
import { AccessTokens } from './access-tokens.js';
import { adminRoutes } from './admin.routes.js';
import {
  API_TOKEN_INVALIDATED_CHANNEL,
  ApiTokenAuthenticator,
  ApiTokensService,
} from './api-tokens.service.js';
import { authRoutes } from './auth.routes.js';
import { AuthService } from './auth.service.js';
import type { IdentityContext } from './identity.context.js';
import { installAuthentication } from './identity.http.js';
import { meRoutes } from './me.routes.js';
import { createProfileCache, MeService } from './me.service.js';
import { OrganizationsService } from './organizations.service.js';
import { REVOCATIONS_CHANNEL, Revocations } from './revocations.js';
import { type KeyRing, lazyKeyRing } from './signing-keys.js';
import { TeamsService } from './teams.service.js';
import { UsersService } from './users.service.js';

export { type DirectoryTeam, type DirectoryUser, directory } from './directory.js';
export { actorOf, clientOf } from './identity.http.js';
export {
  type Actor,
  hasPermission,
  PERMISSIONS,
  type Permission,
  ROLE_PERMISSIONS,
  ROLES,
  type Role,
} from './identity.policy.js';
export type { KnownUser } from './identity.repository.js';
/** Identity tables, for foreign keys only: other modules query identity through its services. */
export * as identityTables from './identity.table.js';
export { type DemoDirectory, describeSeed, type SeedResult, seedDemo } from './seed.js';
export { ensureRequester, senderStatement } from './users.service.js';

/** The identity module: accounts, teams, sessions, tokens and the authentication hook. */
export interface IdentityModule {
  auth: AuthService;
  organizations: OrganizationsService;
  users: UsersService;
  teams: TeamsService;
  apiTokens: ApiTokensService;
  me: MeService;
  /** The ES256 key ring, loaded from the database on first use. */
  keys: () => Promise<KeyRing>;
  /** Authenticates every non-public route defined after this call; call it before any route. */
  installAuthentication(app: FastifyInstance): void;
  /**
   * Calls `listener` whenever a revocation (sign-out, deactivation, role change, revoked API
   * token) reaches this process, after `auth` applies it: long-lived connections use it to
   * re-authenticate. Resolves to the function that stops listening.
   */
  onRevocation(listener: () => void): Promise<() => Promise<void>>;
  /** Adds the JWKS document and the module's routes. */
  register(app: FastifyInstance): Promise<void>;
  stop(): Promise<void>;
}

export async function createIdentityModule(platform: {
  config: Config;
  database: Database;
  store: EphemeralStore;
  pubsub: PubSub;
  logger: Logger;
}): Promise<IdentityModule> {
  const { config } = platform;
  const keys = lazyKeyRing(platform.database, config.jwtPrivateKey);
  const tokens = new AccessTokens(keys, config.publicUrl, config.accessTokenTtlSeconds);
  // Entries outlive the longest access token by a minute, to cover clock skew between processes.
  const revocations = new Revocations(
    platform.store,
    platform.pubsub,
    (config.accessTokenTtlSeconds + 60) * 1000,
  );
  const context: IdentityContext = { ...platform, tokens, revocations };
  const profiles = createProfileCache(platform.pubsub);
  const authenticator = new ApiTokenAuthenticator(context);
  const auth = new AuthService(context, authenticator);
  await Promise.all([revocations.start(), profiles.start(), authenticator.start()]);
  await tokens.prepare().catch((error: unknown) => {
    platform.logger.warn(
      { err: error },
      'signing keys not loaded yet (migrations pending?); will retry on first use',
    );
  });

  const module: IdentityModule = {
    auth,
    organizations: new OrganizationsService(context, auth),
    users: new UsersService(context, authenticator, profiles),
    teams: new TeamsService(context, profiles),
    apiTokens: new ApiTokensService(context, authenticator),
    me: new MeService(context, profiles),
    keys,
    installAuthentication(app) {
      installAuthentication(app, auth);
    },
    async onRevocation(listener) {
      // Subscribed after the revocation list and the token cache (started above): pub/sub
      // runs a channel's handlers in subscription order, so `auth` already knows.
      const stops = await Promise.all(
        [REVOCATIONS_CHANNEL, API_TOKEN_INVALIDATED_CHANNEL].map((channel) =>
          platform.pubsub.subscribe(channel, () => listener()),
        ),
      );
      return async () => {
        await Promise.all(stops.map((stop) => stop()));
      };
    },
    async register(app) {
      app.get(
        '/.well-known/jwks.json',
        { config: { public: true }, schema: { hide: true } },
        async (_request, reply) => {
          reply.header('cache-control', 'public, max-age=300');
          return (await keys()).jwks;
        },
      );
      await app.register(
        async (api) => {
          await api.register(authRoutes, { auth, organizations: module.organizations });
          await api.register(meRoutes, { me: module.me, apiTokens: module.apiTokens });
          await api.register(adminRoutes, { users: module.users, teams: module.teams });
        },
        { prefix: '/api/v1' },
      );
    },
    async stop() {
      await revocations.stop();
    },
  };
  return module;
}
