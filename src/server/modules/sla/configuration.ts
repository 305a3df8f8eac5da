import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { CalendarsService } from './calendars.service.js';
import { SlaConfigurationCache } from './configuration.cache.js';
import { slaConfigurationRoutes } from './configuration.routes.js';
import { EscalationService } from './escalation.service.js';
import { PoliciesService } from './policies.service.js';

/** The SLA configuration: admin routes, and the cached read side the SLA engine uses. */
export interface SlaAdmin {
  cache: SlaConfigurationCache;
  calendars: CalendarsService;
  policies: PoliciesService;
  escalation: EscalationService;
  /** Starts the cache's eviction subscription (once; worker processes call it without routes). */
  start(): Promise<void>;
  /** Starts the cache and adds the routes under `/api/v1`. */
  register(app: FastifyInstance): Promise<void>;
}

export function createSlaAdmin(platform: { database: Database; pubsub: PubSub; logger: Logger }): SlaAdmin {
  const cache = new SlaConfigurationCache(platform.pubsub);
  const context = { database: platform.database, cache };
  const calendars = new CalendarsService(context);
  const policies = new PoliciesService(context);
  const escalation = new EscalationService(context);
  let started: Promise<void> | undefined;
  const start = () => {
    started ??= cache.start();
    return started;
  };
  return {
    cache,
    calendars,
    policies,
    escalation,
    start,
    async register(app) {
      await start();
      await app.register(slaConfigurationRoutes, { prefix: '/api/v1', calendars, policies, escalation });
    },
  };
}
