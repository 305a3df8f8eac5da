import type { Logger } from 'pino';
import type { Database, Executor } from '../../platform/db/database.js';
import { directory } from '../identity/index.js';
import type { TicketRow, TicketsModule } from '../tickets/index.js';
import { clockOf, derived, escalationLevels } from './clocks.js';
import type { SlaConfiguration, SlaConfigurationCache } from './configuration.cache.js';
import { type NumberedLevel, pendingSteps, type TimerClock } from './timers.js';
import * as repo from './timers.repository.js';
import { clockState, type FireScheduler } from './timers.service.js';

/** Picks the senior agent a breached ticket is reassigned to (the assignment module's). */
export type SeniorPicker = (
  tx: Executor,
  input: { orgId: string; teamId: string | null; excludeUserIds: string[]; seniorRole: string | null },
) => Promise<string | null>;

/** Who fired a step: the delayed job or the sweep (recorded for diagnosis). */
export type FiredBy = 'job' | 'sweep';

/** Timers a sweep fires at once: a backlog clears several times faster, and the pool keeps room for requests. */
const SWEEP_CONCURRENCY = 4;

const STEP_TIMELINE = { at_risk: 'sla_at_risk', breached: 'sla_breached' } as const;

/**
 * Takes the at-risk, breach and escalation steps of timers that are due. Every step is
 * recorded in `sla_timer_events`, whose unique key lets exactly one transaction take it:
 * a delayed job, the sweep and a second worker process may all try, and a crash rolls a
 * half-taken step back for the next try. Each attempt re-reads the timer under lock, so a
 * stale job (the timer paused, stopped or moved) does nothing.
 */
export class SlaFiringService {
  constructor(
    private readonly deps: {
      database: Database;
      logger: Logger;
      configuration: SlaConfigurationCache;
      tickets: TicketsModule;
      pickSenior: SeniorPicker;
      schedule: FireScheduler;
    },
  ) {}

  /**
   * Takes a timer's due steps. Returns when its next step is due (null: none left) and
   * whether anything was due; after acting it schedules the next step itself. A timer not
   * yet due is left alone: whoever moved its due time scheduled it.
   */
  async fire(
    orgId: string,
    timerId: string,
    firedBy: FiredBy,
    now = new Date(),
  ): Promise<{ next: Date | null; acted: boolean }> {
    const result = await this.deps.database.withOrg(orgId, async (tx) => {
      const peek = await repo.findTimer(tx, timerId);
      if (!peek?.nextFireAt || peek.completedAt) return { next: null, acted: false };
      if (peek.nextFireAt > now) return { next: peek.nextFireAt, acted: false };
      // Ticket first, then timer: the order ticket changes lock them in.
      const ticket = await this.deps.tickets.system.find(tx, orgId, peek.ticketId, { lock: true });
      const timer = await repo.findTimer(tx, timerId, { lock: true });
      if (!timer?.nextFireAt || timer.completedAt) return { next: null, acted: false };
      if (timer.nextFireAt > now) return { next: timer.nextFireAt, acted: false };
      if (!ticket) {
        await repo.updateTimer(tx, timer.id, { completedAt: now, nextFireAt: null });
        return { next: null, acted: true };
      }
      const configuration = await this.deps.configuration.of(tx, orgId);
      return { next: await this.takeSteps(tx, configuration, ticket, timer, firedBy, now), acted: true };
    });
    if (result.acted && result.next) this.deps.schedule(orgId, timerId, result.next);
    return result;
  }

