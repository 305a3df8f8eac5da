import type { Logger } from 'pino';
import type { Database } from '../db/database.js';
import type { JobQueue } from '../jobs/jobs.port.js';
import type { Metrics } from '../metrics.js';
import type { PubSub } from '../pubsub/pubsub.port.js';
import type { EventEnvelope } from './events.js';
import {
  claimUnpublished,
  countUnpublished,
  deletePublishedBefore,
  markPublished,
} from './outbox.repository.js';

/** Pub/sub channel that carries every relayed domain event (sockets, caches). */
export const DOMAIN_EVENTS_CHANNEL = 'domain-events';
/** Pub/sub channel API processes use to wake the relay in a worker process. */
export const OUTBOX_WAKE_CHANNEL = 'outbox-wake';

const BATCH_SIZE = 100;
/** Pause between passes while commits keep arriving (see runPasses). */
const COALESCE_MS = 10;

/** Maps event names to the jobs that react to them (listeners are jobs, so they retry). */
export class EventSubscriptions {
  private readonly byEvent = new Map<string, string[]>();

  /** Runs job `jobName` with the event envelope as payload whenever `eventName` commits. */
  on(eventName: string, jobName: string): void {
    const jobs = this.byEvent.get(eventName) ?? [];
    if (!jobs.includes(jobName)) jobs.push(jobName);
    this.byEvent.set(eventName, jobs);
  }

  jobsFor(eventName: string): readonly string[] {
    return this.byEvent.get(eventName) ?? [];
  }
}

/**
 * Publishes committed outbox rows. Rows are claimed with FOR UPDATE SKIP LOCKED, so several
 * relays share the work; a row is stamped only after publishing, so a crash in between
 * publishes it again and never loses it. Listener jobs get the outbox id in their job id,
 * which makes a second publish of the same row a no-op in the queue.
 */
export class OutboxRelay {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly deps: {
      database: Database;
      jobs: JobQueue;
      pubsub: PubSub;
      subscriptions: EventSubscriptions;
      metrics: Metrics;
      logger: Logger;
      pollIntervalMs: number;
    },
  ) {}

  /** Starts polling and listening for wake-ups from API processes. */
  async start(): Promise<void> {
    this.running = true;
    await this.deps.pubsub.subscribe(OUTBOX_WAKE_CHANNEL, () => this.wake());
    this.wake();
  }

  /** Runs a pass now (or right after the current one). */
  wake(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pass = this.runPasses().finally(() => {
      this.pass = undefined;
      if (this.running) {
        this.timer = setTimeout(() => this.wake(), this.deps.pollIntervalMs);
        this.timer.unref();
      }
    });
  }

  private async runPasses(): Promise<void> {
    do {
      this.again = false;
      try {
        while (this.running && (await this.relayBatch()) === BATCH_SIZE) {
          // A full batch means more may be waiting: go on without waiting for the timer.
        }
      } catch (error) {
        this.deps.metrics.outboxFailures.inc();
        this.deps.logger.error({ err: error }, 'outbox relay pass failed; will retry');
      }
      // Commits arrived during the pass: the system is busy. A short pause lets the next pass
      // take many rows at once instead of one pass (four statements) per commit; an idle
      // system relays a lone commit at once.
      if (this.again && this.running) await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
    } while (this.again && this.running);
  }

  /** Relays one batch; returns how many rows it published. Exposed for tests. */
  async relayBatch(): Promise<number> {
    const { database, jobs, pubsub, subscriptions, metrics } = this.deps;
    return database.transaction(async (tx) => {
      const rows = await claimUnpublished(tx, BATCH_SIZE);
      const envelopes = rows.map(
        (row): EventEnvelope => ({
          id: row.id,
          event: row.event,
          orgId: row.orgId,
          aggregateType: row.aggregateType,
          aggregateId: row.aggregateId,
          actorId: row.actorId,
          requestId: row.requestId,
          payload: row.payload,
          createdAt: row.createdAt.toISOString(),
        }),
      );
      // The batch's listener jobs, then its events, each in one round trip.
      await jobs.enqueueMany(
        envelopes.flatMap((envelope) =>
          subscriptions.jobsFor(envelope.event).map((jobName) => ({
            name: jobName,
            payload: envelope,
            options: { jobId: `${jobName}.${envelope.id}` },
          })),
        ),
      );
      await pubsub.publishMany(
        DOMAIN_EVENTS_CHANNEL,
        envelopes.map((envelope) => JSON.stringify(envelope)),
      );
      await markPublished(
        tx,
        rows.map((row) => row.id),
      );
      metrics.outboxPublished.inc(rows.length);
      return rows.length;
    });
  }

  /** Unpublished rows, for `/metrics` and readiness of the relay. */
  async pendingCount(): Promise<number> {
    return countUnpublished(this.deps.database.db);
  }

  /** Deletes published rows older than `olderThan` (the prune job). */
  async prune(olderThan: Date): Promise<number> {
    return deletePublishedBefore(this.deps.database.db, olderThan);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
  }
}
