import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod';
import type { Domain } from './domain.js';
import { createIdentityModule, type IdentityModule } from './modules/identity/index.js';
import { operationsRoutes } from './modules/operations/index.js';
import { type RealtimeModule, registerRealtime } from './modules/realtime/index.js';
import { createTemplatesModule } from './modules/templates/index.js';
import type { TicketsModule } from './modules/tickets/index.js';
import { registerErrorHandling } from './platform/http/error-handler.js';
import { installIdempotency } from './platform/http/idempotency.js';
import { installRequestObservation, registerOperationsEndpoints } from './platform/http/operations.js';
import { serializerCompiler } from './platform/http/serializer.js';
import { LazyChildLogger } from './platform/logger.js';
import type { Platform } from './platform/platform.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const VERSION = '0.1.0';

export interface BuiltApp {
  app: FastifyInstance;
  identity: IdentityModule;
  tickets: TicketsModule;
  realtime: RealtimeModule;
}

/**
 * Builds the HTTP application from the platform and the feature modules. Never listens:
 * main.ts does, and tests use `app.inject`.
 */
export async function buildApp(platform: Platform, domain: Domain): Promise<BuiltApp> {
  const { config, logger } = platform;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request (written in onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    childLoggerFactory: LazyChildLogger.factory as unknown as FastifyServerOptions['childLoggerFactory'],
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: (request) => {
      const offered = request.headers['x-request-id'];
      // Request ids need uniqueness, not time order: randomUUID draws from a pooled source,
      // ten times cheaper than a UUIDv7 here.
      return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  // Before any route: these attach per-route hooks as routes are added.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  installRequestObservation(app, platform);
  const identity = await createIdentityModule(platform);
  identity.installAuthentication(app);
  installIdempotency(app, {
    database: platform.database,
    logger,
    scopeOf: (request) =>
      request.actor ? { orgId: request.actor.orgId, userId: request.actor.userId } : undefined,
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Switchboard API',
        version: VERSION,
        description:
          'Self-hosted helpdesk API. Authenticate with `POST /api/v1/auth/login` and send `Authorization: Bearer <accessToken>`, or use a personal API token.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or sb_pat_ token' } },
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { deepLinking: true },
    staticCSP: true,
  });

  await identity.register(app);
  const { tickets } = domain;
  tickets.setTeamIdsOf((tx, actor) => identity.me.teamIdsOf(tx, actor));
  await tickets.register(app);
  await domain.assignment.register(app);
  await domain.sla.register(app);
  await domain.email.register(app);
  await domain.surveys.register(app);
  await createTemplatesModule(platform, tickets).register(app);
  const realtime = await registerRealtime(app, { ...platform, identity, tickets });
  await app.register(operationsRoutes, {
    prefix: '/api/v1',
    deadLetters: platform.deadLetters,
    jobs: platform.jobs,
  });

  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  registerOperationsEndpoints(app, platform);

  app.addHook('onClose', async () => {
    await identity.stop();
  });
  return { app, identity, tickets, realtime };
}