  /**
   * Fires every timer whose next step is due by `now` minus `graceMs` (so it does not race
   * the delayed jobs that are on time), in batches, `concurrency` timers at a time (each in
   * its own transaction); returns how many it fired.
   */
  async sweep(
    options: { now?: Date; graceMs?: number; batch?: number; concurrency?: number } = {},
  ): Promise<number> {
    const batch = options.batch ?? 500;
    const concurrency = options.concurrency ?? SWEEP_CONCURRENCY;
    let fired = 0;
    // A timer that stays due after firing (its step failed to move it) must not keep a sweep going.
    const seen = new Set<string>();
    for (;;) {
      const now = options.now ?? new Date();
      const before = new Date(now.getTime() - (options.graceMs ?? 0));
      const selected = await this.deps.database.transaction((tx) => repo.dueTimers(tx, before, batch));
      const due = selected.filter((timer) => !seen.has(timer.id));
      for (const timer of due) seen.add(timer.id);
      let next = 0;
      const lane = async () => {
        while (next < due.length) {
          const timer = due[next++]!;
          await this.fire(timer.orgId, timer.id, 'sweep', now);
          fired += 1;
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, due.length) }, lane));
      if (selected.length < batch || due.length === 0) return fired;
    }
  }

  private async takeSteps(
    tx: Executor,
    configuration: SlaConfiguration,
    ticket: TicketRow,
    timer: repo.TimerRow,
    firedBy: FiredBy,
    now: Date,
  ): Promise<Date | null> {
    const levels = escalationLevels(configuration);
    const clock = clockOf(configuration, timer.calendarId);
    const taken: Pick<TimerClock, 'atRiskFiredAt' | 'breachedAt' | 'escalatedLevels'> = {
      atRiskFiredAt: timer.atRiskFiredAt,
      breachedAt: timer.breachedAt,
      escalatedLevels: [...timer.escalatedLevels],
    };
    let current = ticket;
    for (const step of pendingSteps(clock, clockState(timer), levels)) {
      if (step.at > now) break;
      const base = {
        orgId: timer.orgId,
        timerId: timer.id,
        ticketId: timer.ticketId,
        dueAt: step.at,
        firedBy,
      };
      if (step.kind !== 'escalated') {
        if (step.kind === 'at_risk') taken.atRiskFiredAt = now;
        else taken.breachedAt = step.at;
        const data = { timerId: timer.id, timerKind: timer.kind, cycle: timer.cycle, dueAt: timer.dueAt };
        if (await repo.insertTimerEvent(tx, { ...base, kind: step.kind, data }))
          await this.deps.tickets.system.record(tx, current, {
            type: STEP_TIMELINE[step.kind],
            isInternal: true,
            data,
          });
      }
      for (const level of step.levels) {
        taken.escalatedLevels.push(level.level);
        if (await repo.insertTimerEvent(tx, { ...base, kind: 'escalated', level: level.level }))
          current = await this.escalate(tx, configuration, current, timer, level);
      }
    }
    // An escalation that raised the priority ran the ticket hooks, which may have given this
    // timer a new target: derive from the stored row, with the steps taken here.
    const fresh = (await repo.findTimer(tx, timer.id)) ?? timer;
    if (fresh.completedAt) return null;
    const state = { ...clockState(fresh), ...taken };
    const columns = { ...taken, ...derived(clock, state, levels) };
    if (fresh.calendarId !== timer.calendarId)
      Object.assign(columns, derived(clockOf(configuration, fresh.calendarId), state, levels));
    const updated = await repo.updateTimer(tx, timer.id, columns);
    return updated.nextFireAt;
  }

  /** One escalation level on a ticket: notify, reassign, raise priority, and say so in the timeline. */
  private async escalate(
    tx: Executor,
    configuration: SlaConfiguration,
    ticket: TicketRow,
    timer: repo.TimerRow,
    level: NumberedLevel,
  ): Promise<TicketRow> {
    const { system } = this.deps.tickets;
    const escalation = configuration.escalation;
    let current = ticket;
    const previousAssigneeId = ticket.assigneeId;
    const outcome: Record<string, unknown> = {
      level: level.level,
      trigger: level.trigger,
      timerId: timer.id,
      timerKind: timer.kind,
    };
    if (level.reassignToSenior) {
      const senior = await this.deps.pickSenior(tx, {
        orgId: ticket.orgId,
        teamId: ticket.teamId,
        excludeUserIds: previousAssigneeId ? [previousAssigneeId] : [],
        seniorRole: escalation?.seniorRole ?? null,
      });
      if (senior) {
        current = await system.assign(tx, current, senior, { reason: 'sla_escalation', level: level.level });
        outcome.reassignedTo = senior;
      } else {
        outcome.reassignedTo = null;
        outcome.note = 'no available senior agent with room in the team';
      }
    }
    if (level.raisePriority) {
      const before = current.priority;
      current = await system.raisePriority(tx, current, { reason: 'sla_escalation', level: level.level });
      outcome.priority = { from: before, to: current.priority };
    }
    const recipients = new Set<string>();
    for (const who of level.notify) {
      if (who === 'assignee' && current.assigneeId) recipients.add(current.assigneeId);
      if (who === 'previous_assignee' && previousAssigneeId) recipients.add(previousAssigneeId);
      if (who === 'escalation_managers') for (const id of escalation?.managerIds ?? []) recipients.add(id);
      if (who === 'team_leads' && current.teamId)
        for (const member of await directory.teamMembers(tx, current.orgId, current.teamId))
          if (member.role === 'team_lead' && member.isActive) recipients.add(member.id);
    }
    // Reassigning notifies both ends, whatever the level lists.
    if (outcome.reassignedTo) {
      recipients.add(outcome.reassignedTo as string);
      if (previousAssigneeId) recipients.add(previousAssigneeId);
    }
    outcome.recipients = [...recipients];
    await system.record(tx, current, { type: 'sla_escalated', isInternal: true, data: outcome });
    return current;
  }
}
