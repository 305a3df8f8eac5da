import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { isAgent, type TicketsModule } from '../tickets/index.js';
import type { PresenceService } from './presence.service.js';
import { PresenceResponse } from './realtime.schema.js';

/** Presence for clients without a socket: who has a ticket open and who is typing. */
export const presenceRoutes: FastifyPluginAsyncZod<{
  presence: PresenceService;
  tickets: Pick<TicketsModule, 'tickets'>;
}> = async (app, { presence, tickets }) => {
  app.get('/tickets/:id/presence', {
    schema: {
      tags: ['tickets'],
      summary: 'Who has the ticket open, and who is typing (agents)',
      description:
        'The same lists `presence:update` carries on the socket. 404 when the caller may not see the ticket; presence is shared among agents, so requesters get 403.',
      security: [{ bearer: [] }],
      params: z.object({ id: z.uuid() }),
      response: { 200: PresenceResponse, ...errorResponses },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      const [ticket] = await tickets.tickets.summaries(actor, [request.params.id]);
      if (!ticket) throw new AppError('NOT_FOUND', 'Ticket not found');
      if (!isAgent(actor)) throw new AppError('FORBIDDEN', 'Presence is shared among agents only');
      return presence.current(ticket.id);
    },
  });
};
