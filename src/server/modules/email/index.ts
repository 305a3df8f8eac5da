import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import type { MailTransport } from '../../platform/mail/mail.port.js';
import type { Metrics } from '../../platform/metrics.js';
import type { EphemeralStore, PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { MalwareScanner } from '../../platform/scan/index.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import type { TicketsModule } from '../tickets/index.js';
import { ImapMailReader } from './imap.fetch.js';
import { AccessTokens } from './imap.oauth.js';
import { ImapPollers } from './imap.pollers.js';
import { SecretBox } from './imap.secrets.js';
import { inboundRoutes } from './inbound.routes.js';
import { InboundMailService } from './inbound.service.js';
import { mailTemplateRoutes } from './mail-templates.routes.js';
import { MailTemplatesService } from './mail-templates.service.js';
import { MailboxCache } from './mailboxes.cache.js';
import { mailboxRoutes } from './mailboxes.routes.js';
import { MailboxesService } from './mailboxes.service.js';
import { defineOutboundJobs } from './outbound.jobs.js';
import { outboundRoutes } from './outbound.routes.js';
import { OutboundMailService } from './outbound.service.js';
import { ReplyTokens, replyTokenKey } from './outbound.tokens.js';

/** Email tables, for foreign keys only. */
export * as emailTables from './email.table.js';
/** Other modules that plan mail (surveys) queue its sending with these. */
export { SEND_MAIL_JOB, sendJobId } from './outbound.jobs.js';
export { ReplyTokens } from './outbound.tokens.js';

/**
 * The email module: mailboxes, outbound mail (acknowledgements, agent replies, agent
 * notifications) with per-organisation templates, and inbound mail.
 */
export interface EmailModule {
  mailboxes: MailboxesService;
  /** Subscribes to evictions of the mailbox cache from other processes (every process role). */
  start(): Promise<void>;
  outbound: OutboundMailService;
  /** The wording of every kind of mail: an organisation's templates or the defaults. */
  templates: MailTemplatesService;
  /** Reply tokens of the Reply-To plus-addresses; the inbound side verifies them. */
  tokens: ReplyTokens;
  /** Inbound mail: ingestion (HTTP door, SMTP listener) and the quarantine. */
  inbound: InboundMailService;
  /** The IMAP pollers; worker processes start them (`imap.start()`) and stop them on shutdown. */
  imap: ImapPollers;
  /** Defines the module's jobs and event subscriptions (every process role). */
  defineJobs(): void;
  register(app: FastifyInstance): Promise<void>;
}

export function createEmailModule(
  platform: {
    config: Pick<
      Config,
      | 'publicUrl'
      | 'mailReplySecret'
      | 'jwtPrivateKey'
      | 'dataDir'
      | 'mailRetryBackoffMs'
      | 'attachmentMaxBytes'
      | 'smtpListen'
      | 'inboundMailMaxBytes'
      | 'inboundMailRateLimit'
      | 'imapReconcileIntervalMs'
    >;
    database: Database;
    logger: Logger;
    mail: MailTransport;
    jobs: JobQueue;
    subscriptions: EventSubscriptions;
    storage: FileStorage;
    store: EphemeralStore;
    pubsub: PubSub;
    scanner: MalwareScanner;
    metrics: Metrics;
  },
  tickets: Pick<TicketsModule, 'system' | 'tickets'>,
): EmailModule {
  const replyKey = replyTokenKey(platform.config);
  const tokens = new ReplyTokens(replyKey);
  // Mailbox credentials are sealed under a key derived from the same shared secret.
  const box = new SecretBox(replyKey);
  const imapTokens = new AccessTokens();
  const mailboxCache = new MailboxCache(platform.pubsub);
  const mailboxes = new MailboxesService(platform.database, { box, store: platform.store }, mailboxCache);
  const templates = new MailTemplatesService({
    database: platform.database,
    logger: platform.logger,
    publicUrl: platform.config.publicUrl,
    pubsub: platform.pubsub,
  });
  const outbound = new OutboundMailService({
    database: platform.database,
    logger: platform.logger,
    mail: platform.mail,
    tokens,
    tickets,
    templates,
    mailboxes: mailboxCache,
  });
  const inbound = new InboundMailService({
    database: platform.database,
    storage: platform.storage,
    store: platform.store,
    scanner: platform.scanner,
    logger: platform.logger,
    tokens,
    tickets,
    maxAttachmentBytes: platform.config.attachmentMaxBytes,
    mailboxes: mailboxCache,
    mailboxReader: new ImapMailReader({ database: platform.database, box, tokens: imapTokens }),
    rateLimit: platform.config.inboundMailRateLimit,
  });
  const imap = new ImapPollers({
    database: platform.database,
    store: platform.store,
    inbound,
    box,
    tokens: imapTokens,
    logger: platform.logger,
    metrics: platform.metrics,
    maxBytes: platform.config.inboundMailMaxBytes,
    reconcileIntervalMs: platform.config.imapReconcileIntervalMs,
  });
  return {
    mailboxes,
    start: async () => {
      await Promise.all([mailboxCache.start(), templates.start()]);
    },
    outbound,
    templates,
    tokens,
    inbound,
    imap,
    defineJobs() {
      defineOutboundJobs(platform, outbound, { retryBackoffMs: platform.config.mailRetryBackoffMs });
    },
    async register(app) {
      await app.register(mailboxRoutes, { prefix: '/api/v1', mailboxes });
      await app.register(outboundRoutes, { prefix: '/api/v1', outbound });
      await app.register(mailTemplateRoutes, { prefix: '/api/v1', templates });
      const maxBytes = platform.config.inboundMailMaxBytes;
      await app.register(inboundRoutes, {
        prefix: '/api/v1',
        inbound,
        database: platform.database,
        maxBytes,
      });
      // The SMTP listener lives and dies with the HTTP app: API process roles only.
      const listen = platform.config.smtpListen;
      if (listen) {
        const { database, logger } = platform;
        // smtp-server is loaded only where a listener is configured.
        const { SmtpListener } = await import('./smtp.listener.js');
        const listener = new SmtpListener({
          ...listen,
          maxBytes,
          database,
          inbound,
          mailboxes: mailboxCache,
          logger,
        });
        app.addHook('onReady', async () => {
          await listener.start();
        });
        app.addHook('onClose', () => listener.stop());
      }
    },
  };
}
