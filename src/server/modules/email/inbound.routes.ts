import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Database } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { INBOUND_PROVIDERS, mailFromProvider, type ProviderForm } from './email.providers.js';
import { authenticateInbound, type InboundMailService, type InboundSource } from './inbound.service.js';

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

/** A parsed urlencoded form; a class, so that no JSON body can pass for one. */
class UrlEncodedForm {
  constructor(readonly form: ProviderForm) {}
}

/** Most files one provider payload may carry (Mailgun and SendGrid post one part per file). */
const MAX_FILES = 100;
const LIMIT_ERRORS = new Set([
  'FST_PARTS_LIMIT',
  'FST_FILES_LIMIT',
  'FST_FIELDS_LIMIT',
  'FST_REQ_FILE_TOO_LARGE',
]);

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
  // Mailgun posts mail without files urlencoded; values stay bytes (body-mime may be 8-bit).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: maxBytes },
    (_request, body, done) => done(null, new UrlEncodedForm(parseUrlEncoded(body as Buffer))),
  );
  // Multipart is read in the handler, after authentication; busboy does not apply bodyLimit,
  // so the handler adds up what it reads. Fields decoded as latin1 are their bytes unchanged.
  await app.register(multipart, {
    defCharset: 'latin1',
    limits: {
      fieldNameSize: 200,
      fieldSize: maxBytes,
      fields: 1000,
      fileSize: maxBytes,
      files: MAX_FILES,
      parts: 1000 + MAX_FILES,
    },
  });

  const description =
    "Body: the raw message (`Content-Type: message/rfc822`, answered 202), or the inbound-parse payload of Mailgun (urlencoded or multipart, parsed or `body-mime`), SendGrid (multipart, parsed or raw `email`) or Postmark (JSON), answered 200; the provider is read from the payload's shape or `?provider=`. Authenticated by the mailbox inbound secret, as `Authorization: Bearer <secret>`, Basic credentials with the secret as password, or `?secret=`. A mail delivered again (same Message-ID) answers the first result with status `duplicate`.";
  // The second URL exists because Mailgun posts its raw MIME variant only to a URL ending in "mime".
  for (const url of ['/inbound/email/:mailboxId', '/inbound/email/:mailboxId/mime']) {
    app.post(url, {
      config: { public: true },
      bodyLimit: maxBytes,
      schema: {
        tags,
        summary: url.endsWith('/mime')
          ? 'Deliver an e-mail to a mailbox (for Mailgun raw MIME)'
          : 'Deliver an e-mail to a mailbox',
        description,
        params: z.object({ mailboxId: z.uuid() }),
        querystring: z.object({
          secret: z.string().optional(),
          provider: z.enum(INBOUND_PROVIDERS).optional(),
        }),
        response: { 200: IngestResponse, 202: IngestResponse, ...errorResponses },
      },
      handler: async (request, reply) => {
        // Before the body is read: a multipart body is not consumed for a wrong secret.
        const mailbox = await authenticateInbound(
          database,
          request.params.mailboxId,
          secretOf(request.headers.authorization, request.query.secret),
        );
        const form = request.isMultipart()
          ? await readMultipart(request, maxBytes)
          : request.body instanceof UrlEncodedForm
            ? request.body.form
            : undefined;
        if (!form && (Buffer.isBuffer(request.body) || request.body === undefined)) {
          const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
          return reply.status(202).send(await inbound.ingest(mailbox, raw, { via: 'api' }));
        }
        const mail = await mailFromProvider(
          form ? { type: 'form', form } : { type: 'json', body: request.body },
          request.query.provider,
        );
        request.log.info({ mailboxId: mailbox.id, provider: mail.provider }, 'inbound provider payload');
        const source: InboundSource = {
          via: 'api',
          envelopeFrom: mail.envelopeFrom,
          envelopeTo: mail.envelopeTo,
        };
        // 200, not 202: Mailgun and Postmark retry any other answer.
        return reply.status(200).send(await inbound.ingest(mailbox, mail.raw, source));
      },
    });
  }

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

/** The inbound secret: a Bearer token, the password of Basic credentials (user:secret@ in the URL), or `?secret=`. */
function secretOf(authorization: string | undefined, querySecret: string | undefined): string | undefined {
  const header = authorization ?? '';
  if (header.startsWith('Bearer ')) return header.slice(7).trim();
  if (/^basic /i.test(header)) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return querySecret;
}

function parseUrlEncoded(body: Buffer): ProviderForm {
  const fields = new Map<string, Buffer>();
  for (const pair of body.toString('latin1').split('&')) {
    if (!pair) continue;
    const equals = pair.indexOf('=');
    const [name, value] = equals < 0 ? [pair, ''] : [pair.slice(0, equals), pair.slice(equals + 1)];
    const key = percentDecoded(name).toString('utf8');
    if (!fields.has(key)) fields.set(key, percentDecoded(value));
  }
  return { fields, files: [] };
}

/** Form-encoded text (`+` a space, `%XX` a byte) as the bytes it stands for. */
function percentDecoded(text: string): Buffer {
  const bytes = Buffer.alloc(text.length);
  let length = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    const hex = char === 0x25 ? text.slice(index + 1, index + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes[length++] = Number.parseInt(hex, 16);
      index += 2;
    } else bytes[length++] = char === 0x2b ? 0x20 : char;
  }
  return bytes.subarray(0, length);
}

/** Reads a multipart body within `maxBytes` in all: fields as bytes, files in memory. */
async function readMultipart(request: FastifyRequest, maxBytes: number): Promise<ProviderForm> {
  const form: ProviderForm = { fields: new Map(), files: [] };
  let total = 0;
  const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', `The form is larger than ${maxBytes} bytes`);
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const content = await part.toBuffer();
        total += content.length;
        if (total > maxBytes) throw tooLarge();
        form.files.push({
          field: part.fieldname,
          filename: part.filename,
          contentType: part.mimetype,
          content,
        });
        continue;
      }
      if (part.valueTruncated || part.fieldnameTruncated) throw tooLarge();
      const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      // A part that named its own charset was decoded with it; every other one is latin1.
      const bytes = Buffer.from(value, /[\u0100-\uffff]/.test(value) ? 'utf8' : 'latin1');
      total += bytes.length;
      if (total > maxBytes) throw tooLarge();
      if (!form.fields.has(part.fieldname)) form.fields.set(part.fieldname, bytes);
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code ?? '';
    if (LIMIT_ERRORS.has(code)) throw tooLarge();
    throw new AppError('BAD_REQUEST', `Malformed multipart body: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return form;
}
