import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import {
  AgentList,
  AgentListQuery,
  AgentResponse,
  AvailabilityBody,
  RoutingBody,
  RoutingResponse,
  Tags,
  TeamParams,
  UpdateAgentBody,
  UserParams,
} from './assignment.schema.js';
import type { AssignmentService } from './assignment.service.js';

const security = [{ bearer: [] }];

/** Agents' availability, capacity and skills, and each team's automatic assignment. */
export const assignmentRoutes: FastifyPluginAsyncZod<{ assignment: AssignmentService }> = async (
  app,
  { assignment },
) => {
  app.get('/agents', {
    schema: {
      tags: Tags,
      summary: 'List agents, team leads and admins with availability, capacity, skills and open tickets',
      description: 'Needs ticket:view_team.',
      security,
      querystring: AgentListQuery,
      response: { 200: AgentList, ...errorResponses },
    },
    handler: (request) => assignment.listAgents(actorOf(request), request.query, request.url),
  });
  app.put('/agents/:userId/availability', {
    schema: {
      tags: Tags,
      summary: 'Set an agent’s availability (their own, or anyone’s with ticket:reassign)',
      description:
        'Only available agents get tickets automatically. Becoming available assigns queued tickets of their teams.',
      security,
      params: UserParams,
      body: AvailabilityBody,
      response: { 200: AgentResponse, ...errorResponses },
    },
    handler: (request) =>
      assignment.setAvailability(actorOf(request), request.params.userId, request.body.availability),
  });
  app.get('/me/availability', {
    schema: {
      tags: Tags,
      summary: 'The caller as an agent: availability, capacity, skills and open tickets',
      security,
      response: { 200: AgentResponse, ...errorResponses },
    },
    handler: (request) => assignment.ownProfile(actorOf(request)),
  });
  app.put('/me/availability', {
    schema: {
      tags: Tags,
      summary: 'Set the caller’s own availability',
      security,
      body: AvailabilityBody,
      response: { 200: AgentResponse, ...errorResponses },
    },
    handler: (request) => {
      const actor = actorOf(request);
      return assignment.setAvailability(actor, actor.userId, request.body.availability);
    },
  });
  app.patch('/agents/:userId', {
    schema: {
      tags: Tags,
      summary: 'Change an agent’s capacity, skills or seniority (admin:users)',
      security,
      params: UserParams,
      body: UpdateAgentBody,
      response: { 200: AgentResponse, ...errorResponses },
    },
    handler: (request) => assignment.updateAgent(actorOf(request), request.params.userId, request.body),
  });
  app.get('/teams/:teamId/routing', {
    schema: {
      tags: Tags,
      summary: 'A team’s automatic assignment (admin:teams)',
      security,
      params: TeamParams,
      response: { 200: RoutingResponse, ...errorResponses },
    },
    handler: (request) => assignment.getRouting(actorOf(request), request.params.teamId),
  });
  app.put('/teams/:teamId/routing', {
    schema: {
      tags: Tags,
      summary: 'Configure a team’s automatic assignment (admin:teams)',
      description:
        'New tickets of the team go to an available member with room (and the skill their category needs). Tickets nobody can take wait unassigned and are assigned when someone frees up.',
      security,
      params: TeamParams,
      body: RoutingBody,
      response: { 200: RoutingResponse, ...errorResponses },
    },
    handler: (request) => assignment.setRouting(actorOf(request), request.params.teamId, request.body),
  });
};
