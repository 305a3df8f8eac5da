import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import { AppError } from '../../platform/http/app-error.js';
import { withRouteHook } from '../../platform/http/route-helpers.js';
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
 * anonymous caller learns nothing about a route's schema. Install it before any route is
 * added: the hook is attached to each route as it is defined, so routes defined earlier
 * would go unprotected.
 */
export function installAuthentication(app: FastifyInstance, auth: AuthService): void {
  app.decorateRequest('actor', null);
  // Callback style with a synchronous fast path: a cached token costs no promise.
  const authenticate: onRequestHookHandler = (request, _reply, done) => {
    const header = request.headers.authorization;
    const requestId = String(request.id);
    let actor: Actor | undefined;
    try {
      actor = auth.authenticateCached(header, requestId);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (actor) {
      request.actor = actor;
      done();
      return;
    }
    auth.authenticate(header, requestId).then((resolved) => {
      request.actor = resolved;
      done();
    }, done);
  };
  app.addHook('onRoute', (route) => {
    if (route.config?.public) return;
    route.onRequest = withRouteHook(route.onRequest, authenticate, 'first');
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
