import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import type { BulkService } from './bulk.service.js';
import type { RelationsService } from './relations.service.js';
import {
  BulkBody,
  BulkResult,
  FollowerBody,
  FollowerParams,
  IdParams,
  LinkBody,
  LinkedTicket,
  LinkParams,
  MergeBody,
  SplitBody,
  SplitParams,
  TicketDetailResponse,
  TimeEntries,
  TimeEntryBody,
} from './tickets.schema.js';

const security = [{ bearer: [] }];
const tags = ['tickets'];
const UserList = z.array(z.object({ id: z.uuid(), name: z.string(), email: z.string() }));

/** Merge, split, links, followers, time tracking and bulk updates. */
export const relationRoutes: FastifyPluginAsyncZod<{
  relations: RelationsService;
  bulk: BulkService;
}> = async (app, { relations, bulk }) => {
  app.post('/tickets/:id/merge', {
    schema: {
      tags,
      summary: 'Merge this ticket into another',
      description:
        'Messages, attachments and the timeline move to the target; the requester and followers follow the target; this ticket is closed with `mergedIntoId` set.',
      security,
      params: IdParams,
      body: MergeBody,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: (request) => relations.merge(actorOf(request), request.params.id, request.body.targetId),
  });

  app.post('/tickets/:id/messages/:messageId/split', {
    schema: {
      tags,
      summary: 'Split a message out into a new, linked ticket',
      security,
      params: SplitParams,
      body: SplitBody,
      response: { 201: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply
        .status(201)
        .send(
          await relations.split(
            actorOf(request),
            request.params.id,
            request.params.messageId,
            request.body.title,
          ),
        ),
  });

  app.post('/tickets/:id/links', {
    schema: {
      tags,
      summary: 'Link a related ticket',
      security,
      params: IdParams,
      body: LinkBody,
      response: { 200: z.array(LinkedTicket), ...errorResponses },
    },
    handler: (request) => relations.link(actorOf(request), request.params.id, request.body.relatedId),
  });

  app.delete('/tickets/:id/links/:relatedId', {
    schema: {
      tags,
      summary: 'Remove a link',
      security,
      params: LinkParams,
      response: { 200: z.array(LinkedTicket), ...errorResponses },
    },
    handler: (request) => relations.unlink(actorOf(request), request.params.id, request.params.relatedId),
  });

  app.get('/tickets/:id/followers', {
    schema: {
      tags,
      summary: 'Followers (CC)',
      security,
      params: IdParams,
      response: { 200: UserList, ...errorResponses },
    },
    handler: (request) => relations.followers(actorOf(request), request.params.id),
  });

  app.post('/tickets/:id/followers', {
    schema: {
      tags,
      summary: 'Add a follower (CC): they see the ticket and its public conversation',
      security,
      params: IdParams,
      body: FollowerBody,
      response: { 200: UserList, ...errorResponses },
    },
    handler: (request) => relations.follow(actorOf(request), request.params.id, request.body.userId),
  });

  app.delete('/tickets/:id/followers/:userId', {
    schema: {
      tags,
      summary: 'Remove a follower (followers may remove themselves)',
      security,
      params: FollowerParams,
      response: { 200: UserList, ...errorResponses },
    },
    handler: (request) => relations.unfollow(actorOf(request), request.params.id, request.params.userId),
  });

  app.get('/tickets/:id/time', {
    schema: {
      tags,
      summary: 'Time entries with totals (agents)',
      security,
      params: IdParams,
      response: { 200: TimeEntries, ...errorResponses },
    },
    handler: (request) => relations.time(actorOf(request), request.params.id),
  });

  app.post('/tickets/:id/time', {
    schema: {
      tags,
      summary: 'Log time spent (minutes)',
      security,
      params: IdParams,
      body: TimeEntryBody,
      response: { 201: TimeEntries, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await relations.logTime(actorOf(request), request.params.id, request.body)),
  });

  app.post('/tickets/bulk', {
    config: { idempotent: true },
    schema: {
      tags,
      summary: 'Update up to 500 tickets at once',
      description:
        'Status, priority, assignee and tags. Each ticket succeeds or fails on its own (an illegal transition, a ticket you cannot see); `results` lists every id in request order.',
      security,
      body: BulkBody,
      response: { 200: BulkResult, ...errorResponses },
    },
    handler: (request) => bulk.update(actorOf(request), request.body),
  });
};
