import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import {
  MailKindParams,
  MailPreviewResponse,
  MailTemplateDraft,
  MailTemplateList,
  MailTemplateResponse,
  PutMailTemplateBody,
} from './mail-templates.schema.js';
import type { MailTemplatesService } from './mail-templates.service.js';

const security = [{ bearer: [] }];
const tags = ['Email'];

/** `/admin/email/templates`: the wording of every kind of mail (`admin:settings`). */
export const mailTemplateRoutes: FastifyPluginAsyncZod<{ templates: MailTemplatesService }> = async (
  app,
  { templates },
) => {
  app.get('/admin/email/templates', {
    schema: {
      tags,
      summary: 'Mail templates of every kind (`custom: false` is the built-in default)',
      security,
      response: { 200: MailTemplateList, ...errorResponses },
    },
    handler: (request) => templates.list(actorOf(request)),
  });
  app.put('/admin/email/templates/:kind', {
    schema: {
      tags,
      summary: 'Set the template of a kind of mail (unknown variables answer 422)',
      security,
      params: MailKindParams,
      body: PutMailTemplateBody,
      response: { 200: MailTemplateResponse, ...errorResponses },
    },
    handler: (request) => templates.put(actorOf(request), request.params.kind, request.body),
  });
  app.delete('/admin/email/templates/:kind', {
    schema: {
      tags,
      summary: 'Go back to the built-in template of a kind of mail',
      security,
      params: MailKindParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await templates.remove(actorOf(request), request.params.kind);
      return reply.status(204).send(null);
    },
  });
  app.post('/admin/email/templates/:kind/preview', {
    schema: {
      tags,
      summary: 'Render a draft, or the template in use, with sample values (writes nothing)',
      security,
      params: MailKindParams,
      body: MailTemplateDraft.nullish(),
      response: { 200: MailPreviewResponse, ...errorResponses },
    },
    handler: (request) => templates.preview(actorOf(request), request.params.kind, request.body),
  });
};
