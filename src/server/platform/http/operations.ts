import type { FastifyInstance, onResponseHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { migrationStatus } from '../db/migrations.js';
import type { Platform } from '../platform.js';
import { withTimeout } from '../timeout.js';
import { withRouteHook } from './route-helpers.js';

const QUIET_ROUTES = new Set(['/metrics', '/healthz', '/readyz']);
const PROBE_TIMEOUT_MS = 2_000;

/**
 * Latency histogram and one access-log line per request. The hook is attached to each route
 * as it is added, with the route's URL in a closure: reading `request.routeOptions` builds a
 * fresh object on every access. Install it before any route is added.
 */
export function installRequestObservation(app: FastifyInstance, platform: Platform): void {
  app.addHook('onRoute', (route) => {
    route.onResponse = withRouteHook(route.onResponse, observeResponses(platform, route.url), 'last');
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
}

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

/** `/healthz` (alive), `/readyz` (database, migrations, queue, pub/sub, file storage) and `/metrics`. */
export function registerOperationsEndpoints(app: FastifyInstance, platform: Platform): void {
  app.withTypeProvider<ZodTypeProvider>().get('/healthz', {
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
    schema: { tags: ['operations'], summary: 'Readiness: database, queue and migrations' },
    handler: async (_request, reply) => {
      const checks = await readinessChecks(platform);
      const ready = Object.values(checks).every((entry) => entry.ok);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  });

  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => {
    reply.type(platform.metrics.registry.contentType);
    return platform.metrics.registry.metrics();
  });
}

type Check = { ok: boolean; detail?: string };

async function readinessChecks(platform: Platform): Promise<Record<string, Check>> {
  const probes: Record<string, () => Promise<string>> = {
    database: async () => {
      await platform.database.ping();
      return platform.database.driver;
    },
    migrations: async () => {
      const status = await migrationStatus(platform.database);
      if (status.pending > 0) throw new Error(`${status.pending} of ${status.expected} migrations pending`);
      return `${status.applied} applied`;
    },
    queue: async () => {
      await platform.jobs.ping();
      return platform.jobs.driver;
    },
    pubsub: async () => {
      await platform.store.ping();
      return platform.store.driver;
    },
    storage: async () => {
      await platform.storage.ping();
      return platform.storage.driver;
    },
  };
  const entries = await Promise.all(
    Object.entries(probes).map(async ([name, probe]): Promise<[string, Check]> => {
      try {
        return [name, { ok: true, detail: await withTimeout(probe(), PROBE_TIMEOUT_MS, 'no answer') }];
      } catch (error) {
        return [name, { ok: false, detail: error instanceof Error ? error.message : String(error) }];
      }
    }),
  );
  return Object.fromEntries(entries);
}
