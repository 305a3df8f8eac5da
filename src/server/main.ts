import dotenv from 'dotenv';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './app.js';
import { type Config, ConfigError, loadConfig } from './config.js';
import { createDomain, type Domain } from './domain.js';
import { defineJobs, scheduleJobs } from './jobs.js';
import { describeSeed, seedDemo } from './modules/identity/index.js';
import { seedDemoSla } from './modules/sla/index.js';
import { seedDemoTickets } from './modules/tickets/index.js';
import { Database } from './platform/db/database.js';
import { applyMigrations, migrationStatus } from './platform/db/migrations.js';
import { createLogger } from './platform/logger.js';
import { createPlatform, type Platform } from './platform/platform.js';

/**
 * Entry point. `RUN_MODE` picks the role: `all` (API + workers), `api`, `worker`, or
 * `migrate` (apply migrations and exit).
 */
async function main(): Promise<void> {
  dotenv.config({ quiet: true });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`switchboard: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, { role: config.runMode });
  if (config.runMode === 'migrate') {
    await runMigrate(config, logger);
    return;
  }
  if (!config.embedded && !config.redisUrl && config.runMode !== 'all') {
    logger.warn(
      'REDIS_URL is not set: jobs stay in this process, so separate api and worker processes cannot share them',
    );
  }

  const started = Date.now();
  const platform = await createPlatform(config, logger);
  if (config.migrateOnStart) {
    await applyMigrations(platform.database);
  } else {
    const status = await migrationStatus(platform.database);
    if (status.pending > 0) {
      logger.warn(status, 'migrations are pending: run RUN_MODE=migrate; /readyz answers 503 until then');
    }
  }
  const domain = createDomain(platform);
  defineJobs(platform, domain);
  await domain.start();
  if (config.seedDemo) await seed(platform, config, domain);

  let app: FastifyInstance | undefined;
  if (config.runMode === 'api' || config.runMode === 'all') {
    ({ app } = await buildApp(platform, domain));
    await app.listen({ host: config.host, port: config.port });
  }
  if (config.runMode === 'worker' || config.runMode === 'all') {
    await platform.jobs.start({ concurrency: config.jobConcurrency });
    await scheduleJobs(platform, domain);
    await platform.relay.start();
    await domain.email.imap.start();
  }
  logger.info(
    {
      mode: config.embedded ? 'embedded' : 'postgres',
      database: platform.database.driver,
      jobs: platform.jobs.driver,
      pubsub: platform.pubsub.driver,
      startupMs: Date.now() - started,
    },
    app ? `Switchboard listening on ${config.publicUrl}` : 'Switchboard worker started',
  );
  installShutdown(platform, app, logger, config.shutdownTimeoutMs, () => domain.email.imap.stop());
}

async function runMigrate(config: Config, logger: Logger): Promise<void> {
  const database = await Database.open({
    url: config.databaseUrl,
    dataDir: `${config.dataDir}/pglite`,
    poolSize: 2,
  });
  try {
    const before = await migrationStatus(database);
    await applyMigrations(database);
    const after = await migrationStatus(database);
    logger.info({ applied: after.applied - before.applied, total: after.applied }, 'migrations applied');
  } finally {
    await database.close();
  }
}

async function seed(platform: Platform, config: Config, domain: Domain): Promise<void> {
  const result = await seedDemo(platform.database, {
    adminEmail: config.seedAdminEmail,
    adminPassword: config.seedAdminPassword,
  });
  if (!result.created) return;
  if (result.demo) {
    await seedDemoSla(domain.sla.admin, result.demo);
    await seedDemoTickets(domain.tickets, result.demo);
  }
  process.stderr.write(describeSeed(result, config.publicUrl, Boolean(config.seedAdminPassword)));
}

function installShutdown(
  platform: Platform,
  app: FastifyInstance | undefined,
  logger: Logger,
  timeoutMs: number,
  stopWorkers: () => Promise<void>,
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests and jobs');
    const guard = setTimeout(() => {
      logger.error({ timeoutMs }, 'shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs + 5_000);
    guard.unref();
    try {
      await app?.close();
      // Pollers first: they still write through the database and queues closed below.
      await stopWorkers();
      await platform.close();
      logger.info('shutdown complete');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(
    `switchboard: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
