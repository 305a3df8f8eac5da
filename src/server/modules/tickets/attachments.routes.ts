import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { contentDisposition, dispositionFor } from '../../platform/scan/index.js';
import { actorOf } from '../identity/index.js';
import type { AttachmentsService } from './attachments.service.js';
import { AttachmentResponse, IdParams } from './tickets.schema.js';

const security = [{ bearer: [] }];
const tags = ['attachments'];

/** Upload a file (raw body), then reference its id in a reply or note; download with access checks. */
export const attachmentRoutes: FastifyPluginAsyncZod<{
  attachments: AttachmentsService;
  maxBytes: number;
}> = async (app, { attachments, maxBytes }) => {
  // In this plugin only: every body is raw bytes, whatever its Content-Type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) =>
    done(null, body),
  );

  app.post('/attachments', {
    schema: {
      tags,
      summary: 'Upload an attachment (the request body is the file)',
      description:
        'Send the file as the raw body with its Content-Type and `?fileName=`. Reference the returned id in `attachmentIds` of a reply or note within the same user. The file is scanned for malware first (422 naming the signature when infected, 503 when the scanner cannot be reached); its type is read from its bytes and replaces the declared one when they disagree.',
      security,
      querystring: z.object({ fileName: z.string().max(1_000).optional() }),
      response: { 201: AttachmentResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const created = await attachments.upload(actorOf(request), {
        fileName: request.query.fileName,
        contentType: request.headers['content-type'],
        body,
      });
      return reply.status(201).send(created);
    },
  });

  app.get('/attachments/:id', {
    schema: {
      tags,
      summary: 'Download an attachment',
      description:
        'Answers with the file, or with a 302 to a short-lived pre-signed URL when files are kept in S3. PNG, JPEG, GIF and WebP images are served inline, everything else as an attachment to save; the browser never sniffs the type and runs no script of the file (a sandbox CSP).',
      security,
      params: IdParams,
      response: {
        200: z.any().describe('The file'),
        302: z.null().describe('Redirect to a pre-signed URL of the file'),
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const download = await attachments.download(actorOf(request), request.params.id);
      // The URL expires, so neither the browser nor a proxy may keep the redirect.
      if (download.url !== null) return reply.header('cache-control', 'no-store').redirect(download.url, 302);
      const { meta, stream } = download;
      return reply
        .header('content-type', meta.contentType)
        .header('content-length', String(meta.sizeBytes))
        .header('content-disposition', contentDisposition(meta.fileName, dispositionFor(meta.contentType)))
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .send(stream);
    },
  });
};
