import type { Logger } from 'pino';
import { z } from 'zod';
import { EventEnvelope } from '../../platform/events/events.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import {
  DONE_STATUSES,
  TicketAssigned,
  TicketDeleted,
  TicketEventPayload,
  TicketMerged,
  TicketStatusChanged,
} from '../tickets/index.js';
import { AgentAvailabilityChanged, AgentProfileUpdated, TeamRoutingUpdated } from './assignment.schema.js';
import type { Avoid } from './assignment.service.js';

export const DRAIN_TEAM_JOB = 'assignment.drain-team';
export const PLAN_DRAINS_JOB = 'assignment.plan-drains';
export const SWEEP_JOB = 'assignment.sweep';

export const DrainTeamPayload = z
  .object({
    orgId: z.uuid(),
    teamId: z.uuid(),
    /** The ticket was just unassigned: do not hand it straight back to that agent. */
    avoid: z.object({ ticketId: z.uuid(), userId: z.uuid() }).strict().optional(),
  })
  .strict();

/** What an event asks of the team queues: teams to drain, and agents whose teams to drain. */
export interface DrainPlan {
  teams: Array<{ teamId: string; avoid?: Avoid }>;
  agents: string[];
}

const NOTHING: DrainPlan = { teams: [], agents: [] };
const isDone = (status: unknown) => DONE_STATUSES.includes(status as (typeof DONE_STATUSES)[number]);

/**
 * Decides from an event alone (no reads) which queues may now move: a ticket that stopped
 * occupying its assignee (resolved, closed, merged away, deleted, reassigned) frees a slot in
 * each of that agent's teams; a ticket that became unassigned in a team (or reopened
 * unassigned) waits in that team's queue; an agent becoming available, gaining capacity or
 * skills, and routing turned on or changed may let anything queued move.
 */
export function drainsAfter(envelope: EventEnvelope): DrainPlan {
  switch (envelope.event) {
    case TicketAssigned.name:
    case TicketStatusChanged.name:
    case TicketDeleted.name:
    case TicketMerged.name:
      return ticketDrains(envelope);
    case AgentAvailabilityChanged.name: {
      const payload = AgentAvailabilityChanged.payload.parse(envelope.payload);
      return payload.to === 'available' ? { teams: [], agents: [payload.userId] } : NOTHING;
    }
    case AgentProfileUpdated.name: {
      const { userId, changes } = AgentProfileUpdated.payload.parse(envelope.payload);
      const capacity = changes.capacity as { from: number | null; to: number | null } | undefined;
      const moreRoom =
        capacity && (capacity.to === null || (capacity.from !== null && capacity.to > capacity.from));
      return moreRoom || changes.skills ? { teams: [], agents: [userId] } : NOTHING;
    }
    case TeamRoutingUpdated.name: {
      const payload = TeamRoutingUpdated.payload.parse(envelope.payload);
      return payload.mode === 'off' ? NOTHING : { teams: [{ teamId: payload.teamId }], agents: [] };
    }
    default:
      return NOTHING;
  }
}

function ticketDrains(envelope: EventEnvelope): DrainPlan {
  const ticket = TicketEventPayload.parse(envelope.payload);
  const status = ticket.changes.status;
  const assignee = ticket.changes.assigneeId;
  const wasOpen = !isDone(status ? status.from : ticket.status);
  const isOpen = !isDone(ticket.status) && envelope.event !== TicketDeleted.name;
  const plan: DrainPlan = { teams: [], agents: [] };
  const previousAssignee = assignee ? assignee.from : ticket.assigneeId;
  if (typeof previousAssignee === 'string' && wasOpen && (!isOpen || previousAssignee !== ticket.assigneeId))
    plan.agents.push(previousAssignee);
  const becameQueued = assignee !== undefined || ticket.changes.teamId !== undefined || !wasOpen;
  if (isOpen && ticket.assigneeId === null && ticket.teamId && becameQueued) {
    const avoid =
      typeof assignee?.from === 'string' && envelope.aggregateId
        ? { ticketId: envelope.aggregateId, userId: assignee.from }
        : undefined;
    plan.teams.push({ teamId: ticket.teamId, ...(avoid ? { avoid } : {}) });
  }
  return plan;
}

/** What the jobs need of the assignment module. */
export interface QueueDrainer {
  drainTeam(orgId: string, teamId: string, avoid?: Avoid): Promise<number>;
  routedTeamsOf(orgId: string, userId: string): Promise<string[]>;
  queuedTeams(): Promise<Array<{ orgId: string; teamId: string }>>;
}

/**
 * Jobs of automatic assignment. A listener turns ticket, agent and routing events into
 * drain jobs (one per team and event, so a drain already running never swallows a later
 * one); the drain re-reads everything, so running it twice does no harm.
 */
export function defineAssignmentJobs(
  platform: { jobs: JobQueue; subscriptions: EventSubscriptions; logger: Logger },
  assignment: QueueDrainer,
): void {
  platform.jobs.define({
    name: DRAIN_TEAM_JOB,
    queue: 'assignment',
    payload: DrainTeamPayload,
    retry: { attempts: 5, backoffMs: 1_000 },
    async handle({ orgId, teamId, avoid }) {
      const assigned = await assignment.drainTeam(orgId, teamId, avoid);
      if (assigned > 0) platform.logger.debug({ orgId, teamId, assigned }, 'assigned queued tickets');
    },
  });

  platform.jobs.define({
    name: PLAN_DRAINS_JOB,
    queue: 'assignment',
    payload: EventEnvelope,
    retry: { attempts: 5, backoffMs: 1_000 },
    async handle(envelope) {
      const orgId = envelope.orgId;
      const plan = drainsAfter(envelope);
      if (!orgId || (plan.teams.length === 0 && plan.agents.length === 0)) return;
      const teams = new Map(plan.teams.map((team) => [team.teamId, team.avoid]));
      for (const userId of plan.agents)
        for (const teamId of await assignment.routedTeamsOf(orgId, userId))
          if (!teams.has(teamId)) teams.set(teamId, undefined);
      for (const [teamId, avoid] of teams)
        await platform.jobs.enqueue(
          DRAIN_TEAM_JOB,
          { orgId, teamId, ...(avoid ? { avoid } : {}) },
          { jobId: `${DRAIN_TEAM_JOB}.${teamId}.${envelope.id}` },
        );
    },
  });
  // Events can miss a chance (a queued ticket locked by an edit while a slot freed): each
  // minute every waiting queue is drained once more. The job id keeps one sweep drain per team.
  platform.jobs.define({
    name: SWEEP_JOB,
    queue: 'maintenance',
    payload: z.object({}).strict(),
    retry: { attempts: 3, backoffMs: 10_000 },
    async handle() {
      for (const { orgId, teamId } of await assignment.queuedTeams())
        await platform.jobs.enqueue(
          DRAIN_TEAM_JOB,
          { orgId, teamId },
          { jobId: `${DRAIN_TEAM_JOB}.${teamId}.sweep` },
        );
    },
  });

  for (const event of [
    TicketAssigned,
    TicketStatusChanged,
    TicketDeleted,
    TicketMerged,
    AgentAvailabilityChanged,
    AgentProfileUpdated,
    TeamRoutingUpdated,
  ])
    platform.subscriptions.on(event.name, PLAN_DRAINS_JOB);
}

/** Repeatable jobs of automatic assignment (scheduled by worker processes). */
export async function scheduleAssignmentJobs(platform: { jobs: JobQueue }): Promise<void> {
  await platform.jobs.schedule(`${SWEEP_JOB}.minutely`, SWEEP_JOB, '* * * * *', {});
}
