import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/database.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { TicketsModule } from '../tickets/index.js';
import { createSlaAdmin, type SlaAdmin } from './configuration.js';
import { type SeniorPicker, SlaFiringService } from './firing.service.js';
import { defineSlaJobs, FIRE_JOB, fireJobId, scheduleSlaJobs } from './sla.jobs.js';
import { SlaReadService, SlaSimulationService } from './sla.service.js';
import { timerRoutes } from './timers.routes.js';
import { SlaTimersService } from './timers.service.js';

export { type BusinessCalendar, BusinessClock } from './business-time.js';
export { seedDemoSla } from './sla.seed.js';
export * as slaTables from './sla.table.js';

/** The SLA module: policies and calendars, the ticket timers, their firing and escalation. */
export interface SlaModule {
  admin: SlaAdmin;
  timers: SlaTimersService;
  firing: SlaFiringService;
  reads: SlaReadService;
  /** Defines the module's jobs (every process role). */
  defineJobs(): void;
  /** Schedules the sweep (worker processes). */
  scheduleJobs(): Promise<void>;
  register(app: FastifyInstance): Promise<void>;
}

/**
 * Builds the module and hooks its timers into every ticket change. `pickSenior` is the
 * assignment module's choice of a senior agent for escalations.
 */
export function createSlaModule(
  platform: {
    database: Database;
    pubsub: PubSub;
    logger: Logger;
    jobs: JobQueue;
    subscriptions: EventSubscriptions;
  },
  tickets: TicketsModule,
  pickSenior: SeniorPicker,
): SlaModule {
  const admin = createSlaAdmin(platform);
  const schedule = (orgId: string, timerId: string, at: Date) => {
    platform.jobs
      .enqueue(
        FIRE_JOB,
        { orgId, timerId },
        { delayMs: Math.max(0, at.getTime() - Date.now()), jobId: fireJobId(timerId, at) },
      )
      .catch((error: unknown) =>
        platform.logger.error(
          { err: error, timerId, at },
          'could not schedule an SLA step; the sweep will take it',
        ),
      );
  };
  const timers = new SlaTimersService(admin.cache, schedule);
  tickets.onChange(timers.onTicketChanges);
  const firing = new SlaFiringService({
    database: platform.database,
    logger: platform.logger,
    configuration: admin.cache,
    tickets,
    pickSenior,
    schedule,
  });
  const reads = new SlaReadService({ database: platform.database, configuration: admin.cache, tickets });
  return {
    admin,
    timers,
    firing,
    reads,
    defineJobs() {
      defineSlaJobs(platform, firing, timers, tickets);
    },
    scheduleJobs() {
      return scheduleSlaJobs(platform);
    },
    async register(app) {
      await admin.register(app);
      const simulation = new SlaSimulationService({
        database: platform.database,
        configuration: admin.cache,
        tickets,
      });
      await app.register(timerRoutes, { prefix: '/api/v1', reads, simulation });
    },
  };
}
