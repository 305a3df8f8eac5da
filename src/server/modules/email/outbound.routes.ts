import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { DELIVERY_KINDS, DELIVERY_STATUSES } from './email.table.js';
import type { OutboundMailService } from './outbound.service.js';

export const DeliveryResponse = z.object({
  id: z.uuid(),
  kind: z.enum(DELIVERY_KINDS),
  status: z.enum(DELIVERY_STATUSES),
  to: z.string(),
  subject: z.string(),
  messageId: z.string(),
  inReplyTo: z.string().nullable(),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  smtpResponse: z.string().nullable(),
  queuedAt: z.string(),
  sentAt: z.string().nullable(),
});

/** The mail a ticket caused, for agents. */
export const outboundRoutes: FastifyPluginAsyncZod<{ outbound: OutboundMailService }> = async (
  app,
  { outbound },
) => {
  app.get('/tickets/:id/email-deliveries', {
    schema: {
      tags: ['Email'],
      summary: 'Mail sent (or queued, or failed) for a ticket, newest first',
      security: [{ bearer: [] }],
      params: z.object({ id: z.uuid() }).strict(),
      response: { 200: z.object({ data: z.array(DeliveryResponse) }), ...errorResponses },
    },
    handler: (request) => outbound.listForTicket(actorOf(request), request.params.id),
  });
};
