import type { BusinessClock } from './business-time.js';
import type { EscalationLevel, TIMER_KINDS, TIMER_STATES } from './sla.table.js';

export type TimerKind = (typeof TIMER_KINDS)[number];
export type TimerState = (typeof TIMER_STATES)[number];

/**
 * The clock of one SLA timer, as stored. Business time used so far is `consumedMs` plus
 * whatever elapsed since `segmentStartedAt`; a paused timer has no segment. Pure functions
 * below derive every instant from this, with an explicit `now`, so tests control time.
 */
export interface TimerClock {
  targetSeconds: number;
  atRiskShare: number;
  consumedMs: number;
  segmentStartedAt: Date | null;
  atRiskFiredAt: Date | null;
  breachedAt: Date | null;
  escalatedLevels: number[];
  completedAt: Date | null;
  kind: TimerKind;
}

/** An escalation level with its number (1-based position in the organisation's policy). */
export interface NumberedLevel extends EscalationLevel {
  level: number;
}

export const numberLevels = (levels: readonly EscalationLevel[]): NumberedLevel[] =>
  levels.map((level, index) => ({ ...level, level: index + 1 }));

const appliesTo = (level: EscalationLevel, kind: TimerKind) => !level.kinds || level.kinds.includes(kind);

/** Business milliseconds used by `now`. */
export function consumedAt(clock: BusinessClock, timer: TimerClock, now: Date): number {
  if (!timer.segmentStartedAt || now <= timer.segmentStartedAt) return timer.consumedMs;
  return timer.consumedMs + clock.between(timer.segmentStartedAt, now);
}

/**
 * The instant a running timer has used `share` of its target: counted on from the segment
 * start, or the segment start itself when that much was used before it (a lowered target).
 */
function instantOfShare(clock: BusinessClock, timer: TimerClock, share: number): Date | null {
  if (!timer.segmentStartedAt) return null;
  const threshold = Math.round(timer.targetSeconds * 1000 * share);
  if (timer.consumedMs >= threshold) return timer.segmentStartedAt;
  return clock.add(timer.segmentStartedAt, threshold - timer.consumedMs);
}

/** When a running timer is due; null while paused. */
export const dueAt = (clock: BusinessClock, timer: TimerClock) => instantOfShare(clock, timer, 1);

/** When a running timer becomes at risk; null while paused. */
export const atRiskAt = (clock: BusinessClock, timer: TimerClock) =>
  instantOfShare(clock, timer, timer.atRiskShare);

/** Business seconds left (negative once overdue). */
export function remainingSeconds(clock: BusinessClock, timer: TimerClock, now: Date): number {
  return Math.round((timer.targetSeconds * 1000 - consumedAt(clock, timer, now)) / 1000);
}

/** A step of a timer's life that fires at a moment: at risk, breach, or an escalation level. */
export type TimerStep =
  | { kind: 'at_risk'; at: Date; levels: NumberedLevel[] }
  | { kind: 'breached'; at: Date; levels: NumberedLevel[] }
  | { kind: 'escalated'; at: Date; levels: NumberedLevel[] };

/**
 * The steps not yet taken, in order, with the instant each is due. At-risk comes before the
 * breach; levels triggered after the breach come in order of their delay, counted in wall
 * time from the due time. Paused and completed timers have none.
 */
export function pendingSteps(
  clock: BusinessClock,
  timer: TimerClock,
  levels: readonly NumberedLevel[],
): TimerStep[] {
  if (timer.completedAt || !timer.segmentStartedAt) return [];
  const due = dueAt(clock, timer)!;
  const mine = levels.filter(
    (level) => appliesTo(level, timer.kind) && !timer.escalatedLevels.includes(level.level),
  );
  const steps: TimerStep[] = [];
  if (!timer.atRiskFiredAt && !timer.breachedAt) {
    // Never after the due time: the at-risk share is below 1 and business time is monotonic.
    steps.push({
      kind: 'at_risk',
      at: atRiskAt(clock, timer)!,
      levels: mine.filter((l) => l.trigger === 'at_risk'),
    });
  }
  if (!timer.breachedAt)
    steps.push({ kind: 'breached', at: due, levels: mine.filter((l) => l.trigger === 'breach') });
  const base = timer.breachedAt ?? due;
  const later = mine
    .filter((level) => level.trigger === 'after_breach')
    .sort((a, b) => (a.delayMinutes ?? 0) - (b.delayMinutes ?? 0));
  for (const level of later)
    steps.push({
      kind: 'escalated',
      at: new Date(base.getTime() + (level.delayMinutes ?? 0) * 60_000),
      levels: [level],
    });
  return steps;
}

/** When the next step is due, or null when nothing is left to fire. */
export function nextFireAt(
  clock: BusinessClock,
  timer: TimerClock,
  levels: readonly NumberedLevel[],
): Date | null {
  return pendingSteps(clock, timer, levels)[0]?.at ?? null;
}

/** The state a live timer shows. */
export function liveState(
  timer: Pick<TimerClock, 'segmentStartedAt' | 'atRiskFiredAt' | 'breachedAt'>,
): TimerState {
  if (timer.breachedAt) return 'breached';
  if (!timer.segmentStartedAt) return 'paused';
  return timer.atRiskFiredAt ? 'at_risk' : 'running';
}

/**
 * The outcome of a timer stopped at `now`: breached when its due time passed (whether or not
 * the breach step had fired yet), met otherwise.
 */
export function outcomeAt(clock: BusinessClock, timer: TimerClock, now: Date): 'met' | 'breached' {
  if (timer.breachedAt) return 'breached';
  return consumedAt(clock, timer, now) >= timer.targetSeconds * 1000 ? 'breached' : 'met';
}

/** Pauses a running timer at `now`: the segment's business time moves into `consumedMs`. */
export function paused(
  clock: BusinessClock,
  timer: TimerClock,
  now: Date,
): Pick<TimerClock, 'consumedMs' | 'segmentStartedAt'> {
  return { consumedMs: consumedAt(clock, timer, now), segmentStartedAt: null };
}
