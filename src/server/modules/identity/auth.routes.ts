import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import type { AuthService } from './auth.service.js';
import { actorOf, clientOf } from './identity.http.js';
import { LoginBody, RefreshBody, SignupBody, SignupResponse, TokenPair } from './identity.schema.js';
import type { OrganizationsService } from './organizations.service.js';

/** Sign-in, refresh, sign-out and organisation sign-up. */
export const authRoutes: FastifyPluginAsyncZod<{
  auth: AuthService;
  organizations: OrganizationsService;
}> = async (app, { auth, organizations }) => {
  app.post('/auth/login', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Sign in with e-mail and password',
      body: LoginBody,
      response: { 200: TokenPair, ...errorResponses },
    },
    handler: (request) => auth.login(request.body, clientOf(request)),
  });

  app.post('/auth/refresh', {
    config: { public: true },
    schema: {
      tags: ['auth'],
      summary: 'Exchange a refresh token for a new pair (the old one is used up)',
      body: RefreshBody,
      response: { 200: TokenPair, ...errorResponses },
    },
    handler: (request) => auth.refresh(request.body.refreshToken, clientOf(request)),
  });

  app.post('/auth/logout', {
    schema: {
      tags: ['auth'],
      summary: 'Sign out: end this session (refresh and access tokens)',
      security: [{ bearer: [] }],
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await auth.logout(actorOf(request));
      return reply.status(204).send(null);
    },
  });

  app.post('/orgs', {
    config: { public: true },
    schema: {
      tags: ['organizations'],
      summary: 'Sign up a new organisation with its first admin',
      body: SignupBody,
      response: { 201: SignupResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await organizations.signup(request.body, clientOf(request))),
  });
};
