import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type onResponseHookHandler,
} from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createIdentityModule, type IdentityModule } from './modules/identity/index.js';
import { operationsRoutes } from './modules/operations/index.js';
import { migrationStatus } from './platform/db/migrations.js';
import { registerErrorHandling } from './platform/http/error-handler.js';
import { serializerCompiler } from './platform/http/serializer.js';
import type { Platform } from './platform/platform.js';
import { withTimeout } from './platform/timeout.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const VERSION = '0.1.0';

export interface BuiltApp {
  app: FastifyInstance;
  identity: IdentityModule;
}

/**
 * Builds the HTTP application from the platform and the feature modules. Never listens:
 * main.ts does, and tests use `app.inject`.
 */
export async function buildApp(platform: Platform): Promise<BuiltApp> {
  const { config, logger, metrics } = platform;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One line per request (written in onResponse below) instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: (request) => {
      const offered = request.headers['x-request-id'];
      // Request ids need uniqueness, not time order: randomUUID draws from a pooled source,
      // ten times cheaper than a UUIDv7 here.
      return typeof offered === 'string' && REQUEST_ID.test(offered) ? offered : randomUUID();
    },
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false } },
  });
  const typed = app.withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerErrorHandling(app);

  // Route-level hooks are attached as routes are added, with the route's URL in a closure:
  // reading `request.routeOptions` builds a fresh object on every access.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/docs')) route.config = { ...(route.config ?? {}), public: true };
    route.onResponse = [...asArray(route.onResponse), observeResponses(platform, route.url)];
  });
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  const unmatched = observeResponses(platform, 'unmatched');
  app.addHook('onResponse', (request, reply, done) => {
    if (request.is404) return unmatched.call(app, request, reply, done);
    done();
  });

  const identity = await createIdentityModule(platform);
  identity.installAuthentication(app);

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
  await app.register(operationsRoutes, {
    prefix: '/api/v1',
    deadLetters: platform.deadLetters,
    jobs: platform.jobs,
  });

  app.get('/api/openapi.json', { config: { public: true }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  typed.get('/healthz', {
    config: { public: true },
    schema: {
      tags: ['operations'],
      summary: 'Liveness',
      response: { 200: z.object({ status: z.literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  app.get('/readyz', {
    config: { public: true },
    schema: { tags: ['operations'], summary: 'Readiness: database, queue and migrations', hide: false },
    handler: async (_request, reply) => {
      const checks: Record<string, { ok: boolean; detail?: string }> = {};
      const check = async (name: string, probe: () => Promise<string | undefined>) => {
        try {
          const detail = await withTimeout(probe(), 2_000, 'no answer');
          checks[name] = detail ? { ok: true, detail } : { ok: true };
        } catch (error) {
          checks[name] = { ok: false, detail: error instanceof Error ? error.message : String(error) };
        }
      };
      await Promise.all([
        check('database', async () => {
          await platform.database.ping();
          return platform.database.driver;
        }),
        check('migrations', async () => {
          const status = await migrationStatus(platform.database);
          if (status.pending > 0)
            throw new Error(`${status.pending} of ${status.expected} migrations pending`);
          return `${status.applied} applied`;
        }),
        check('queue', async () => {
          await platform.jobs.ping();
          return platform.jobs.driver;
        }),
        check('pubsub', async () => {
          await platform.store.ping();
          return platform.store.driver;
        }),
      ]);
      const ready = Object.values(checks).every((entry) => entry.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  });

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.addHook('onClose', async () => {
    await identity.stop();
  });
  return { app, identity };
}

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

const QUIET_ROUTES = new Set(['/metrics', '/healthz', '/readyz']);

/** The onResponse hook of one route: latency histogram, then one access log line. */
function observeResponses(platform: Platform, route: string): onResponseHookHandler {
  const { metrics } = platform;
  const observers = new Map<string, (seconds: number) => void>();
  const logged = !QUIET_ROUTES.has(route) && platform.logger.isLevelEnabled('info');
  return function observe(request, reply, done) {
    const key = `${request.method} ${reply.statusCode}`;
    let record = observers.get(key);
    if (!record) {
      const child = metrics.httpDuration.labels(request.method, route, String(reply.statusCode));
      record = (seconds) => child.observe(seconds);
      observers.set(key, record);
    }
    record(reply.elapsedTime / 1000);
    if (logged) {
      request.log.info(
        {
          method: request.method,
          url: request.url.split('?')[0],
          route,
          statusCode: reply.statusCode,
          durationMs: Math.round(reply.elapsedTime * 10) / 10,
          userId: request.actor?.userId,
          orgId: request.actor?.orgId,
        },
        'request completed',
      );
    }
    done();
  };
}
