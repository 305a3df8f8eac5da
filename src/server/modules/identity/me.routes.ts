import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import type { ApiTokensService } from './api-tokens.service.js';
import { actorOf } from './identity.http.js';
import {
  ApiTokenResponse,
  CreateApiTokenBody,
  CreatedApiTokenResponse,
  IdParams,
  MeResponse,
} from './identity.schema.js';
import type { MeService } from './me.service.js';

const security = [{ bearer: [] }];
const JSON_TYPE = 'application/json; charset=utf-8';

/** The caller's own profile and personal API tokens. */
export const meRoutes: FastifyPluginAsyncZod<{ me: MeService; apiTokens: ApiTokensService }> = async (
  app,
  { me, apiTokens },
) => {
  app.get('/me', {
    schema: {
      tags: ['me'],
      summary: 'The signed-in user, organisation, role and permissions',
      security,
      response: { 200: MeResponse, ...errorResponses },
    },
    // Synchronous when the answer is already rendered: the most frequent call of every client.
    handler: (request, reply) => {
      const actor = actorOf(request);
      const json = me.json(actor);
      if (json === undefined) return me.me(actor);
      // Rendered by this schema's own serialiser (MeService.json); a JSON string is sent as is.
      reply.type(JSON_TYPE).send(json as never);
      return undefined;
    },
  });

  app.get('/me/api-tokens', {
    schema: {
      tags: ['me'],
      summary: 'List my API tokens (secrets are never shown again)',
      security,
      response: { 200: z.object({ data: z.array(ApiTokenResponse) }), ...errorResponses },
    },
    handler: async (request) => ({ data: await apiTokens.list(actorOf(request)) }),
  });

  app.post('/me/api-tokens', {
    schema: {
      tags: ['me'],
      summary: 'Create a scoped API token; the secret is in this response only',
      security,
      body: CreateApiTokenBody,
      response: { 201: CreatedApiTokenResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await apiTokens.create(actorOf(request), request.body)),
  });

  app.delete('/me/api-tokens/:id', {
    schema: {
      tags: ['me'],
      summary: 'Revoke one of my API tokens',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await apiTokens.revoke(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });
};
