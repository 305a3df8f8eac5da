import { IANAZone } from 'luxon';
import {
  type BusinessCalendar,
  calendarProblems,
  MINUTES_PER_DAY,
  parseWallTime,
  WEEKDAYS,
} from './business-time.calendar.js';

export type { BusinessCalendar, BusinessInterval, Holiday, Weekday } from './business-time.calendar.js';
export { calendarProblems, isValidTimeZone, WEEKDAYS } from './business-time.calendar.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** How far add, subtract and nextBusinessStart look for business time before giving up. */
const SEARCH_DAYS = 3 * 366;
/** Enough for a sweep over timers due within a few years; memory stays a few hundred kB. */
const MEMO_LIMIT = 2_000;

/**
 * One local date in absolute time: the date spans [start, end) and is open during
 * [bounds[0], bounds[1]), [bounds[2], bounds[3]), … — sorted, disjoint, never touching.
 */
interface DayPlan {
  start: number;
  end: number;
  bounds: number[];
}

/**
 * Business-time arithmetic for one calendar, or round-the-clock when built with `null`
 * (policies without a calendar count 24/7). All amounts in MILLISECONDS, instants as Date.
 *
 * Intervals are wall-clock times in the calendar's zone, each local date evaluated on its
 * own, so DST days count real elapsed time: 09:00–17:00 is always 8 h, while 00:00–24:00 is
 * 23 h on a spring-forward day and 25 h on a fall-back day. A wall time skipped by a spring
 * gap maps to the instant the gap ends; a wall time that occurs twice maps to its first
 * occurrence as a start and to its second as an end. "24:00" is the start of the next local
 * day. Holidays close their whole local date; recurring ones match month and day every year
 * (Feb 29 only in leap years).
 *
 * Each local date's intervals are memoised per instance, so build one clock per calendar and
 * reuse it. A calendar with no business time for 3 years makes the searching methods throw.
 */
export class BusinessClock {
  private readonly zone: IANAZone | null;
  /** Per weekday (Monday first): flat [startMinute, endMinute, …], sorted by start. */
  private readonly week: number[][] = [];
  private readonly holidays = new Set<string>();
  /** Month and day "MM-DD" of recurring holidays. */
  private readonly recurringHolidays = new Set<string>();
  private readonly plans = new Map<number, DayPlan>();
  /** Offsets at UTC midnights: neighbouring dates share them, halving Intl calls. */
  private readonly offsetSamples = new Map<number, number>();
  /** Offset of the last local date located; a first guess that saves an Intl call per lookup. */
  private offsetGuess = 0;

  /**
   * Throws when the calendar has problems (see `calendarProblems`): better no clock than
   * wrong due dates. Build one per calendar and keep it; the memo is what makes it fast.
   */
  constructor(calendar: BusinessCalendar | null) {
    if (calendar === null) {
      this.zone = null;
      return;
    }
    const problems = Object.entries(calendarProblems(calendar));
    if (problems.length > 0) {
      const list = problems.map(([field, message]) => `${field} ${message}`).join('; ');
      throw new Error(`Invalid business calendar: ${list}`);
    }
    this.zone = IANAZone.create(calendar.timeZone);
    for (const day of WEEKDAYS) {
      const intervals = (calendar.hours[day] ?? []).map((interval) => [
        parseWallTime(interval.start, 'start')!,
        parseWallTime(interval.end, 'end')!,
      ]);
      this.week.push(intervals.sort((left, right) => left[0]! - right[0]!).flat());
    }
    for (const holiday of calendar.holidays) {
      if (holiday.recurring) this.recurringHolidays.add(holiday.date.slice(5));
      else this.holidays.add(holiday.date);
    }
  }

