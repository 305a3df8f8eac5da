import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import type { NotificationsService } from './notifications.service.js';

const security = [{ bearer: [] }];
const tags = ['notifications'];

const Notification = z
  .object({
    id: z.uuid(),
    kind: z.string(),
    ticketId: z.uuid().nullable(),
    messageId: z.uuid().nullable(),
    actorId: z.uuid().nullable(),
    data: z.record(z.string(), z.unknown()),
    readAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: 'Notification' });

/** The caller's notifications: list, mark one or all read. */
export const notificationRoutes: FastifyPluginAsyncZod<{ notifications: NotificationsService }> = async (
  app,
  { notifications },
) => {
  app.get('/notifications', {
    schema: {
      tags,
      summary: 'My notifications, newest first',
      security,
      querystring: z.object({
        unread: z
          .enum(['true', 'false'])
          .default('false')
          .transform((value) => value === 'true'),
        before: z.uuid().optional(),
        limit: z.coerce.number().int().min(1).max(100).default(25),
      }),
      response: {
        200: z.object({
          data: z.array(Notification),
          meta: z.object({
            limit: z.number().int(),
            unread: z.number().int(),
            nextCursor: z.string().nullable(),
          }),
        }),
        ...errorResponses,
      },
    },
    handler: (request) => notifications.list(actorOf(request), request.query),
  });

  app.post('/notifications/:id/read', {
    schema: {
      tags,
      summary: 'Mark a notification read',
      security,
      params: z.object({ id: z.uuid() }),
      response: { 200: z.object({ marked: z.number().int() }), ...errorResponses },
    },
    handler: (request) => notifications.markRead(actorOf(request), request.params.id),
  });

  app.post('/notifications/read-all', {
    schema: {
      tags,
      summary: 'Mark all my notifications read',
      security,
      response: { 200: z.object({ marked: z.number().int() }), ...errorResponses },
    },
    handler: (request) => notifications.markRead(actorOf(request), 'all'),
  });
};
