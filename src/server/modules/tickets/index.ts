import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { MalwareScanner } from '../../platform/scan/index.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import { directory } from '../identity/index.js';
import { TicketActionsService } from './actions.service.js';
import { attachmentRoutes } from './attachments.routes.js';
import { AttachmentsService } from './attachments.service.js';
import { BulkService } from './bulk.service.js';
import { TicketFeedService } from './feed.service.js';
import { MessagesService } from './messages.service.js';
import { notificationRoutes } from './notifications.routes.js';
import { NotificationsService } from './notifications.service.js';
import { relationRoutes } from './relations.routes.js';
import { RelationsService } from './relations.service.js';
import { SearchMonths } from './search-months.js';
import { OrgSettingsCache } from './settings.cache.js';
import { settingsRoutes } from './settings.routes.js';
import { SettingsService } from './settings.service.js';
import { SystemTicketChanges } from './system.service.js';
import type { MessageMailSource, TicketChangeHook, TicketRouter, TicketsContext } from './tickets.context.js';
import { TicketListService } from './tickets.list.js';
import { ticketRoutes } from './tickets.routes.js';
import { TicketsService } from './tickets.service.js';
import { ViewCounts } from './views.counts.js';
import { viewRoutes } from './views.routes.js';
import { ViewsService } from './views.service.js';
import { WorkflowService } from './workflow.service.js';

export type {
  TicketActionInput,
  TicketActionsService,
  TicketFieldChanges,
  TicketRenderContext,
} from './actions.service.js';
export type { EmailAttachmentInput, EmailAuthor, EmailIntake, EmailMessageView } from './email-intake.js';
export type { FeedItem, TicketFeedService } from './feed.service.js';
export * from './settings.events.js';
export type { SystemTicketChanges } from './system.service.js';
export { DONE_STATUSES, WAITING_STATUSES } from './ticket-status.js';
export type {
  ChangeOrigin,
  MessageMail,
  MessageMailSource,
  RecordedChange,
  TicketChangeHook,
  TicketDraft,
  TicketRouter,
  TimelineChange,
} from './tickets.context.js';
export * from './tickets.events.js';
export { defineTicketJobs, scheduleTicketJobs } from './tickets.jobs.js';
/** Who sees which ticket: sockets decide delivery with the same rule as the REST API. */
export { canSee, isAgent, type Viewer } from './tickets.policy.js';
export type { TicketHistory, TicketRow } from './tickets.repository.js';
/** Contracts other modules' routes reuse (macros validate ticket fields with them). */
export { Body, Tags, TicketDetailResponse, TicketPriority, TicketStatus, Title } from './tickets.schema.js';
export { seedDemoTickets } from './tickets.seed.js';
export { formatTicketNumber, type TicketSummary } from './tickets.service.js';
/** Ticket tables, for foreign keys only: other modules reach tickets through services. */
export * as ticketTables from './tickets.table.js';

/** The tickets module: tickets, conversations, lists and search, views, templates. */
export interface TicketsModule {
  tickets: TicketsService;
  list: TicketListService;
  messages: MessagesService;
  workflow: WorkflowService;
  relations: RelationsService;
  bulk: BulkService;
  /** Ticket events presented for live clients (sockets) and their reconnect catch-up. */
  feed: TicketFeedService;
  /** Several changes and a reply in one transaction (macros). */
  actions: TicketActionsService;
  /** Changes the system makes (automatic assignment, escalation), in the caller's transaction. */
  system: SystemTicketChanges;
  /** Adds a reaction to every ticket change, run in the changing transaction. */
  onChange(hook: TicketChangeHook): void;
  /** Sets the automatic assignment of new tickets. */
  setRouter(router: TicketRouter): void;
  /** Sets where the ticket view reads what was kept of received mail (the email module). */
  setMailSource(source: MessageMailSource): void;
  /** Replaces the uncached team-membership lookup with the identity module's cached one. */
  setTeamIdsOf(teamIdsOf: TicketsContext['teamIdsOf']): void;
  register(app: FastifyInstance): Promise<void>;
}

/**
 * `teamIdsOf` is the identity module's cached membership lookup; without it (seeding) each
 * request reads the memberships. The settings cache starts listening for evictions in
 * `register`.
 */
export function createTicketsModule(
  platform: {
    database: Database;
    storage: FileStorage;
    logger: Logger;
    pubsub: PubSub;
    scanner: MalwareScanner;
    config: { attachmentMaxBytes: number; attachmentUrlTtlSeconds: number };
  },
  options: { teamIdsOf?: TicketsContext['teamIdsOf'] } = {},
): TicketsModule {
  const orgSettings = new OrgSettingsCache(platform.pubsub);
  const context: TicketsContext = {
    ...platform,
    viewCounts: new ViewCounts(),
    orgSettings,
    searchMonths: new SearchMonths(platform.database),
    teamIdsOf: options.teamIdsOf ?? ((tx, actor) => directory.teamIdsOf(tx, actor.orgId, actor.userId)),
    changeHooks: [],
    router: undefined,
    mail: undefined,
  };
  const tickets = new TicketsService(context);
  const list = new TicketListService(context);
  const messages = new MessagesService(context, platform.config.attachmentUrlTtlSeconds);
  const workflow = new WorkflowService(context, tickets);
  const relations = new RelationsService(context, tickets);
  const bulk = new BulkService(context);
  const attachments = new AttachmentsService(
    context,
    tickets,
    platform.scanner,
    platform.config.attachmentUrlTtlSeconds,
  );
  const notifications = new NotificationsService(context);
  const actions = new TicketActionsService(context, tickets, messages);
  const settings = new SettingsService(context);
  return {
    tickets,
    list,
    messages,
    workflow,
    relations,
    bulk,
    feed: new TicketFeedService(context),
    actions,
    system: new SystemTicketChanges(context),
    onChange(hook) {
      context.changeHooks.push(hook);
    },
    setRouter(router) {
      context.router = router;
    },
    setMailSource(source) {
      context.mail = source;
    },
    setTeamIdsOf(teamIdsOf) {
      context.teamIdsOf = teamIdsOf;
    },
    async register(app) {
      await orgSettings.start();
      await app.register(ticketRoutes, { prefix: '/api/v1', tickets, list, messages, workflow });
      await app.register(relationRoutes, { prefix: '/api/v1', relations, bulk });
      await app.register(attachmentRoutes, {
        prefix: '/api/v1',
        attachments,
        maxBytes: platform.config.attachmentMaxBytes,
      });
      await app.register(notificationRoutes, { prefix: '/api/v1', notifications });
      await app.register(settingsRoutes, { prefix: '/api/v1', settings });
      await app.register(viewRoutes, { prefix: '/api/v1', views: new ViewsService(context) });
    },
  };
}
