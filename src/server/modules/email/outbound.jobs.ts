import { z } from 'zod';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import {
  TicketAssigned,
  TicketCreated,
  TicketEscalated,
  TicketEventPayload,
  TicketMessageCreated,
} from '../tickets/index.js';
import type { OutboundMailService } from './outbound.service.js';

export const PLAN_MAIL_JOB = 'email.plan';
export const SEND_MAIL_JOB = 'email.send';
/** Sends are tried this many times (with doubling backoff) before the dead-letter list. */
export const SEND_ATTEMPTS = 5;

export const SendMailPayload = z.object({ orgId: z.uuid(), deliveryId: z.uuid() }).strict();

/** One send job per delivery: a second enqueue while one waits is a no-op. */
export const sendJobId = (deliveryId: string) => `email-send-${deliveryId}`;

/**
 * The outbound jobs: `email.plan` listens to ticket events (new tickets, messages,
 * assignments, escalations) and stores the deliveries they cause; `email.send` sends one
 * stored delivery.
 */
export function defineOutboundJobs(
  platform: { jobs: JobQueue; subscriptions: EventSubscriptions },
  outbound: OutboundMailService,
  options: { retryBackoffMs: number },
): void {
  platform.jobs.define({
    name: PLAN_MAIL_JOB,
    queue: 'email',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 2_000 },
    async handle(envelope) {
      const queued = await outbound.plan(envelope, TicketEventPayload.parse(envelope.payload));
      for (const delivery of queued)
        await platform.jobs.enqueue(
          SEND_MAIL_JOB,
          { orgId: envelope.orgId, deliveryId: delivery.id },
          { jobId: sendJobId(delivery.id) },
        );
    },
  });
  platform.subscriptions.on(TicketCreated.name, PLAN_MAIL_JOB);
  platform.subscriptions.on(TicketMessageCreated.name, PLAN_MAIL_JOB);
  platform.subscriptions.on(TicketAssigned.name, PLAN_MAIL_JOB);
  platform.subscriptions.on(TicketEscalated.name, PLAN_MAIL_JOB);

  platform.jobs.define({
    name: SEND_MAIL_JOB,
    // A queue of its own: a send never waits behind the planning of other mails.
    queue: 'email-send',
    payload: SendMailPayload,
    retry: { attempts: SEND_ATTEMPTS, backoffMs: options.retryBackoffMs },
    async handle(payload, context) {
      await outbound.send(payload.orgId, payload.deliveryId, {
        number: context.attempt,
        last: context.attempt >= SEND_ATTEMPTS,
      });
    },
  });
}
