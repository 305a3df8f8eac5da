import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { createDomain } from '../../src/server/domain.js';
import { defineJobs } from '../../src/server/jobs.js';
import { AccessTokens } from '../../src/server/modules/email/imap.oauth.js';
import { ImapPollers } from '../../src/server/modules/email/imap.pollers.js';
import { SecretBox } from '../../src/server/modules/email/imap.secrets.js';
import { emailTables } from '../../src/server/modules/email/index.js';
import { replyTokenKey } from '../../src/server/modules/email/outbound.tokens.js';
import { createLogger } from '../../src/server/platform/logger.js';
import { Metrics } from '../../src/server/platform/metrics.js';
import { createPlatform, type Platform } from '../../src/server/platform/platform.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { startTestApp, startWorkers, type TestApp, usingServices } from '../support/harness.js';
import { until } from '../support/wait.js';
import { type TicketWorld, ticketWorld } from '../tickets/support.js';
import { counterIn, ingested, mailboxApi, rawMail } from './imap-support.js';

const run = randomUUID().slice(0, 8);
const domain = `imap-workers-${run}.test`;
const USER = 'shared';
const PASSWORD = `pw-${run}`;
const SECRET = `imap-workers-secret-${run}-0123456789abcdef`;

let dovecot: Dovecot;
let server: TestApp;
let world: TicketWorld;
/** A second worker process's pollers and metrics. */
let second: { pollers: ImapPollers; metrics: Metrics; close(): Promise<void> };
const mailboxes = mailboxApi(
  () => server.app,
  () => world.admin,
);

/**
 * The second worker: on PostgreSQL + Redis a platform of its own on the same database and
 * Redis prefix, as another process would have; embedded (one process by design) a second set
 * of pollers on the same database and ephemeral store.
 */
async function startSecondWorker(): Promise<typeof second> {
  if (usingServices) {
    const config = loadConfig({
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATABASE_URL: server.config.databaseUrl,
      REDIS_URL: server.config.redisUrl,
      REDIS_PREFIX: server.config.redisPrefix,
      MAIL_REPLY_SECRET: SECRET,
      IMAP_RECONCILE_INTERVAL_MS: '200',
      MIGRATE_ON_START: 'false',
      DATA_DIR: server.config.dataDir,
    });
    const platform: Platform = await createPlatform(config, createLogger(config.logLevel));
    const domain2 = createDomain(platform);
    defineJobs(platform, domain2);
    await domain2.email.imap.start();
    return {
      pollers: domain2.email.imap,
      metrics: platform.metrics,
      async close() {
        await domain2.email.imap.stop();
        await platform.close();
      },
    };
  }
  const { platform, domain: domain1 } = server;
  const metrics = new Metrics();
  const pollers = new ImapPollers({
    database: platform.database,
    store: platform.store,
    inbound: domain1.email.inbound,
    box: new SecretBox(replyTokenKey(server.config)),
    tokens: new AccessTokens(),
    logger: platform.logger,
    metrics,
    maxBytes: server.config.inboundMailMaxBytes,
    reconcileIntervalMs: 200,
  });
  await pollers.start();
  return { pollers, metrics, close: () => pollers.stop() };
}

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD } });
  server = await startTestApp({ MAIL_REPLY_SECRET: SECRET, IMAP_RECONCILE_INTERVAL_MS: '200' });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  await server.domain.email.imap.start();
  second = await startSecondWorker();
});
afterAll(async () => {
  await second?.close();
  await server?.domain.email.imap.stop();
  await server?.close();
  await dovecot?.stop();
});

describe('two workers and one IMAP mailbox', () => {
  it('polls the mailbox from one worker only, ingesting each mail once, and fails over', async () => {
    const first = server.domain.email.imap;
    const mailbox = await mailboxes.create({
      address: `${USER}@${domain}`,
      name: 'Shared',
      inboundMethod: 'imap',
      imap: { host: dovecot.host, port: dovecot.port, tls: 'none', username: USER, password: PASSWORD },
    });
    await mailboxes.status(mailbox.id, 'idle');
    const holders = () => [first, second.pollers].filter((pollers) => pollers.polled().includes(mailbox.id));
    expect(holders()).toHaveLength(1);

    const ids: string[] = [];
    for (let index = 0; index < 8; index++) {
      const messageId = `<shared-${index}-${run}@customer.test>`;
      ids.push(messageId);
      await dovecot.append(
        USER,
        PASSWORD,
        'INBOX',
        rawMail({
          from: `Sam <sam-${index}-${run}@customer.test>`,
          to: `${USER}@${domain}`,
          subject: `Shared ${index}`,
          body: `Mail ${index}.`,
          messageId,
        }),
      );
    }
    for (const messageId of ids) await ingested(server.platform, messageId);
    const rows = await server.platform.database.transaction((tx) =>
      tx.select().from(emailTables.emailMessages).where(eq(emailTables.emailMessages.mailboxId, mailbox.id)),
    );
    expect(rows).toHaveLength(ids.length);
    const fetched = async (metrics: Metrics) =>
      counterIn(await metrics.registry.metrics(), 'switchboard_imap_messages_total', { mailbox: mailbox.id });
    const counts = [await fetched(server.platform.metrics), await fetched(second.metrics)];
    // Each mail was read once, by one worker: no second reading caught by the dedupe.
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(ids.length);
    expect(counts).toContain(0);
    expect(holders()).toHaveLength(1);

    // The holder stops (a deploy): the other worker takes the mailbox over.
    const holder = holders()[0]!;
    await holder.stop();
    const other = holder === first ? second.pollers : first;
    await until(() => other.polled().includes(mailbox.id));
    const later = `<shared-later-${run}@customer.test>`;
    await dovecot.append(
      USER,
      PASSWORD,
      'INBOX',
      rawMail({
        from: `sam-${run}@customer.test`,
        to: `${USER}@${domain}`,
        subject: 'Later',
        body: 'x',
        messageId: later,
      }),
    );
    await ingested(server.platform, later);
    await holder.start();
  });
});
