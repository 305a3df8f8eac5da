import type { FastifyInstance } from 'fastify';
import type { Database, Executor } from '../../platform/db/database.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import type { TicketRouter, TicketsModule } from '../tickets/index.js';
import { assignmentRoutes } from './assignment.routes.js';
import { AssignmentService, type Avoid } from './assignment.service.js';
import { RoutedTeamsCache } from './routing.cache.js';

export {
  DRAIN_TEAM_JOB,
  DrainTeamPayload,
  defineAssignmentJobs,
  drainsAfter,
  PLAN_DRAINS_JOB,
  SWEEP_JOB,
  scheduleAssignmentJobs,
} from './assignment.jobs.js';
export type { Candidate } from './assignment.repository.js';
export {
  AgentAvailabilityChanged,
  AgentProfileUpdated,
  AssignmentMode,
  Availability,
  TeamRoutingUpdated,
} from './assignment.schema.js';
export { chooseAgent } from './assignment.service.js';
/** Assignment tables, for foreign keys only. */
export * as assignmentTables from './assignment.table.js';

/** Automatic assignment: routing rules per team, agents' availability, capacity and skills. */
export interface AssignmentModule {
  /** Automatic assignment of new tickets (set as the tickets module's router). */
  router: TicketRouter;
  /** For SLA escalation: the least-loaded available senior agent of the team under capacity, or null. */
  pickSenior(
    tx: Executor,
    input: { orgId: string; teamId: string | null; excludeUserIds: string[]; seniorRole: string | null },
  ): Promise<string | null>;
  /**
   * Assigns queued tickets of a team while agents have room; returns how many. `avoid` keeps
   * a ticket that was just unassigned away from the agent who gave it up.
   */
  drainTeam(orgId: string, teamId: string, avoid?: Avoid): Promise<number>;
  /** Teams of an agent that assign automatically (where a slot the agent frees is used). */
  routedTeamsOf(orgId: string, userId: string): Promise<string[]>;
  /** Teams of every organisation with tickets waiting and routing on (the minutely sweep). */
  queuedTeams(): Promise<Array<{ orgId: string; teamId: string }>>;
  /** Starts the routed-teams cache's eviction subscription (once). */
  start(): Promise<void>;
  register(app: FastifyInstance): Promise<void>;
}

export function createAssignmentModule(
  platform: { database: Database; pubsub: PubSub },
  tickets: TicketsModule,
): AssignmentModule {
  const routedTeams = new RoutedTeamsCache(platform.pubsub);
  const service = new AssignmentService({ database: platform.database, tickets, routedTeams });
  return {
    router: { route: (tx, draft) => service.route(tx, draft) },
    pickSenior: (tx, input) => service.pickSenior(tx, input),
    drainTeam: (orgId, teamId, avoid) => service.drainTeam(orgId, teamId, avoid),
    routedTeamsOf: (orgId, userId) => service.routedTeamsOf(orgId, userId),
    queuedTeams: () => service.queuedTeams(),
    start: () => routedTeams.start(),
    async register(app) {
      await routedTeams.start();
      await app.register(assignmentRoutes, { prefix: '/api/v1', assignment: service });
    },
  };
}
