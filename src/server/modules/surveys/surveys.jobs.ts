import { z } from 'zod';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import { SEND_MAIL_JOB, sendJobId } from '../email/index.js';
import { TicketEventPayload, TicketStatusChanged } from '../tickets/index.js';
import type { SurveysService } from './surveys.service.js';

export const SCHEDULE_SURVEY_JOB = 'csat.schedule';
export const SEND_SURVEY_JOB = 'csat.send';

export const SendSurveyPayload = z
  .object({
    orgId: z.uuid(),
    ticketId: z.uuid(),
    /** The resolution this survey is for: a ticket reopened (and resolved again) since gets none from it. */
    resolvedAt: z.iso.datetime(),
  })
  .strict();

/**
 * `csat.schedule` listens to status changes and, for each resolution, delays one `csat.send`
 * by `CSAT_DELAY_MINUTES` (job id per ticket and event, so a replayed event schedules nothing
 * new); `csat.send` re-reads the ticket, plans the survey mail and queues `email.send`.
 */
export function defineSurveyJobs(
  platform: { jobs: JobQueue; subscriptions: EventSubscriptions },
  surveys: SurveysService,
  options: { delayMinutes: number },
): void {
  platform.jobs.define({
    name: SCHEDULE_SURVEY_JOB,
    queue: 'surveys',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 2_000 },
    async handle(envelope) {
      const ticket = TicketEventPayload.parse(envelope.payload);
      if (!envelope.orgId || !envelope.aggregateId || ticket.changes.status?.to !== 'resolved') return;
      const resolvedAt = await surveys.resolutionOf(envelope.orgId, envelope.aggregateId);
      if (!resolvedAt) return;
      await platform.jobs.enqueue(
        SEND_SURVEY_JOB,
        { orgId: envelope.orgId, ticketId: envelope.aggregateId, resolvedAt: resolvedAt.toISOString() },
        { delayMs: options.delayMinutes * 60_000, jobId: `csat-send-${envelope.aggregateId}-${envelope.id}` },
      );
    },
  });
  platform.subscriptions.on(TicketStatusChanged.name, SCHEDULE_SURVEY_JOB);

  platform.jobs.define({
    name: SEND_SURVEY_JOB,
    queue: 'surveys',
    payload: SendSurveyPayload,
    retry: { attempts: 5, backoffMs: 5_000 },
    async handle(payload) {
      const deliveryId = await surveys.plan(payload.orgId, payload.ticketId, new Date(payload.resolvedAt));
      if (deliveryId)
        await platform.jobs.enqueue(
          SEND_MAIL_JOB,
          { orgId: payload.orgId, deliveryId },
          { jobId: sendJobId(deliveryId) },
        );
    },
  });
}
