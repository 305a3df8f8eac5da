import { z } from 'zod';
import type { Domain } from './domain.js';
import { defineAssignmentJobs, scheduleAssignmentJobs } from './modules/assignment/index.js';
import { defineTicketJobs, scheduleTicketJobs } from './modules/tickets/index.js';
import { IDEMPOTENCY_WINDOW_MS, pruneIdempotencyKeys } from './platform/http/idempotency.js';
import type { Platform } from './platform/platform.js';

/** How long relayed outbox rows are kept (for debugging and replays) before pruning. */
const OUTBOX_RETENTION_DAYS = 7;

/**
 * The one registry of jobs: every job is defined here (or by a module function called
 * here) with its payload schema, in every process role, so producers validate payloads
 * and workers know handlers.
 */
export function defineJobs(platform: Platform, domain: Domain): void {
  defineTicketJobs(platform);
  defineAssignmentJobs(platform, domain.assignment);
  domain.sla.defineJobs();
  domain.email.defineJobs();
  domain.surveys.defineJobs();
  platform.jobs.define({
    name: 'outbox.prune',
    queue: 'maintenance',
    payload: z.object({}).strict(),
    retry: { attempts: 3, backoffMs: 60_000 },
    async handle() {
      const cutoff = new Date(Date.now() - OUTBOX_RETENTION_DAYS * 86_400_000);
      const removed = await platform.relay.prune(cutoff);
      platform.logger.info({ removed, cutoff }, 'pruned relayed outbox rows');
    },
  });
  platform.jobs.define({
    name: 'idempotency.prune',
    queue: 'maintenance',
    payload: z.object({}).strict(),
    retry: { attempts: 3, backoffMs: 60_000 },
    async handle() {
      const cutoff = new Date(Date.now() - IDEMPOTENCY_WINDOW_MS);
      const removed = await pruneIdempotencyKeys(platform.database, cutoff);
      platform.logger.info({ removed, cutoff }, 'pruned expired idempotency keys');
    },
  });
}

/** Repeatable jobs, scheduled by worker processes (idempotent across processes). */
export async function scheduleJobs(platform: Platform, domain: Domain): Promise<void> {
  await platform.jobs.schedule('outbox.prune.hourly', 'outbox.prune', '17 * * * *', {});
  await platform.jobs.schedule('idempotency.prune.hourly', 'idempotency.prune', '23 * * * *', {});
  await scheduleTicketJobs(platform);
  await scheduleAssignmentJobs(platform);
  await domain.sla.scheduleJobs();
}
