import type { Logger } from 'pino';
import { z } from 'zod';
import type { Database } from '../../platform/db/database.js';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import { insertNotifications } from './notifications.repository.js';
import { SearchMonths } from './search-months.js';
import { TicketEventPayload, TicketMessageCreated } from './tickets.events.js';
import { compactViewCounts } from './views.counts.js';

export const NOTIFY_MENTIONS_JOB = 'tickets.notify-mentions';
export const COMPACT_VIEW_COUNTS_JOB = 'tickets.compact-view-counts';
export const SEARCH_MONTHS_JOB = 'tickets.search-months';

/**
 * Jobs of the tickets module, defined in every process role. Listeners re-read nothing they
 * do not need and are idempotent: notifications are unique per user, kind and message.
 */
export function defineTicketJobs(platform: {
  jobs: JobQueue;
  subscriptions: EventSubscriptions;
  database: Database;
  logger: Logger;
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

  // Safe to run twice at once: each batch locks the count rows it folds and skips locked ones.
  platform.jobs.define({
    name: COMPACT_VIEW_COUNTS_JOB,
    queue: 'maintenance',
    payload: z.object({}).strict(),
    retry: { attempts: 3, backoffMs: 10_000 },
    async handle() {
      const folded = await compactViewCounts(platform.database);
      if (folded > 0) platform.logger.debug({ folded }, 'folded saved-view count deltas');
    },
  });

  // Creates next month's index ahead of time and drops aged-out ones (search-months.ts).
  // Idempotent; concurrent runs wait for nothing: the one without the lock does nothing.
  platform.jobs.define({
    name: SEARCH_MONTHS_JOB,
    queue: 'maintenance',
    payload: z.object({}).strict(),
    retry: { attempts: 5, backoffMs: 60_000 },
    async handle() {
      const changes = await new SearchMonths(platform.database).maintain();
      if (!changes) platform.logger.debug('search month indexes: another process is maintaining them');
      else if (changes.created.length > 0 || changes.dropped.length > 0)
        platform.logger.info(changes, 'search month indexes maintained');
    },
  });
}

/**
 * Repeatable jobs of the tickets module (scheduled by worker processes). The month indexes of
 * search are also brought up to date at every worker start: after an upgrade or a restore,
 * search should not wait for the night.
 */
export async function scheduleTicketJobs(platform: { jobs: JobQueue }): Promise<void> {
  await platform.jobs.schedule(
    `${COMPACT_VIEW_COUNTS_JOB}.minutely`,
    COMPACT_VIEW_COUNTS_JOB,
    '* * * * *',
    {},
  );
  await platform.jobs.schedule(`${SEARCH_MONTHS_JOB}.daily`, SEARCH_MONTHS_JOB, '41 2 * * *', {});
  await platform.jobs.enqueue(SEARCH_MONTHS_JOB, {});
}
