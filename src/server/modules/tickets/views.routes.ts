import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { IdParams } from './tickets.schema.js';
import { CreateViewBody, UpdateViewBody, ViewCountList, ViewList, ViewResponse } from './views.schema.js';
import type { ViewsService } from './views.service.js';

const security = [{ bearer: [] }];
const tags = ['views'];

/** Saved views (agents only): personal or shared with a team, each with a maintained count. */
export const viewRoutes: FastifyPluginAsyncZod<{ views: ViewsService }> = async (app, { views }) => {
  app.get('/views', {
    schema: {
      tags,
      summary: 'My views and my teams’ shared views, with counts',
      security,
      response: { 200: ViewList, ...errorResponses },
    },
    handler: (request) => views.list(actorOf(request)),
  });

  app.get('/views/counts', {
    schema: {
      tags,
      summary: 'Counts of my views and my teams’ shared views (cheap, for a sidebar)',
      security,
      response: { 200: ViewCountList, ...errorResponses },
    },
    handler: (request) => views.counts(actorOf(request)),
  });

  app.post('/views', {
    config: { idempotent: true },
    schema: {
      tags,
      summary: 'Save a view',
      description:
        'Filters take the shape of `GET /tickets` filters (lists as arrays, custom fields under `fields`). With `teamId` the view is shared with that team (members, team admins and agents who see all tickets may share); shared views cannot use `me`.',
      security,
      body: CreateViewBody,
      response: { 201: ViewResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await views.create(actorOf(request), request.body)),
  });

  app.get('/views/:id', {
    schema: {
      tags,
      summary: 'Get a view with its count',
      security,
      params: IdParams,
      response: { 200: ViewResponse, ...errorResponses },
    },
    handler: (request) => views.get(actorOf(request), request.params.id),
  });

  app.patch('/views/:id', {
    schema: {
      tags,
      summary: 'Rename, re-sort or re-filter a view (owner; for team views the team’s leads and admins)',
      security,
      params: IdParams,
      body: UpdateViewBody,
      response: { 200: ViewResponse, ...errorResponses },
    },
    handler: (request) => views.update(actorOf(request), request.params.id, request.body),
  });

  app.delete('/views/:id', {
    schema: {
      tags,
      summary: 'Delete a view (owner; for team views the team’s leads and admins)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await views.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });
};
