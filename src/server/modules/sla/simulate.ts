import { DONE_STATUSES, type TicketHistory, WAITING_STATUSES } from '../tickets/index.js';
import type { BusinessClock } from './business-time.js';
import { calendarFor, choosePolicy, clockOf, type RequesterTraits, type SlaPolicy } from './clocks.js';
import type { SlaConfiguration } from './configuration.cache.js';
import { TIMER_KINDS } from './sla.table.js';
import type { TimerKind } from './timers.js';

/** Counts of one timer kind in a simulation. */
export interface KindOutcome {
  met: number;
  breached: number;
  /** Still running at the end of the window, not yet breached. */
  running: number;
}

export interface SimulationResult {
  ticketsConsidered: number;
  ticketsMatched: number;
  byKind: Record<TimerKind, KindOutcome>;
}

const isDone = (status: string) => (DONE_STATUSES as readonly string[]).includes(status);
const isWaiting = (status: string) => (WAITING_STATUSES as readonly string[]).includes(status);

/** One clock run: started, and stopped (or still running at `now`). */
interface Run {
  kind: TimerKind;
  start: Date;
  end: Date | null;
}

/**
 * Replays tickets against a draft policy, with the same rules the live timers follow:
 * first response runs from creation to the first public agent reply; next response from a
 * requester's reply (when no response clock runs) to the next agent reply; resolution from
 * creation, and again from each reopening, to resolution. Time in waiting statuses does not
 * count, nor does time outside the calendar. Resolving a ticket stops its response clocks.
 * Pure: nothing is written.
 */
export function simulatePolicy(
  configuration: SlaConfiguration,
  draft: SlaPolicy,
  histories: readonly TicketHistory[],
  requesters: ReadonlyMap<string, RequesterTraits>,
  now: Date,
): SimulationResult {
  const byKind = Object.fromEntries(
    TIMER_KINDS.map((kind) => [kind, { met: 0, breached: 0, running: 0 }]),
  ) as Record<TimerKind, KindOutcome>;
  const only = { ...configuration, policies: [draft] };
  let matched = 0;
  for (const history of histories) {
    const { ticket } = history;
    if (!choosePolicy(only, ticket, requesters.get(ticket.requesterId))) continue;
    matched += 1;
    const clock = clockOf(configuration, calendarFor(configuration, draft, ticket.teamId));
    const waiting = waitingSpans(history, now);
    for (const run of runsOf(history)) {
      const target = draft.targets[ticket.priority]?.[run.kind];
      if (!target) continue;
      const used = workedMs(clock, run.start, run.end ?? now, waiting);
      const outcome = byKind[run.kind];
      if (used > target * 1000) outcome.breached += 1;
      else if (run.end) outcome.met += 1;
      else outcome.running += 1;
    }
  }
  return { ticketsConsidered: histories.length, ticketsMatched: matched, byKind };
}

/** The clock runs a ticket's history produces. */
function runsOf(history: TicketHistory): Run[] {
  const { ticket } = history;
  const moments = [
    ...history.statuses.map((status) => ({ at: status.at, status: status.to, reply: undefined })),
    ...history.replies.map((reply) => ({ at: reply.at, status: undefined, reply: reply.byAgent })),
  ].sort((a, b) => a.at.getTime() - b.at.getTime());
  const runs: Run[] = [];
  const open = new Map<TimerKind, Run>();
  const begin = (kind: TimerKind, at: Date) => {
    const run = { kind, start: at, end: null };
    runs.push(run);
    open.set(kind, run);
  };
  const stop = (kind: TimerKind, at: Date) => {
    const run = open.get(kind);
    if (run) run.end = at;
    open.delete(kind);
  };
  begin('first_response', ticket.createdAt);
  begin('resolution', ticket.createdAt);
  let done = false;
  for (const moment of moments) {
    if (moment.status !== undefined) {
      if (isDone(moment.status) && !done) {
        for (const kind of [...open.keys()]) stop(kind, moment.at);
        done = true;
      } else if (!isDone(moment.status) && done) {
        begin('resolution', moment.at);
        done = false;
      }
    } else if (moment.reply) {
      stop('first_response', moment.at);
      stop('next_response', moment.at);
    } else if (!done && !open.has('first_response') && !open.has('next_response')) {
      begin('next_response', moment.at);
    }
  }
  return runs;
}

/** Spans spent in waiting statuses, in time order. */
function waitingSpans(history: TicketHistory, now: Date): Array<[Date, Date]> {
  const spans: Array<[Date, Date]> = [];
  let since: Date | null = null;
  for (const status of history.statuses) {
    if (isWaiting(status.to) && !since) since = status.at;
    else if (!isWaiting(status.to) && since) {
      spans.push([since, status.at]);
      since = null;
    }
  }
  if (since) spans.push([since, now]);
  return spans;
}

/** Business time between `start` and `end`, less the waiting spans within. */
function workedMs(
  clock: BusinessClock,
  start: Date,
  end: Date,
  waiting: ReadonlyArray<[Date, Date]>,
): number {
  let worked = clock.between(start, end);
  for (const [from, to] of waiting) {
    const overlapStart = from > start ? from : start;
    const overlapEnd = to < end ? to : end;
    if (overlapEnd > overlapStart) worked -= clock.between(overlapStart, overlapEnd);
  }
  return worked;
}
