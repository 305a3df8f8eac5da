import type { FastifyInstance } from 'fastify';
import { presenceRoutes } from './presence.routes.js';
import { type GatewayDeps, RealtimeGateway } from './realtime.gateway.js';

/** Live updates, presence and collision warnings over Socket.io (docs/realtime.md). */
export interface RealtimeModule {
  gateway: RealtimeGateway;
  /** Resolves once ticket events received so far went out to the sockets. */
  idle(): Promise<void>;
}

/**
 * Attaches Socket.io to the app's HTTP server (same port as the API), adds
 * `GET /api/v1/tickets/:id/presence` and starts listening for ticket events and revocations.
 * The sockets close with the app (`preClose`), before Fastify closes the server.
 */
export async function registerRealtime(app: FastifyInstance, deps: GatewayDeps): Promise<RealtimeModule> {
  const gateway = new RealtimeGateway(app.server, deps);
  await gateway.start();
  app.addHook('preClose', async () => {
    await gateway.close();
  });
  await app.register(presenceRoutes, {
    prefix: '/api/v1',
    presence: gateway.presence,
    tickets: deps.tickets,
  });
  return { gateway, idle: () => gateway.idle() };
}
