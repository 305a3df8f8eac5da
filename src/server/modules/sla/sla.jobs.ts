import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../../platform/db/database.js';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import { TicketEscalated, TicketEventPayload, type TicketsModule } from '../tickets/index.js';
import type { SlaFiringService } from './firing.service.js';
import {
  BusinessCalendarDeleted,
  BusinessCalendarUpdated,
  EscalationPolicyUpdated,
  HolidayCalendarUpdated,
  SlaPolicyDeleted,
  SlaPolicyUpdated,
} from './sla.events.js';
import { ticketsWithLiveTimers } from './timers.repository.js';
import type { SlaTimersService } from './timers.service.js';

export const FIRE_JOB = 'sla.fire';
export const SWEEP_JOB = 'sla.sweep';
export const NOTIFY_JOB = 'sla.notify';
export const RECOMPUTE_JOB = 'sla.recompute';

/** Configuration changes after which live timers take the new targets, calendars and levels. */
const RECOMPUTING_EVENTS = [
  SlaPolicyUpdated,
  SlaPolicyDeleted,
  BusinessCalendarUpdated,
  BusinessCalendarDeleted,
  HolidayCalendarUpdated,
  EscalationPolicyUpdated,
];
const RECOMPUTE_BATCH = 200;

/** How often the sweep runs, and how overdue a step must be before the sweep takes it from its job. */
export const SWEEP_CRON = '*/5 * * * * *';
export const SWEEP_GRACE_MS = 2_000;
/** A delayed job that wakes this close before its step waits for it instead of rescheduling. */
const EARLY_WAKE_MS = 2_000;

/** The delayed job of a timer step: one per timer and instant, so rescheduling the same step is a no-op. */
export function fireJobId(timerId: string, at: Date): string {
  return `sla-fire-${timerId}-${at.getTime()}`;
}

/** Jobs of the SLA module (defined in every process role). */
export function defineSlaJobs(
  platform: { jobs: JobQueue; subscriptions: EventSubscriptions; database: Database; logger: Logger },
  firing: SlaFiringService,
  timers: SlaTimersService,
  tickets: TicketsModule,
): void {
  platform.jobs.define({
    name: FIRE_JOB,
    queue: 'sla',
    payload: z.object({ orgId: z.uuid(), timerId: z.uuid() }).strict(),
    retry: { attempts: 8, backoffMs: 500 },
    async handle({ orgId, timerId }) {
      const first = await firing.fire(orgId, timerId, 'job');
      // Delayed jobs may wake a little early (clocks of two machines); the step's job id is
      // this job's own, so rescheduling it would be a no-op: wait the difference instead.
      const wait = first.next && !first.acted ? first.next.getTime() - Date.now() : Number.POSITIVE_INFINITY;
      if (wait < EARLY_WAKE_MS) {
        await sleep(Math.max(0, wait));
        await firing.fire(orgId, timerId, 'job');
      }
    },
  });

  platform.jobs.define({
    name: SWEEP_JOB,
    queue: 'sla',
    payload: z.object({}).strict(),
    retry: { attempts: 3, backoffMs: 1_000 },
    async handle() {
      const fired = await firing.sweep({ graceMs: SWEEP_GRACE_MS });
      if (fired > 0) platform.logger.warn({ fired }, 'SLA sweep fired timers their delayed jobs had missed');
    },
  });

  // Notifications of escalation steps, from the outbox: a crash loses none, a replay adds none.
  platform.jobs.define({
    name: NOTIFY_JOB,
    queue: 'notifications',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 2_000 },
    async handle(envelope) {
      const payload = TicketEventPayload.parse(envelope.payload);
      const recipients = z.array(z.uuid()).default([]).parse(payload.data.recipients);
      if (!envelope.orgId || !envelope.aggregateId || recipients.length === 0) return;
      const ticket = { orgId: envelope.orgId, id: envelope.aggregateId };
      await platform.database.withOrg(envelope.orgId, (tx) =>
        tickets.system.notify(tx, ticket, {
          userIds: recipients,
          kind: 'sla_escalation',
          causeId: payload.eventId,
          data: {
            number: payload.number,
            level: payload.data.level,
            trigger: payload.data.trigger,
            timerKind: payload.data.timerKind,
            reassignedTo: payload.data.reassignedTo ?? null,
          },
        }),
      );
    },
  });
  platform.subscriptions.on(TicketEscalated.name, NOTIFY_JOB);

  // Tickets whose clocks run are re-evaluated in batches, each in its own transaction with
  // the tickets locked like any ticket change; running it twice only recomputes twice.
  platform.jobs.define({
    name: RECOMPUTE_JOB,
    queue: 'sla',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 2_000 },
    async handle(envelope) {
      const orgId = envelope.orgId;
      if (!orgId) return;
      let after: string | null = null;
      let recomputed = 0;
      for (;;) {
        const ids: string[] = await platform.database.withOrg(orgId, (tx) =>
          ticketsWithLiveTimers(tx, orgId, after, RECOMPUTE_BATCH),
        );
        if (ids.length === 0) break;
        await platform.database.withOrg(orgId, async (tx) => {
          const locked = await tickets.system.findMany(tx, orgId, ids, { lock: true });
          await timers.recomputeTickets(tx, orgId, locked);
        });
        recomputed += ids.length;
        after = ids.at(-1)!;
      }
      platform.logger.info({ orgId, recomputed, cause: envelope.event }, 'recomputed SLA timers');
    },
  });
  for (const event of RECOMPUTING_EVENTS) platform.subscriptions.on(event.name, RECOMPUTE_JOB);
}

/** The sweep, scheduled by worker processes (one schedule however many there are). */
export async function scheduleSlaJobs(platform: { jobs: JobQueue }): Promise<void> {
  await platform.jobs.schedule(`${SWEEP_JOB}.every-5s`, SWEEP_JOB, SWEEP_CRON, {});
}
