import { afterCommit, type Executor } from '../../platform/db/database.js';
import { directory } from '../identity/index.js';
import {
  type ChangeOrigin,
  DONE_STATUSES,
  type RecordedChange,
  type TicketRow,
  WAITING_STATUSES,
} from '../tickets/index.js';
import {
  calendarFor,
  choosePolicy,
  clockOf,
  derived,
  escalationLevels,
  type RequesterTraits,
  type SlaPolicy,
  testsRequester,
} from './clocks.js';
import type { SlaConfiguration, SlaConfigurationCache } from './configuration.cache.js';
import type { TIMER_KINDS } from './sla.table.js';
import { consumedAt, outcomeAt, paused, type TimerKind } from './timers.js';
import * as repo from './timers.repository.js';

/** Schedules the firing of a timer's next step (a delayed job); the sweep covers a lost one. */
export type FireScheduler = (orgId: string, timerId: string, at: Date) => void;

const RESPONSE_KINDS: readonly TimerKind[] = ['first_response', 'next_response'];
const isDone = (status: string) => (DONE_STATUSES as readonly string[]).includes(status);
const isWaiting = (status: string) => (WAITING_STATUSES as readonly string[]).includes(status);
const POLICY_FIELDS = ['priority', 'channel', 'categoryId', 'teamId'];

/** A timer being worked on: the stored row plus what this change does to it. */
interface Working {
  row: repo.TimerRow | repo.TimerInsert;
  isNew: boolean;
  dirty: boolean;
  remove: boolean;
}

/**
 * Keeps every ticket's SLA timers in step with the ticket, inside the transaction that
 * changes the ticket (a ticket-change hook): clocks start on creation, pause while the team
 * waits on someone else, resume with the business time left, recompute when the policy or
 * priority changes, and stop on resolution, recording met or breached.
 */
export class SlaTimersService {
  constructor(
    private readonly configuration: SlaConfigurationCache,
    private readonly schedule: FireScheduler,
  ) {}

  /** The ticket-change hook. */
  readonly onTicketChanges = async (
    tx: Executor,
    _origin: ChangeOrigin | null,
    changes: readonly RecordedChange[],
  ) => {
    const relevant = changes.filter(isRelevant);
    if (relevant.length === 0) return;
    const orgId = relevant[0]!.ticket.orgId;
    const configuration = await this.configuration.of(tx, orgId);
    // Without policies no clock runs: deleting the last one stops or removes the clocks it
    // ran (the recompute job), so an organisation without SLAs pays no statement here.
    if (configuration.policies.length === 0) return;
    const existing = relevant.some((entry) => entry.change.type !== 'created');
    const ticketIds = [...new Set(relevant.map((entry) => entry.ticket.id))];
    const active = existing ? await repo.lockActiveTimers(tx, ticketIds) : [];
    const byTicket = new Map<string, Working[]>(ticketIds.map((id) => [id, []]));
    for (const row of active)
      byTicket.get(row.ticketId)!.push({ row, isNew: false, dirty: false, remove: false });
    const requesters = new Map<string, RequesterTraits | undefined>();
    const policyOf = async (ticket: TicketRow) => {
      if (!testsRequester(configuration)) return choosePolicy(configuration, ticket, undefined);
      if (!requesters.has(ticket.requesterId))
        requesters.set(ticket.requesterId, await directory.requesterTraits(tx, orgId, ticket.requesterId));
      return choosePolicy(configuration, ticket, requesters.get(ticket.requesterId));
    };
    const cycles = async (ticketId: string) => repo.lastCycles(tx, ticketId);

    for (const entry of relevant) {
      const timers = byTicket.get(entry.ticket.id)!;
      const plan = new TicketTimers(configuration, entry.ticket, timers, entry.at);
      await plan.apply(entry, policyOf, cycles);
    }

    await this.flush(tx, [...byTicket.values()].flat());
  };

  /**
   * Re-evaluates the live timers of locked tickets after the organisation's SLA
   * configuration changed (a policy edited, reordered or deleted, a calendar or the
   * escalation levels changed): new targets and calendars, business time kept.
   */
  async recomputeTickets(tx: Executor, orgId: string, tickets: readonly TicketRow[], at = new Date()) {
    if (tickets.length === 0) return;
    const configuration = await this.configuration.of(tx, orgId);
    const active = await repo.lockActiveTimers(
      tx,
      tickets.map((ticket) => ticket.id),
    );
    const requesters = testsRequester(configuration)
      ? await directory.requesterTraitsOf(
          tx,
          orgId,
          tickets.map((ticket) => ticket.requesterId),
        )
      : new Map<string, RequesterTraits>();
    const writes: Working[] = [];
    for (const ticket of tickets) {
      const timers: Working[] = active
        .filter((row) => row.ticketId === ticket.id)
        .map((row) => ({ row, isNew: false, dirty: false, remove: false }));
      await new TicketTimers(configuration, ticket, timers, at).recompute(
        choosePolicy(configuration, ticket, requesters.get(ticket.requesterId)),
      );
      writes.push(...timers);
    }
    await this.flush(tx, writes);
  }

