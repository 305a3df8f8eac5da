import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import type { MailTransport } from '../../platform/mail/mail.port.js';
import type { TicketsModule } from '../tickets/index.js';
import { mailboxRoutes } from './mailboxes.routes.js';
import { MailboxesService } from './mailboxes.service.js';
import { defineOutboundJobs } from './outbound.jobs.js';
import { outboundRoutes } from './outbound.routes.js';
import { OutboundMailService } from './outbound.service.js';
import { ReplyTokens, replyTokenKey } from './outbound.tokens.js';

/** Email tables, for foreign keys only. */
export * as emailTables from './email.table.js';
export { ReplyTokens } from './outbound.tokens.js';

/** The email module: mailboxes and outbound mail (ticket acknowledgements and agent replies). */
export interface EmailModule {
  mailboxes: MailboxesService;
  outbound: OutboundMailService;
  /** Reply tokens of the Reply-To plus-addresses; the inbound side verifies them. */
  tokens: ReplyTokens;
  /** Defines the module's jobs and event subscriptions (every process role). */
  defineJobs(): void;
  register(app: FastifyInstance): Promise<void>;
}

export function createEmailModule(
  platform: {
    config: Pick<
      Config,
      'publicUrl' | 'mailReplySecret' | 'jwtPrivateKey' | 'dataDir' | 'mailRetryBackoffMs'
    >;
    database: Database;
    logger: Logger;
    mail: MailTransport;
    jobs: JobQueue;
    subscriptions: EventSubscriptions;
  },
  tickets: Pick<TicketsModule, 'system' | 'tickets'>,
): EmailModule {
  const tokens = new ReplyTokens(replyTokenKey(platform.config));
  const mailboxes = new MailboxesService(platform.database);
  const outbound = new OutboundMailService({
    database: platform.database,
    logger: platform.logger,
    mail: platform.mail,
    tokens,
    publicUrl: platform.config.publicUrl,
    tickets,
  });
  return {
    mailboxes,
    outbound,
    tokens,
    defineJobs() {
      defineOutboundJobs(platform, outbound, { retryBackoffMs: platform.config.mailRetryBackoffMs });
    },
    async register(app) {
      await app.register(mailboxRoutes, { prefix: '/api/v1', mailboxes });
      await app.register(outboundRoutes, { prefix: '/api/v1', outbound });
    },
  };
}
