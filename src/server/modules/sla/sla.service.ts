import type { z } from 'zod';
import type { Database } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import type { TicketSummary, TicketsModule } from '../tickets/index.js';
import { clockOf, testsRequester } from './clocks.js';
import type { SlaConfiguration, SlaConfigurationCache } from './configuration.cache.js';
import { draftPolicy } from './policies.service.js';
import { simulatePolicy } from './simulate.js';
import type { CreatePolicyBody } from './sla.schema.js';
import { consumedAt, remainingSeconds } from './timers.js';
import * as repo from './timers.repository.js';
import { clockState } from './timers.service.js';

/** A timer as the API shows it: stored instants plus the business time used and left now. */
export function presentTimer(
  configuration: SlaConfiguration,
  timer: repo.TimerRow,
  events: readonly repo.TimerEventRow[],
  now: Date,
) {
  const clock = clockOf(configuration, timer.calendarId);
  const state = clockState(timer);
  const at = timer.completedAt ?? now;
  const iso = (value: Date | null) => value?.toISOString() ?? null;
  return {
    id: timer.id,
    kind: timer.kind,
    cycle: timer.cycle,
    state: timer.state,
    policyId: timer.policyId,
    calendarId: timer.calendarId,
    targetSeconds: timer.targetSeconds,
    businessSecondsUsed: Math.round(consumedAt(clock, state, at) / 1000),
    remainingBusinessSeconds: remainingSeconds(clock, state, at),
    startedAt: timer.startedAt.toISOString(),
    dueAt: iso(timer.dueAt),
    atRiskAt: iso(timer.atRiskAt),
    pausedAt: iso(timer.pausedAt),
    breachedAt: iso(timer.breachedAt),
    completedAt: iso(timer.completedAt),
    events: events.map((event) => ({
      kind: event.kind,
      level: event.level,
      dueAt: event.dueAt.toISOString(),
      firedAt: event.firedAt.toISOString(),
    })),
  };
}

function requireAgent(actor: Actor): void {
  if (!hasPermission(actor, 'ticket:view_team') && !hasPermission(actor, 'ticket:view_all'))
    throw new AppError('FORBIDDEN', 'SLA timers are shown to agents (ticket:view_team)');
}

/** Reads of SLA timers: one ticket's clocks, and the board of timers at risk. */
export class SlaReadService {
  constructor(
    private readonly deps: {
      database: Database;
      configuration: SlaConfigurationCache;
      tickets: TicketsModule;
    },
  ) {}

  /** The timers of a ticket the actor may see, live ones first. */
  async ticketTimers(actor: Actor, ticketId: string) {
    requireAgent(actor);
    const [ticket] = await this.deps.tickets.tickets.summaries(actor, [ticketId]);
    if (!ticket) throw notFound('Ticket');
    return this.deps.database.withOrg(actor.orgId, async (tx) => {
      const configuration = await this.deps.configuration.of(tx, actor.orgId);
      const timers = await repo.timersOfTicket(tx, ticket.id);
      const events = await repo.eventsOfTimers(
        tx,
        timers.map((timer) => timer.id),
      );
      const now = new Date();
      const ordered = [...timers].sort(
        (a, b) => Number(Boolean(a.completedAt)) - Number(Boolean(b.completedAt)),
      );
      return {
        data: ordered.map((timer) =>
          presentTimer(
            configuration,
            timer,
            events.filter((event) => event.timerId === timer.id),
            now,
          ),
        ),
      };
    });
  }

  /**
   * Live timers that are at risk, breached, or due within `withinMinutes`, soonest first,
   * on tickets the actor may see (optionally of one team or assignee).
   */
  async atRisk(
    actor: Actor,
    query: {
      teamId?: string | undefined;
      assigneeId?: string | undefined;
      withinMinutes: number;
      limit: number;
    },
  ) {
    requireAgent(actor);
    const now = new Date();
    const { configuration, timers } = await this.deps.database.withOrg(actor.orgId, async (tx) => ({
      configuration: await this.deps.configuration.of(tx, actor.orgId),
      // Over-fetch: tickets the actor may not see, or of other teams, are dropped below.
      timers: await repo.boardTimers(
        tx,
        actor.orgId,
        new Date(now.getTime() + query.withinMinutes * 60_000),
        2_000,
      ),
    }));
    const summaries = new Map<string, TicketSummary>(
      (
        await this.deps.tickets.tickets.summaries(actor, [...new Set(timers.map((timer) => timer.ticketId))])
      ).map((ticket) => [ticket.id, ticket]),
    );
    const data = [];
    for (const timer of timers) {
      const ticket = summaries.get(timer.ticketId);
      if (!ticket || ticket.status === 'resolved' || ticket.status === 'closed') continue;
      if (query.teamId && ticket.teamId !== query.teamId) continue;
      if (query.assigneeId && ticket.assigneeId !== query.assigneeId) continue;
      data.push({
        timer: presentTimer(configuration, timer, [], now),
        ticket: {
          ...ticket,
          createdAt: ticket.createdAt.toISOString(),
        },
      });
      if (data.length >= query.limit) break;
    }
    return {
      data,
      meta: { limit: query.limit, withinMinutes: query.withinMinutes, generatedAt: now.toISOString() },
    };
  }
}

/** Simulation window limits: how far back, and how many tickets at most. */
export const MAX_SIMULATION_DAYS = 90;
export const MAX_SIMULATION_TICKETS = 20_000;

/** Replays the organisation's recent tickets against a draft policy; writes nothing. */
export class SlaSimulationService {
  constructor(
    private readonly deps: {
      database: Database;
      configuration: SlaConfigurationCache;
      tickets: TicketsModule;
    },
  ) {}

  async simulate(actor: Actor, input: { policy: z.output<typeof CreatePolicyBody>; days: number }) {
    if (!hasPermission(actor, 'sla:manage'))
      throw new AppError('FORBIDDEN', 'Simulating an SLA policy needs sla:manage');
    const now = new Date();
    const since = new Date(now.getTime() - input.days * 86_400_000);
    return this.deps.database.withOrg(actor.orgId, async (tx) => {
      const draft = await draftPolicy(tx, actor.orgId, input.policy);
      const configuration = await this.deps.configuration.of(tx, actor.orgId);
      const histories = await this.deps.tickets.system.history(
        tx,
        actor.orgId,
        since,
        MAX_SIMULATION_TICKETS + 1,
      );
      const truncated = histories.length > MAX_SIMULATION_TICKETS;
      const considered = histories.slice(0, MAX_SIMULATION_TICKETS);
      const requesters = testsRequester({ ...configuration, policies: [draft] })
        ? await directory.requesterTraitsOf(
            tx,
            actor.orgId,
            considered.map((history) => history.ticket.requesterId),
          )
        : new Map();
      const result = simulatePolicy(configuration, draft, considered, requesters, now);
      return { ...result, truncated, window: { from: since.toISOString(), to: now.toISOString() } };
    });
  }
}
