import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../platform/db/database.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { authenticateInbound, type InboundMailService } from './inbound.service.js';

const security = [{ bearer: [] }];
const tags = ['Email'];

const IngestResponse = z.object({
  status: z.enum(['created', 'replied', 'noted', 'duplicate', 'ignored', 'dropped', 'quarantined']),
  ticketId: z.uuid().nullable(),
  ticketMessageId: z.uuid().nullable(),
  messageId: z.string().nullable(),
  decision: z.string(),
  quarantineId: z.uuid().optional(),
});
const Quarantined = z.object({
  id: z.uuid(),
  mailboxId: z.uuid().nullable(),
  reason: z.string(),
  error: z.string().nullable(),
  via: z.string().nullable(),
  envelopeFrom: z.string().nullable(),
  status: z.enum(['held', 'retried', 'discarded']),
  receivedAt: z.string(),
  resolvedAt: z.string().nullable(),
});
const IdParams = z.object({ id: z.uuid() });

/**
 * `/inbound/email/:mailboxId` (public, authenticated by the mailbox's inbound secret) and
 * `/admin/email/quarantine` (`admin:settings`).
 */
export const inboundRoutes: FastifyPluginAsyncZod<{
  inbound: InboundMailService;
  database: Database;
  maxBytes: number;
}> = async (app, { inbound, database, maxBytes }) => {
  // Raw MIME, only in this plugin's scope: the bytes are the message, nothing is decoded.
  app.addContentTypeParser(
    'message/rfc822',
    { parseAs: 'buffer', bodyLimit: maxBytes },
    (_request, body, done) => done(null, body),
  );
  app.post('/inbound/email/:mailboxId', {
    config: { public: true },
    bodyLimit: maxBytes,
    schema: {
      tags,
      summary: 'Deliver a raw e-mail to a mailbox',
      description:
        'Body: the raw message (`Content-Type: message/rfc822`). Authenticated by the mailbox inbound secret, as `Authorization: Bearer <secret>` or `?secret=`. A mail delivered again (same Message-ID) answers the first result with status `duplicate`.',
      params: z.object({ mailboxId: z.uuid() }),
      querystring: z.object({ secret: z.string().optional() }),
      response: { 202: IngestResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const header = request.headers.authorization;
      const secret = header?.startsWith('Bearer ') ? header.slice(7).trim() : request.query.secret;
      const mailbox = await authenticateInbound(database, request.params.mailboxId, secret);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return reply.status(202).send(await inbound.ingest(mailbox, raw, { via: 'api' }));
    },
  });

  app.get('/admin/email/quarantine', {
    schema: {
      tags,
      summary: 'List quarantined inbound mail',
      security,
      querystring: z.object({ status: z.enum(['held', 'retried', 'discarded']).optional() }),
      response: { 200: z.object({ data: z.array(Quarantined) }), ...errorResponses },
    },
    handler: (request) => inbound.listQuarantine(actorOf(request), request.query.status),
  });
  app.post('/admin/email/quarantine/:id/retry', {
    schema: {
      tags,
      summary: 'Ingest a quarantined mail again (spam and rate checks skipped)',
      security,
      params: IdParams,
      response: { 200: IngestResponse, ...errorResponses },
    },
    handler: (request) => inbound.retryQuarantine(actorOf(request), request.params.id),
  });
  app.post('/admin/email/quarantine/:id/discard', {
    schema: {
      tags,
      summary: 'Discard a quarantined mail',
      security,
      params: IdParams,
      response: { 200: Quarantined, ...errorResponses },
    },
    handler: (request) => inbound.discardQuarantine(actorOf(request), request.params.id),
  });
};