  /**
   * The instant at which `ms` of business time starting at `from` has elapsed. ms >= 0.
   * add(from, 0) returns `from` unchanged (a copy), even outside business hours; any larger
   * amount is due inside an interval or exactly at its end, never at the next one's start.
   */
  add(from: Date, ms: number): Date {
    const origin = instantOf(from);
    let remaining = amountOf(ms);
    if (this.zone === null || remaining === 0) return new Date(origin + remaining);
    let day = this.locate(origin);
    for (let lastOpenDay = day; day - lastOpenDay <= SEARCH_DAYS; day++) {
      const { bounds } = this.plan(day);
      for (let index = 0; index < bounds.length; index += 2) {
        const end = bounds[index + 1]!;
        if (end <= origin) continue;
        const start = Math.max(bounds[index]!, origin);
        if (remaining <= end - start) return new Date(start + remaining);
        remaining -= end - start;
        lastOpenDay = day;
      }
    }
    throw noBusinessTime('after', from);
  }

  /** Business time in [from, to); 0 when to <= from. */
  between(from: Date, to: Date): number {
    const origin = instantOf(from);
    const target = instantOf(to);
    if (target <= origin) return 0;
    if (this.zone === null) return target - origin;
    let total = 0;
    for (let day = this.locate(origin); ; day++) {
      const { start: dayStart, bounds } = this.plan(day);
      if (dayStart >= target) return total;
      for (let index = 0; index < bounds.length; index += 2) {
        const start = Math.max(bounds[index]!, origin);
        const end = Math.min(bounds[index + 1]!, target);
        if (end > start) total += end - start;
      }
    }
  }

  /**
   * The latest instant `start` <= `to` such that between(start, to) === ms (inverse of add:
   * subtract(add(from, ms), ms) is nextBusinessStart(from) for ms > 0). ms >= 0.
   */
  subtract(to: Date, ms: number): Date {
    const origin = instantOf(to);
    let remaining = amountOf(ms);
    if (this.zone === null || remaining === 0) return new Date(origin - remaining);
    let day = this.locate(origin);
    for (let lastOpenDay = day; lastOpenDay - day <= SEARCH_DAYS; day--) {
      const { bounds } = this.plan(day);
      for (let index = bounds.length - 2; index >= 0; index -= 2) {
        const start = bounds[index]!;
        if (start >= origin) continue;
        const end = Math.min(bounds[index + 1]!, origin);
        // Equality returns the interval's start, the latest instant that still has `ms` ahead.
        if (remaining <= end - start) return new Date(end - remaining);
        remaining -= end - start;
        lastOpenDay = day;
      }
    }
    throw noBusinessTime('before', to);
  }

  /** True when `at` lies inside a business interval (start inclusive, end exclusive). */
  isBusinessTime(at: Date): boolean {
    const instant = instantOf(at);
    if (this.zone === null) return true;
    const { bounds } = this.plan(this.locate(instant));
    for (let index = 0; index < bounds.length; index += 2) {
      if (bounds[index]! <= instant && instant < bounds[index + 1]!) return true;
    }
    return false;
  }

  /** `at` itself if it is business time, else the start of the next business interval. */
  nextBusinessStart(at: Date): Date {
    const origin = instantOf(at);
    if (this.zone === null) return new Date(origin);
    const firstDay = this.locate(origin);
    for (let day = firstDay; day - firstDay <= SEARCH_DAYS; day++) {
      const { bounds } = this.plan(day);
      for (let index = 0; index < bounds.length; index += 2) {
        if (bounds[index + 1]! > origin) return new Date(Math.max(bounds[index]!, origin));
      }
    }
    throw noBusinessTime('after', at);
  }

  /**
   * The local date (days since 1970-01-01 in the calendar's zone) whose span holds `instant`.
   * The spans, not the zone's offset at `instant`, decide: near a fall-back at midnight the
   * two can disagree, and every method must put an instant on the same date.
   */
  private locate(instant: number): number {
    let day = Math.floor((instant + this.offsetGuess) / DAY);
    let plan = this.plan(day);
    while (instant < plan.start) plan = this.plan(--day);
    while (instant >= plan.end) plan = this.plan(++day);
    this.offsetGuess = day * DAY - plan.start;
    return day;
  }

  private plan(day: number): DayPlan {
    const cached = this.plans.get(day);
    if (cached) return cached;
    if (this.plans.size >= MEMO_LIMIT) {
      this.plans.clear();
      this.offsetSamples.clear();
    }
    const plan = this.buildPlan(day);
    this.plans.set(day, plan);
    return plan;
  }

