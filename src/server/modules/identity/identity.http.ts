import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../../platform/http/app-error.js';
import type { AuthService } from './auth.service.js';
import type { ClientInfo } from './identity.context.js';
import type { Actor } from './identity.policy.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Routes are authenticated unless they say `public: true`. */
    public?: boolean;
  }
  interface FastifyRequest {
    actor: Actor | null;
  }
}

/**
 * Authenticates every route that is not marked public, before validation runs, so that an
 * anonymous caller learns nothing about a route's schema.
 */
export function registerAuthentication(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public || !request.routeOptions.url) return;
    request.actor = await auth.authenticate(request.headers.authorization, String(request.id));
  });
}

/** The authenticated actor of a non-public route. */
export function actorOf(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('UNAUTHENTICATED', 'Authentication required');
  return request.actor;
}

export function clientOf(request: FastifyRequest): ClientInfo {
  return { ip: request.ip, userAgent: request.headers['user-agent'], requestId: String(request.id) };
}
