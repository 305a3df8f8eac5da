import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import {
  CreatedMailboxResponse,
  CreateMailboxBody,
  IdParams,
  MailboxList,
  MailboxResponse,
  UpdateMailboxBody,
} from './mailboxes.schema.js';
import type { MailboxesService } from './mailboxes.service.js';

const security = [{ bearer: [] }];
const tags = ['Email'];

/** `/admin/mailboxes`: the addresses an organisation receives and sends mail with (`admin:settings`). */
export const mailboxRoutes: FastifyPluginAsyncZod<{ mailboxes: MailboxesService }> = async (
  app,
  { mailboxes },
) => {
  app.get('/admin/mailboxes', {
    schema: { tags, summary: 'List mailboxes', security, response: { 200: MailboxList, ...errorResponses } },
    handler: (request) => mailboxes.list(actorOf(request)),
  });
  app.post('/admin/mailboxes', {
    schema: {
      tags,
      summary: 'Create a mailbox',
      description:
        'Addresses are stored lower-case and are unique per organisation (409). An `api` mailbox answers its inbound secret once, here.',
      security,
      body: CreateMailboxBody,
      response: { 201: CreatedMailboxResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await mailboxes.create(actorOf(request), request.body)),
  });
  app.get('/admin/mailboxes/:id', {
    schema: {
      tags,
      summary: 'Read a mailbox',
      security,
      params: IdParams,
      response: { 200: MailboxResponse, ...errorResponses },
    },
    handler: (request) => mailboxes.get(actorOf(request), request.params.id),
  });
  app.patch('/admin/mailboxes/:id', {
    schema: {
      tags,
      summary: 'Change a mailbox (`isDefault: true` moves the default here)',
      security,
      params: IdParams,
      body: UpdateMailboxBody,
      response: { 200: MailboxResponse, ...errorResponses },
    },
    handler: (request) => mailboxes.update(actorOf(request), request.params.id, request.body),
  });
  app.delete('/admin/mailboxes/:id', {
    schema: {
      tags,
      summary: 'Delete a mailbox',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await mailboxes.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });
};
