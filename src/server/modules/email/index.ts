import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import type { MailTransport } from '../../platform/mail/mail.port.js';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import type { TicketsModule } from '../tickets/index.js';
import { inboundRoutes } from './inbound.routes.js';
import { InboundMailService } from './inbound.service.js';
import { mailTemplateRoutes } from './mail-templates.routes.js';
import { MailTemplatesService } from './mail-templates.service.js';
import { mailboxRoutes } from './mailboxes.routes.js';
import { MailboxesService } from './mailboxes.service.js';
import { defineOutboundJobs } from './outbound.jobs.js';
import { outboundRoutes } from './outbound.routes.js';
import { OutboundMailService } from './outbound.service.js';
import { ReplyTokens, replyTokenKey } from './outbound.tokens.js';
import { SmtpListener } from './smtp.listener.js';

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
  outbound: OutboundMailService;
  /** The wording of every kind of mail: an organisation's templates or the defaults. */
  templates: MailTemplatesService;
  /** Reply tokens of the Reply-To plus-addresses; the inbound side verifies them. */
  tokens: ReplyTokens;
  /** Inbound mail: ingestion (HTTP door, SMTP listener) and the quarantine. */
  inbound: InboundMailService;
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
    >;
    database: Database;
    logger: Logger;
    mail: MailTransport;
    jobs: JobQueue;
    subscriptions: EventSubscriptions;
    storage: FileStorage;
    store: EphemeralStore;
  },
  tickets: Pick<TicketsModule, 'system' | 'tickets'>,
): EmailModule {
  const tokens = new ReplyTokens(replyTokenKey(platform.config));
  const mailboxes = new MailboxesService(platform.database);
  const templates = new MailTemplatesService({
    database: platform.database,
    logger: platform.logger,
    publicUrl: platform.config.publicUrl,
  });
  const outbound = new OutboundMailService({
    database: platform.database,
    logger: platform.logger,
    mail: platform.mail,
    tokens,
    tickets,
    templates,
  });
  const inbound = new InboundMailService({
    database: platform.database,
    storage: platform.storage,
    store: platform.store,
    logger: platform.logger,
    tokens,
    tickets,
    maxAttachmentBytes: platform.config.attachmentMaxBytes,
  });
  return {
    mailboxes,
    outbound,
    templates,
    tokens,
    inbound,
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
        const listener = new SmtpListener({ ...listen, maxBytes, database, inbound, logger });
        app.addHook('onReady', async () => {
          await listener.start();
        });
        app.addHook('onClose', () => listener.stop());
      }
    },
  };
}
