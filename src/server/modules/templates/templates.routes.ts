import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { TicketDetailResponse } from '../tickets/index.js';
import {
  ApplyMacroBody,
  ApplyMacroParams,
  CannedResponse,
  CannedResponseList,
  CannedResponseListQuery,
  CreateCannedResponseBody,
  CreateMacroBody,
  IdParams,
  Macro,
  MacroList,
  RenderBody,
  RenderResponse,
  UpdateCannedResponseBody,
  UpdateMacroBody,
} from './templates.schema.js';
import type { CannedResponsesService, MacrosService } from './templates.service.js';

const security = [{ bearer: [] }];
const tags = ['templates'];

export interface TemplateRouteServices {
  cannedResponses: CannedResponsesService;
  macros: MacrosService;
}

/** Canned responses and macros: thin handlers over the template services. */
export const templateRoutes: FastifyPluginAsyncZod<TemplateRouteServices> = async (
  app,
  { cannedResponses, macros },
) => {
  app.get('/canned-responses', {
    schema: {
      tags,
      summary: 'List shared canned responses and your own',
      security,
      querystring: CannedResponseListQuery,
      response: { 200: CannedResponseList, ...errorResponses },
    },
    handler: (request) => cannedResponses.list(actorOf(request), request.query.q),
  });

  app.post('/canned-responses', {
    schema: {
      tags,
      summary: 'Create a canned response (unknown variables answer 422)',
      security,
      body: CreateCannedResponseBody,
      response: { 201: CannedResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await cannedResponses.create(actorOf(request), request.body)),
  });

  app.get('/canned-responses/:id', {
    schema: {
      tags,
      summary: 'Get a canned response',
      security,
      params: IdParams,
      response: { 200: CannedResponse, ...errorResponses },
    },
    handler: (request) => cannedResponses.get(actorOf(request), request.params.id),
  });

  app.patch('/canned-responses/:id', {
    schema: {
      tags,
      summary: 'Edit a canned response (shared ones: admin:settings or ticket:reassign)',
      security,
      params: IdParams,
      body: UpdateCannedResponseBody,
      response: { 200: CannedResponse, ...errorResponses },
    },
    handler: (request) => cannedResponses.update(actorOf(request), request.params.id, request.body),
  });

  app.delete('/canned-responses/:id', {
    schema: {
      tags,
      summary: 'Delete a canned response',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await cannedResponses.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/canned-responses/:id/render', {
    schema: {
      tags,
      summary: 'Render a canned response for a ticket, as you',
      security,
      params: IdParams,
      body: RenderBody,
      response: { 200: RenderResponse, ...errorResponses },
    },
    handler: (request) => cannedResponses.render(actorOf(request), request.params.id, request.body.ticketId),
  });

  app.get('/macros', {
    schema: {
      tags,
      summary: 'List shared macros and your own',
      security,
      response: { 200: MacroList, ...errorResponses },
    },
    handler: (request) => macros.list(actorOf(request)),
  });

  app.post('/macros', {
    schema: {
      tags,
      summary: 'Create a macro',
      security,
      body: CreateMacroBody,
      response: { 201: Macro, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await macros.create(actorOf(request), request.body)),
  });

  app.get('/macros/:id', {
    schema: {
      tags,
      summary: 'Get a macro',
      security,
      params: IdParams,
      response: { 200: Macro, ...errorResponses },
    },
    handler: (request) => macros.get(actorOf(request), request.params.id),
  });

  app.patch('/macros/:id', {
    schema: {
      tags,
      summary: 'Edit a macro (shared ones: admin:settings or ticket:reassign)',
      security,
      params: IdParams,
      body: UpdateMacroBody,
      response: { 200: Macro, ...errorResponses },
    },
    handler: (request) => macros.update(actorOf(request), request.params.id, request.body),
  });

  app.delete('/macros/:id', {
    schema: {
      tags,
      summary: 'Delete a macro',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await macros.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.post('/tickets/:id/macros/:macroId/apply', {
    schema: {
      tags,
      summary: 'Apply a macro to a ticket (all of it or nothing)',
      description:
        'Runs the macro’s changes and reply in one transaction: an illegal status transition, a missing permission or a stale `version` (409) applies nothing.',
      security,
      params: ApplyMacroParams,
      body: ApplyMacroBody,
      response: { 200: TicketDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const ticket = await macros.apply(
        actorOf(request),
        request.params.id,
        request.params.macroId,
        request.body?.version,
      );
      reply.header('etag', `"${ticket.version}"`);
      return ticket;
    },
  });
};