  private buildPlan(day: number): DayPlan {
    const zone = this.zone!;
    const midnight = day * DAY;
    // Wall times of this date lie within 14 h of it in absolute time, so equal offsets a day
    // either side mean no transition that day (zones never change twice within three days).
    const offset = this.offsetSample(day - 1);
    const steady = offset === this.offsetSample(day + 2);
    const instantAt = (minutes: number, edge: 'start' | 'end'): number => {
      const wallTime = midnight + minutes * MINUTE;
      return steady ? wallTime - offset : resolveWallTime(zone, wallTime, edge);
    };
    const start = instantAt(0, 'start');
    const end = instantAt(MINUTES_PER_DAY, 'start');
    const bounds: number[] = [];
    if (this.isHoliday(midnight)) return { start, end, bounds };
    const intervals = this.week[(((day + 3) % 7) + 7) % 7]!; // 1970-01-01 was a Thursday
    for (let index = 0; index < intervals.length; index += 2) {
      const openAt = Math.max(instantAt(intervals[index]!, 'start'), start);
      const endMinute = intervals[index + 1]!;
      const closeAt = endMinute === MINUTES_PER_DAY ? end : Math.min(instantAt(endMinute, 'end'), end);
      if (closeAt <= openAt) continue;
      // Intervals touching on the wall clock merge, and so do intervals that overlap once an
      // end takes the second of two 02:30s while the next start takes the first: no time
      // may count twice.
      const last = bounds.length - 1;
      if (bounds.length > 0 && openAt <= bounds[last]!) bounds[last] = Math.max(bounds[last]!, closeAt);
      else bounds.push(openAt, closeAt);
    }
    return { start, end, bounds };
  }

  private offsetSample(day: number): number {
    let offset = this.offsetSamples.get(day);
    if (offset === undefined) {
      offset = offsetAt(this.zone!, day * DAY);
      this.offsetSamples.set(day, offset);
    }
    return offset;
  }

  private isHoliday(midnight: number): boolean {
    const date = new Date(midnight).toISOString().slice(0, 10);
    return this.holidays.has(date) || this.recurringHolidays.has(date.slice(5));
  }
}

/**
 * The instant a wall time (given as if it were UTC) names in `zone`. Luxon's own
 * `DateTime.fromObject` is not used here: for a doubled wall time it picks the occurrence
 * whose offset matches the *current* date's, so results would change with the season the
 * code runs in, and it moves a skipped wall time forward by the gap length (02:30 → 03:30)
 * rather than to the end of the gap. Hence both candidate offsets are checked explicitly.
 */
function resolveWallTime(zone: IANAZone, wallTime: number, edge: 'start' | 'end'): number {
  const before = offsetAt(zone, wallTime - DAY);
  const after = offsetAt(zone, wallTime + DAY);
  const candidates = [before, after]
    .map((offset) => wallTime - offset)
    .filter((instant) => wallTime - offsetAt(zone, instant) === instant);
  if (candidates.length > 0) return edge === 'start' ? Math.min(...candidates) : Math.max(...candidates);
  // Skipped by a gap: find the transition, the first instant carrying the later offset.
  let low = wallTime - Math.max(before, after);
  let high = wallTime - Math.min(before, after);
  const lowOffset = offsetAt(zone, low);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetAt(zone, middle) === lowOffset) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The zone's offset in whole milliseconds. Luxon reports minutes, fractional for old local
 * mean times (Berlin's +0:53:28), which would leave instants off by floating-point dust.
 */
function offsetAt(zone: IANAZone, instant: number): number {
  return Math.round(zone.offset(instant) * MINUTE);
}

function instantOf(date: Date): number {
  const instant = date.getTime();
  if (Number.isNaN(instant)) throw new RangeError('Business time needs a valid date');
  return instant;
}

/** Dates hold whole milliseconds, so a fractional amount is rounded rather than lost later. */
function amountOf(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Business time amount must be >= 0 ms, got ${ms}`);
  return Math.round(ms);
}

function noBusinessTime(direction: 'after' | 'before', at: Date): Error {
  return new Error(
    `The business calendar has no business time within 3 years ${direction} ${at.toISOString()}`,
  );
}
