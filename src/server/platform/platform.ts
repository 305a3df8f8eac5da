import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { Database } from './db/database.js';
import { EventSubscriptions, OUTBOX_WAKE_CHANNEL, OutboxRelay } from './events/outbox-relay.js';
import { BullMqJobQueue } from './jobs/bullmq.driver.js';
import { DeadLetterStore } from './jobs/dead-letters.repository.js';
import type { JobObserver, JobQueue } from './jobs/jobs.port.js';
import { MemoryJobQueue } from './jobs/memory.driver.js';
import { LogMailTransport } from './mail/log.driver.js';
import type { MailTransport } from './mail/mail.port.js';
import { Metrics } from './metrics.js';
import { MemoryEphemeralStore, MemoryPubSub } from './pubsub/memory.driver.js';
import type { EphemeralStore, PubSub } from './pubsub/pubsub.port.js';
import { RedisEphemeralStore, RedisPubSub } from './pubsub/redis.driver.js';
import type { MalwareScanner } from './scan/scan.port.js';
import { createMalwareScanner } from './scan/scanner.js';
import { LocalFileStorage } from './storage/local.driver.js';
import type { S3FileStorage } from './storage/s3.driver.js';
import type { FileStorage } from './storage/storage.port.js';

/** Every port with the adapter the configuration chose; built once per process. */
export interface Platform {
  config: Config;
  logger: Logger;
  database: Database;
  jobs: JobQueue;
  pubsub: PubSub;
  store: EphemeralStore;
  storage: FileStorage;
  metrics: Metrics;
  subscriptions: EventSubscriptions;
  relay: OutboxRelay;
  deadLetters: DeadLetterStore;
  /** SMTP when configured, otherwise a driver that only logs. */
  mail: MailTransport;
  /** clamd when CLAMD_URL is set, otherwise nothing is scanned (said once in the log). */
  scanner: MalwareScanner;
  close(): Promise<void>;
}

export interface PlatformOverrides {
  /** Restores an embedded database from a snapshot instead of opening DATA_DIR (tests). */
  snapshot?: Blob;
  /** Embedded data directory, e.g. `memory://` for tests. */
  embeddedDataDir?: string;
}

/**
 * Opens the database and builds the adapters: Redis/BullMQ when REDIS_URL is set, memory
 * otherwise; S3 file storage when S3_BUCKET is set, a local folder otherwise.
 */
export async function createPlatform(
  config: Config,
  logger: Logger,
  overrides: PlatformOverrides = {},
): Promise<Platform> {
  const database = await Database.open({
    url: config.databaseUrl,
    dataDir: overrides.embeddedDataDir ?? `${config.dataDir}/pglite`,
    poolSize: config.databasePoolSize,
    ...(overrides.snapshot ? { snapshot: overrides.snapshot } : {}),
  });
  const metrics = new Metrics();
  const deadLetters = new DeadLetterStore(database, logger);
  const observer: JobObserver = {
    onCompleted(context, durationMs) {
      metrics.jobsCompleted.inc({ queue: context.queue, name: context.name });
      metrics.jobDuration.observe({ queue: context.queue, name: context.name }, durationMs / 1000);
    },
    onFailed(context, error, willRetry) {
      metrics.jobsFailed.inc({ queue: context.queue, name: context.name, final: String(!willRetry) });
      logger[willRetry ? 'warn' : 'error'](
        { err: error, job: context },
        willRetry ? 'job failed; will retry' : 'job failed for good; moved to dead letters',
      );
    },
  };
  const sink = (deadLetter: Parameters<DeadLetterStore['record']>[0]) => deadLetters.record(deadLetter);

  let jobs: JobQueue;
  let pubsub: PubSub;
  let store: EphemeralStore;
  if (config.redisUrl) {
    const redis = { redisUrl: config.redisUrl, prefix: config.redisPrefix, logger };
    jobs = new BullMqJobQueue({ ...redis, deadLetters: sink, observer });
    pubsub = new RedisPubSub(redis);
    store = new RedisEphemeralStore(redis);
  } else {
    jobs = new MemoryJobQueue({ deadLetters: sink, observer, logger });
    pubsub = new MemoryPubSub({ logger });
    store = new MemoryEphemeralStore();
  }
  deadLetters.attach(jobs);
  // The S3 client and nodemailer are loaded only when configured.
  const s3: S3FileStorage | undefined = config.s3
    ? new (await import('./storage/s3.driver.js')).S3FileStorage(config.s3)
    : undefined;
  const storage: FileStorage = s3 ?? new LocalFileStorage({ root: config.storageDir });
  const mail: MailTransport = config.smtp
    ? new (await import('./mail/smtp.driver.js')).SmtpMailTransport(config.smtp)
    : new LogMailTransport(logger);
  const scanner = createMalwareScanner(config.clamd, { logger, metrics });
  const subscriptions = new EventSubscriptions();
  const relay = new OutboxRelay({
    database,
    jobs,
    pubsub,
    subscriptions,
    metrics,
    logger,
    pollIntervalMs: config.outboxPollIntervalMs,
  });
  // After a commit that wrote events: a local relay runs at once; API-only processes wake
  // the worker's relay through pub/sub. The poll interval covers a lost wake-up.
  database.onOutboxCommit(() => {
    if (config.runMode === 'api') {
      pubsub.publish(OUTBOX_WAKE_CHANNEL, '1').catch((error: unknown) => {
        logger.warn({ err: error }, 'could not wake the outbox relay; it will poll');
      });
    } else {
      relay.wake();
    }
  });

  metrics.gauge('switchboard_queue_jobs', 'Jobs per queue and state', ['queue', 'state'], async (gauge) => {
    gauge.reset();
    for (const [queue, counts] of Object.entries(await jobs.counts())) {
      for (const [state, value] of Object.entries(counts)) gauge.set({ queue, state }, value);
    }
  });
  metrics.gauge('switchboard_outbox_pending', 'Outbox rows not yet relayed', [], async (gauge) => {
    gauge.set(await relay.pendingCount());
  });
  metrics.gauge('switchboard_dead_letters', 'Dead letters waiting for an admin', [], async (gauge) => {
    gauge.set(await deadLetters.openCount());
  });

  return {
    config,
    logger,
    database,
    jobs,
    pubsub,
    store,
    storage,
    metrics,
    subscriptions,
    relay,
    deadLetters,
    mail,
    scanner,
    async close() {
      await relay.stop();
      await jobs.close(config.shutdownTimeoutMs);
      await mail.close();
      await pubsub.close();
      await store.close();
      await database.close();
      s3?.close();
    },
  };
}
