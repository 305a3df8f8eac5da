import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/database.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import { attachmentRoutes } from './attachments.routes.js';
import { AttachmentsService } from './attachments.service.js';
import { BulkService } from './bulk.service.js';
import { MessagesService } from './messages.service.js';
import { notificationRoutes } from './notifications.routes.js';
import { NotificationsService } from './notifications.service.js';
import { relationRoutes } from './relations.routes.js';
import { RelationsService } from './relations.service.js';
import type { TicketsContext } from './tickets.context.js';
import { TicketListService } from './tickets.list.js';
import { ticketRoutes } from './tickets.routes.js';
import { TicketsService } from './tickets.service.js';
import { ViewCounts } from './views.counts.js';
import { WorkflowService } from './workflow.service.js';

export * from './tickets.events.js';
export { defineTicketJobs, scheduleTicketJobs } from './tickets.jobs.js';
export { seedDemoTickets } from './tickets.seed.js';
export { formatTicketNumber } from './tickets.service.js';

/** The tickets module: tickets, conversations, lists and search, views, templates. */
export interface TicketsModule {
  tickets: TicketsService;
  list: TicketListService;
  messages: MessagesService;
  workflow: WorkflowService;
  relations: RelationsService;
  bulk: BulkService;
  register(app: FastifyInstance): Promise<void>;
}

export function createTicketsModule(platform: {
  database: Database;
  storage: FileStorage;
  logger: Logger;
  config: { attachmentMaxBytes: number };
}): TicketsModule {
  const context: TicketsContext = { ...platform, viewCounts: new ViewCounts() };
  const tickets = new TicketsService(context);
  const list = new TicketListService(context);
  const messages = new MessagesService(context);
  const workflow = new WorkflowService(context, tickets);
  const relations = new RelationsService(context, tickets);
  const bulk = new BulkService(context);
  const attachments = new AttachmentsService(context, tickets);
  const notifications = new NotificationsService(context);
  return {
    tickets,
    list,
    messages,
    workflow,
    relations,
    bulk,
    async register(app) {
      await app.register(ticketRoutes, { prefix: '/api/v1', tickets, list, messages, workflow });
      await app.register(relationRoutes, { prefix: '/api/v1', relations, bulk });
      await app.register(attachmentRoutes, {
        prefix: '/api/v1',
        attachments,
        maxBytes: platform.config.attachmentMaxBytes,
      });
      await app.register(notificationRoutes, { prefix: '/api/v1', notifications });
    },
  };
}