  /** Writes what changed and schedules the next steps after commit. */
  private async flush(tx: Executor, writes: readonly Working[]) {
    await repo.deleteTimers(
      tx,
      writes.filter((timer) => timer.remove && !timer.isNew).map((timer) => timer.row.id!),
    );
    const inserted = await repo.insertTimers(
      tx,
      writes.filter((timer) => timer.isNew && !timer.remove).map((timer) => timer.row as repo.TimerInsert),
    );
    const updated = await repo.updateTimerClocks(
      tx,
      writes.filter((t) => t.dirty && !t.isNew && !t.remove).map((t) => t.row as repo.TimerRow),
    );
    const toSchedule = [...inserted, ...updated].filter((row) => row.nextFireAt && !row.completedAt);
    if (toSchedule.length > 0)
      afterCommit(tx, () => {
        for (const row of toSchedule) this.schedule(row.orgId, row.id, row.nextFireAt!);
      });
  }
}

function isRelevant(entry: RecordedChange): boolean {
  const { type, changes = {}, data = {} } = entry.change;
  switch (type) {
    case 'created':
    case 'status_changed':
    case 'deleted':
    case 'merged_into':
      return true;
    case 'comment_added':
      return data.byAgent !== undefined;
    case 'updated':
    case 'assigned':
      return Object.keys(changes).some(
        (key) => POLICY_FIELDS.includes(key) || key.startsWith('customFields.'),
      );
    default:
      return false;
  }
}

/** The timers of one ticket through one recorded change. */
class TicketTimers {
  private readonly levels;

  constructor(
    private readonly configuration: SlaConfiguration,
    private readonly ticket: TicketRow,
    private readonly timers: Working[],
    private readonly at: Date,
  ) {
    this.levels = escalationLevels(configuration);
  }

  async apply(
    entry: RecordedChange,
    policyOf: (ticket: TicketRow) => Promise<SlaPolicy | null>,
    cycles: (ticketId: string) => Promise<Map<string, number>>,
  ): Promise<void> {
    const { type, changes = {}, data = {} } = entry.change;
    const live = () => this.timers.filter((timer) => !timer.remove && !timer.row.completedAt);
    if (type === 'created') {
      const policy = await policyOf(this.ticket);
      if (!policy) return;
      for (const kind of ['first_response', 'resolution'] as const) this.start(policy, kind, 1, this.at);
      return;
    }
    if (type === 'deleted' || type === 'merged_into') {
      for (const timer of live()) this.stop(timer);
      return;
    }
    if (type === 'status_changed') {
      const from = String(changes.status?.from);
      const to = String(changes.status?.to);
      if (isDone(to)) {
        for (const timer of live()) this.stop(timer);
      } else if (isDone(from)) {
        const policy = await policyOf(this.ticket);
        const cycle = ((await cycles(this.ticket.id)).get('resolution') ?? 0) + 1;
        if (policy) this.start(policy, 'resolution', cycle, this.at, isWaiting(to));
      } else if (isWaiting(to) && !isWaiting(from)) {
        for (const timer of live()) this.pause(timer);
      } else if (isWaiting(from) && !isWaiting(to)) {
        for (const timer of live()) this.resume(timer);
      }
      return;
    }
    if (type === 'comment_added') {
      const responses = live().filter((timer) => RESPONSE_KINDS.includes(timer.row.kind as TimerKind));
      if (data.byAgent) {
        for (const timer of responses) this.stop(timer);
        return;
      }
      if (responses.length > 0 || isDone(this.ticket.status)) return;
      const policy = await policyOf(this.ticket);
      if (!policy?.targets[this.ticket.priority]?.next_response) return;
      const cycle = ((await cycles(this.ticket.id)).get('next_response') ?? 0) + 1;
      this.start(policy, 'next_response', cycle, this.at, isWaiting(this.ticket.status));
      return;
    }
    await this.recompute(await policyOf(this.ticket));
  }

