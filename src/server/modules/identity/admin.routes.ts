import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PageQuery } from '../../platform/http/pagination.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from './identity.http.js';
import {
  CreateTeamBody,
  CreateUserBody,
  IdParams,
  TeamDetailResponse,
  TeamList,
  UpdateTeamBody,
  UpdateUserBody,
  UserList,
  UserListQuery,
  UserResponse,
} from './identity.schema.js';
import type { TeamsService } from './teams.service.js';
import type { UsersService } from './users.service.js';

const security = [{ bearer: [] }];

/** Admin API for users and teams (`admin:users`, `admin:teams`). */
export const adminRoutes: FastifyPluginAsyncZod<{ users: UsersService; teams: TeamsService }> = async (
  app,
  { users, teams },
) => {
  const userTags = ['admin: users'];
  app.get('/admin/users', {
    schema: {
      tags: userTags,
      summary: 'List users',
      security,
      querystring: UserListQuery,
      response: { 200: UserList, ...errorResponses },
    },
    handler: (request) => users.list(actorOf(request), request.query, request.url),
  });
  app.post('/admin/users', {
    schema: {
      tags: userTags,
      summary: 'Create a user with an initial password',
      security,
      body: CreateUserBody,
      response: { 201: UserResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await users.create(actorOf(request), request.body)),
  });
  app.get('/admin/users/:id', {
    schema: {
      tags: userTags,
      summary: 'Get a user',
      security,
      params: IdParams,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: (request) => users.get(actorOf(request), request.params.id),
  });
  app.patch('/admin/users/:id', {
    schema: {
      tags: userTags,
      summary: 'Update name, role, teams or password (role and password changes sign the user out)',
      security,
      params: IdParams,
      body: UpdateUserBody,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: (request) => users.update(actorOf(request), request.params.id, request.body),
  });
  app.post('/admin/users/:id/deactivate', {
    schema: {
      tags: userTags,
      summary: 'Deactivate a user: sign-in, sessions and API tokens stop working',
      security,
      params: IdParams,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: (request) => users.deactivate(actorOf(request), request.params.id),
  });
  app.post('/admin/users/:id/reactivate', {
    schema: {
      tags: userTags,
      summary: 'Reactivate a user',
      security,
      params: IdParams,
      response: { 200: UserResponse, ...errorResponses },
    },
    handler: (request) => users.reactivate(actorOf(request), request.params.id),
  });

  const teamTags = ['admin: teams'];
  app.get('/admin/teams', {
    schema: {
      tags: teamTags,
      summary: 'List teams',
      security,
      querystring: PageQuery.strict(),
      response: { 200: TeamList, ...errorResponses },
    },
    handler: (request) => teams.list(actorOf(request), request.query, request.url),
  });
  app.post('/admin/teams', {
    schema: {
      tags: teamTags,
      summary: 'Create a team',
      security,
      body: CreateTeamBody,
      response: { 201: TeamDetailResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await teams.create(actorOf(request), request.body)),
  });
  app.get('/admin/teams/:id', {
    schema: {
      tags: teamTags,
      summary: 'Get a team with its members',
      security,
      params: IdParams,
      response: { 200: TeamDetailResponse, ...errorResponses },
    },
    handler: (request) => teams.get(actorOf(request), request.params.id),
  });
  app.patch('/admin/teams/:id', {
    schema: {
      tags: teamTags,
      summary: 'Rename, describe or set the members of a team',
      security,
      params: IdParams,
      body: UpdateTeamBody,
      response: { 200: TeamDetailResponse, ...errorResponses },
    },
    handler: (request) => teams.update(actorOf(request), request.params.id, request.body),
  });
  app.delete('/admin/teams/:id', {
    schema: {
      tags: teamTags,
      summary: 'Delete a team (soft)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await teams.remove(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });
};
