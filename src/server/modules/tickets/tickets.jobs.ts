import type { Database } from '../../platform/db/database.js';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import { insertNotifications } from './notifications.repository.js';
import { TicketEventPayload, TicketMessageCreated } from './tickets.events.js';

export const NOTIFY_MENTIONS_JOB = 'tickets.notify-mentions';

/**
 * Jobs of the tickets module, defined in every process role. Listeners re-read nothing they
 * do not need and are idempotent: notifications are unique per user, kind and message.
 */
export function defineTicketJobs(platform: {
  jobs: JobQueue;
  subscriptions: EventSubscriptions;
  database: Database;
}): void {
  platform.jobs.define({
    name: NOTIFY_MENTIONS_JOB,
    queue: 'notifications',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 2_000 },
    async handle(envelope) {
      const payload = TicketEventPayload.parse(envelope.payload);
      const mentions = (payload.data.mentions as string[] | undefined) ?? [];
      const messageId = payload.data.messageId as string | undefined;
      const recipients = mentions.filter((userId) => userId !== envelope.actorId);
      if (!envelope.orgId || !messageId || recipients.length === 0) return;
      await platform.database.withOrg(envelope.orgId, (tx) =>
        insertNotifications(
          tx,
          recipients.map((userId) => ({
            orgId: envelope.orgId!,
            userId,
            kind: 'mention',
            ticketId: envelope.aggregateId,
            messageId,
            actorId: envelope.actorId,
            data: { number: payload.number, internal: payload.isInternal },
          })),
        ),
      );
    },
  });
  platform.subscriptions.on(TicketMessageCreated.name, NOTIFY_MENTIONS_JOB);
}

/** Repeatable jobs of the tickets module (scheduled by worker processes). */
export async function scheduleTicketJobs(_platform: { jobs: JobQueue }): Promise<void> {}