  /** A new timer of `kind` when the policy sets a target for it at the ticket's priority. */
  private start(
    policy: SlaPolicy,
    kind: (typeof TIMER_KINDS)[number],
    cycle: number,
    from: Date,
    paused = false,
  ) {
    const targetSeconds = policy.targets[this.ticket.priority]?.[kind];
    if (!targetSeconds) return;
    const calendarId = calendarFor(this.configuration, policy, this.ticket.teamId);
    const row: repo.TimerInsert = {
      orgId: this.ticket.orgId,
      ticketId: this.ticket.id,
      policyId: policy.id,
      kind,
      cycle,
      targetSeconds,
      calendarId,
      atRiskShare: policy.atRiskShare,
      startedAt: from,
      segmentStartedAt: paused ? null : from,
      pausedAt: paused ? from : null,
      consumedMs: 0,
      atRiskFiredAt: null,
      breachedAt: null,
      escalatedLevels: [],
      completedAt: null,
    };
    this.timers.push({ row: this.refresh(row), isNew: true, dirty: true, remove: false });
  }

  private pause(timer: Working) {
    if (!timer.row.segmentStartedAt) return;
    const clock = clockOf(this.configuration, timer.row.calendarId ?? null);
    Object.assign(timer.row, paused(clock, clockState(timer.row), this.at), { pausedAt: this.at });
    this.touch(timer);
  }

  private resume(timer: Working) {
    if (timer.row.segmentStartedAt) return;
    Object.assign(timer.row, { segmentStartedAt: this.at, pausedAt: null });
    this.touch(timer);
  }

  /** Stops a timer at this change, recording whether it met its target. */
  private stop(timer: Working) {
    const clock = clockOf(this.configuration, timer.row.calendarId ?? null);
    const state = outcomeAt(clock, clockState(timer.row), this.at);
    const consumedMs = consumedAt(clock, clockState(timer.row), this.at);
    Object.assign(timer.row, {
      state,
      consumedMs,
      completedAt: this.at,
      nextFireAt: null,
      segmentStartedAt: null,
    });
    timer.dirty = true;
  }

  /**
   * The ticket's policy or priority may have changed: live timers take the new target and
   * calendar, keeping the business time they used; kinds the policy no longer sets stop
   * (or vanish if they never fired anything); a policy that newly applies starts its clocks
   * from the ticket's creation.
   */
  async recompute(policy: SlaPolicy | null) {
    const live = this.timers.filter((timer) => !timer.remove && !timer.row.completedAt);
    for (const timer of live) {
      const targetSeconds = policy?.targets[this.ticket.priority]?.[timer.row.kind as TimerKind];
      if (!policy || !targetSeconds) {
        if (timer.row.atRiskFiredAt || timer.row.breachedAt) this.stop(timer);
        else timer.remove = true;
        continue;
      }
      const clock = clockOf(this.configuration, timer.row.calendarId ?? null);
      const running = Boolean(timer.row.segmentStartedAt);
      Object.assign(timer.row, {
        consumedMs: consumedAt(clock, clockState(timer.row), this.at),
        segmentStartedAt: running ? this.at : null,
        targetSeconds,
        policyId: policy.id,
        atRiskShare: policy.atRiskShare,
        calendarId: calendarFor(this.configuration, policy, this.ticket.teamId),
      });
      this.touch(timer);
    }
    if (!policy || isDone(this.ticket.status) || live.length > 0 || this.timers.length > 0) return;
    const kinds = this.ticket.firstResponseAt
      ? (['resolution'] as const)
      : (['first_response', 'resolution'] as const);
    for (const kind of kinds)
      this.start(policy, kind, 1, this.ticket.createdAt, isWaiting(this.ticket.status));
    // Clocks started in the past count the business time since creation (pauses before
    // the policy applied are not known and count as worked time).
    for (const timer of this.timers.filter((t) => t.isNew && !t.row.segmentStartedAt)) {
      const clock = clockOf(this.configuration, timer.row.calendarId ?? null);
      timer.row.consumedMs = clock.between(this.ticket.createdAt, this.at);
      timer.row.pausedAt = this.at;
      this.touch(timer);
    }
  }

  private touch(timer: Working) {
    timer.row = this.refresh(timer.row);
    timer.dirty = true;
  }

  /** Recomputes state, due, at-risk and next-fire instants from the clock columns. */
  private refresh<T extends repo.TimerRow | repo.TimerInsert>(row: T): T {
    const clock = clockOf(this.configuration, row.calendarId ?? null);
    return { ...row, ...derived(clock, clockState(row), this.levels) };
  }
}

/** The clock columns of a stored or new row. */
export function clockState(row: repo.TimerRow | repo.TimerInsert) {
  return {
    targetSeconds: row.targetSeconds,
    atRiskShare: row.atRiskShare,
    consumedMs: row.consumedMs ?? 0,
    segmentStartedAt: row.segmentStartedAt ?? null,
    atRiskFiredAt: row.atRiskFiredAt ?? null,
    breachedAt: row.breachedAt ?? null,
    escalatedLevels: row.escalatedLevels ?? [],
    completedAt: row.completedAt ?? null,
    kind: row.kind as TimerKind,
  };
}
