import { DateTime, IANAZone } from 'luxon';

/** Days of the week in ISO order; index 0 is Monday, as in Luxon's `weekday - 1`. */
export const WEEKDAYS = [
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
] as const;

/** A day of the week as named in `BusinessCalendar.hours`. */
export type Weekday = (typeof WEEKDAYS)[number];

/** Wall-clock interval "HH:MM"–"HH:MM" (end may be "24:00"); start < end. */
export interface BusinessInterval {
  start: string;
  end: string;
}

/** A holiday on a local date; recurring ones repeat every year on the same month and day. */
export interface Holiday {
  /** Local date YYYY-MM-DD; for recurring holidays only the month and day count. */
  date: string;
  recurring: boolean;
}

/** Opening hours of a team or policy, in wall-clock times of one IANA time zone. */
export interface BusinessCalendar {
  /** IANA zone, e.g. 'Europe/Berlin'. */
  timeZone: string;
  /** A missing or empty day is closed; several intervals a day are allowed. */
  hours: Partial<Record<Weekday, BusinessInterval[]>>;
  holidays: Holiday[];
}

/** More would only come from a broken client; the engine itself would cope. */
const MAX_INTERVALS_PER_DAY = 10;

/** Minutes in a day, which is also what "24:00" parses to. */
export const MINUTES_PER_DAY = 1440;

const WALL_TIME = /^([01]\d|2[0-3]):([0-5]\d)$/;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Minutes after local midnight for "HH:MM", or null when malformed. Only an end may be
 * "24:00", which stands for the start of the next local day.
 */
export function parseWallTime(text: string, edge: 'start' | 'end'): number | null {
  if (edge === 'end' && text === '24:00') return MINUTES_PER_DAY;
  const match = typeof text === 'string' ? WALL_TIME.exec(text) : null;
  if (!match) return null;
  return Number(match[1]) * 60 + Number(match[2]);
}

/**
 * Zone names already found valid. Luxon's check builds an Intl.DateTimeFormat (~60 µs), and
 * every clock validates its calendar; only valid names are kept, so the runtime's zone list
 * bounds the set however many bad names clients send.
 */
const knownZones = new Set<string>();

/** True for a time zone name the runtime's IANA database knows, e.g. 'Europe/Berlin' or 'UTC'. */
export function isValidTimeZone(zone: string): boolean {
  if (knownZones.has(zone)) return true;
  if (typeof zone !== 'string' || zone === '' || !IANAZone.isValidZone(zone)) return false;
  knownZones.add(zone);
  return true;
}

/** True when `text` is YYYY-MM-DD naming a date that exists (2024-02-29 does, 2025-02-29 does not). */
function isCalendarDate(text: string): boolean {
  const match = typeof text === 'string' ? ISO_DATE.exec(text) : null;
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return DateTime.fromObject({ year, month, day }, { zone: 'UTC' }).isValid;
}

/**
 * Problems in a calendar as { 'field.path': 'message' } — an empty object when valid. Paths
 * follow the calendar's shape (`timeZone`, `hours.monday.0.end`, `holidays.3.date`) so a form
 * can put each message beside its field; `hours` alone means the week has no business time.
 */
export function calendarProblems(calendar: BusinessCalendar): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!isValidTimeZone(calendar.timeZone)) problems.timeZone = 'is not a known IANA time zone';

  let intervalCount = 0;
  for (const [day, intervals] of Object.entries(calendar.hours ?? {})) {
    const path = `hours.${day}`;
    if (!(WEEKDAYS as readonly string[]).includes(day)) {
      problems[path] = 'is not a day of the week';
      continue;
    }
    if (!Array.isArray(intervals)) {
      problems[path] = 'must be a list of intervals';
      continue;
    }
    intervalCount += intervals.length;
    if (intervals.length > MAX_INTERVALS_PER_DAY) {
      problems[path] = `has more than ${MAX_INTERVALS_PER_DAY} intervals`;
    }
    const wellFormed: { index: number; start: number; end: number }[] = [];
    intervals.forEach((interval, index) => {
      const start = parseWallTime(interval.start, 'start');
      const end = parseWallTime(interval.end, 'end');
      if (start === null) problems[`${path}.${index}.start`] = 'must be a time from 00:00 to 23:59';
      if (end === null) problems[`${path}.${index}.end`] = 'must be a time from 00:00 to 24:00';
      if (start === null || end === null) return;
      if (end <= start) problems[`${path}.${index}.end`] = 'must be after start';
      else wellFormed.push({ index, start, end });
    });
    // Ordered by time, not by list position: clients may list a day's intervals in any order.
    wellFormed.sort((left, right) => left.start - right.start);
    let latestEnd = -1;
    for (const interval of wellFormed) {
      if (interval.start < latestEnd)
        problems[`${path}.${interval.index}`] = 'overlaps the interval before it';
      latestEnd = Math.max(latestEnd, interval.end);
    }
  }
  if (intervalCount === 0) problems.hours = 'has no business time in the week';

  (calendar.holidays ?? []).forEach((holiday, index) => {
    if (!isCalendarDate(holiday.date)) problems[`holidays.${index}.date`] = 'must be a real date YYYY-MM-DD';
  });
  return problems;
}
