import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import type { MessagesService } from './messages.service.js';
import { TicketListQuery } from './tickets.filters.js';
import type { TicketListService } from './tickets.list.js';
import {
  AssignBody,
  CreateTicketBody,
  EventListQuery,
  IdParams,
  MessageBody,
  MessageParams,
  MessageResponse,
  StatusBody,
  TicketDetailResponse,
  TicketEventList,
  TicketList,
  TicketResponse,
  UpdateTicketBody,
} from './tickets.schema.js';
import type { TicketsService } from './tickets.service.js';
import type { WorkflowService } from './workflow.service.js';

const security = [{ bearer: [] }];
const COLLISION =
  'With `lastSeenEventId`, a public reply, assignment or status change by someone else since that event answers 409 listing them (`details.events`); `force: true` goes ahead.';
const tags = ['tickets'];

/** `If-Match: "3"`, `W/"3"` or `3` → 3. */
export function versionOf(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match) throw new AppError('BAD_REQUEST', 'If-Match must be a ticket version, like "3"');
  return Number(match[1]);
}

export interface TicketRouteServices {
  tickets: TicketsService;
  list: TicketListService;
  messages: MessagesService;
  workflow: WorkflowService;
}

/** The ticket API: thin handlers over the ticket services. */
export const ticketRoutes: FastifyPluginAsyncZod<TicketRouteServices> = async (app, services) => {
  const { tickets, list, messages, workflow } = services;
  const etag = <T extends { version: number }>(
    reply: { header(name: string, value: string): unknown },
    ticket: T,
  ) => {
    reply.header('etag', `"${ticket.version}"`);
    return ticket;
  };

  app.get('/tickets', {
    schema: {
      tags,
      summary: 'List and search tickets',
      description:
        'Filters combine with AND. Lists are comma-separated (`status=open,pending_user`); custom fields filter as `cf.<key>=value`; `q` takes web-search syntax ("quoted phrase", -exclude, or). Pages by `cursor` (keyset, any depth) or `page` (offset, first 200 pages).',
      security,
      querystring: TicketListQuery,
      response: { 200: TicketList, ...errorResponses },
    },
    handler: (request) => list.list(actorOf(request), request.query, request.url),
  });

  app.post('/tickets', {
    config: { idempotent: true },
    schema: {
      tags,
      summary: 'Open a ticket',
      security,
      body: CreateTicketBody,
      response: { 201: TicketResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(etag(reply, await tickets.create(actorOf(request), request.body))),
  });

  app.get('/tickets/:id', {
    schema: {
      tags,
      summary: 'Get a ticket with its conversation',
      security,
      params: IdParams,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) => etag(reply, await tickets.get(actorOf(request), request.params.id)),
  });

  app.patch('/tickets/:id', {
    schema: {
      tags,
      summary: 'Edit ticket fields',
      description: 'Send `If-Match: "<version>"` (or `version` in the body): a stale version answers 409.',
      security,
      params: IdParams,
      headers: z.object({ 'if-match': z.string().max(40).optional() }),
      body: UpdateTicketBody,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      etag(
        reply,
        await tickets.update(
          actorOf(request),
          request.params.id,
          request.body,
          versionOf(request.headers['if-match']),
        ),
      ),
  });

  app.delete('/tickets/:id', {
    schema: {
      tags,
      summary: 'Delete a ticket (soft delete, admins)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await tickets.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  for (const [path, internal, summary] of [
    ['comments', false, 'Add a public reply'],
    ['notes', true, 'Add an internal note (agents only; never shown to requesters)'],
  ] as const) {
    app.post(`/tickets/:id/${path}`, {
      config: { idempotent: true },
      schema: {
        tags,
        summary,
        description: `Mention users with \`@their@email.address\` in the body or by id in \`mentions\`. ${COLLISION}`,
        security,
        params: IdParams,
        body: MessageBody,
        response: { 201: MessageResponse, ...errorResponses },
      },
      handler: async (request, reply) =>
        reply
          .status(201)
          .send(await messages.add(actorOf(request), request.params.id, request.body, internal)),
    });
  }

  app.get('/tickets/:id/messages/:messageId/raw', {
    schema: {
      tags,
      summary: 'Download the original e-mail (.eml) of a message that came by mail (agents)',
      description:
        'Answers with the message as `message/rfc822`, or with a 302 to a short-lived pre-signed URL when files are kept in S3. 404 for messages that did not come by mail.',
      security,
      params: MessageParams,
      response: {
        200: z.any().describe('The raw message'),
        302: z.null().describe('Redirect to a pre-signed URL of the file'),
        ...errorResponses,
      },
    },
    handler: async (request, reply) => {
      const { id, messageId } = request.params;
      return sendRawMail(reply, await messages.rawMail(actorOf(request), id, messageId));
    },
  });

  app.get('/tickets/:id/mail/raw', {
    schema: {
      tags,
      summary: 'Download the original e-mail (.eml) that opened a ticket (agents)',
      description:
        'The mail a ticket came from, which has no message of its own unless it brought files. Answers like `GET /tickets/:id/messages/:messageId/raw`; 404 for tickets that did not come by mail.',
      security,
      params: IdParams,
      response: {
        200: z.any().describe('The raw message'),
        302: z.null().describe('Redirect to a pre-signed URL of the file'),
        ...errorResponses,
      },
    },
    handler: async (request, reply) =>
      sendRawMail(reply, await messages.rawMail(actorOf(request), request.params.id, null)),
  });

  app.post('/tickets/:id/status', {
    schema: {
      tags,
      summary: 'Change the status (illegal transitions answer 422)',
      description: COLLISION,
      security,
      params: IdParams,
      body: StatusBody,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      etag(
        reply,
        await workflow.changeStatus(actorOf(request), request.params.id, request.body.status, request.body),
      ),
  });

  app.post('/tickets/:id/close', {
    schema: {
      tags,
      summary: 'Close a ticket (requesters may close their own)',
      security,
      params: IdParams,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) => etag(reply, await workflow.close(actorOf(request), request.params.id)),
  });

  app.post('/tickets/:id/assign', {
    schema: {
      tags,
      summary: 'Assign to an agent and/or team (moving someone else’s ticket needs ticket:reassign)',
      description: COLLISION,
      security,
      params: IdParams,
      body: AssignBody,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      etag(reply, await workflow.assign(actorOf(request), request.params.id, request.body)),
  });

  app.delete('/tickets/:id/assign', {
    schema: {
      tags,
      summary: 'Unassign the agent',
      security,
      params: IdParams,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      etag(reply, await workflow.unassign(actorOf(request), request.params.id)),
  });

  app.post('/tickets/:id/claim', {
    schema: {
      tags,
      summary: 'Take an unassigned ticket (atomic: of simultaneous claims one wins, the others get 409)',
      security,
      params: IdParams,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) => etag(reply, await workflow.claim(actorOf(request), request.params.id)),
  });

  app.get('/tickets/:id/events', {
    schema: {
      tags,
      summary: 'The ticket’s activity timeline, oldest first',
      security,
      params: IdParams,
      querystring: EventListQuery,
      response: { 200: TicketEventList, ...errorResponses },
    },
    handler: (request) => tickets.events(actorOf(request), request.params.id, request.query),
  });
};

/** An original .eml: a redirect to its pre-signed URL, or the bytes, never rendered by a browser. */
function sendRawMail(
  reply: FastifyReply,
  download: { url: string } | { url: null; fileName: string; stream: Readable },
) {
  // The URL expires, so neither the browser nor a proxy may keep the redirect.
  if (download.url !== null) return reply.header('cache-control', 'no-store').redirect(download.url, 302);
  return reply
    .header('content-type', 'message/rfc822')
    .header('content-disposition', `attachment; filename="${download.fileName}"`)
    .header('x-content-type-options', 'nosniff')
    .header('content-security-policy', "default-src 'none'; sandbox")
    .send(download.stream);
}
