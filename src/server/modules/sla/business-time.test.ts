import fc from 'fast-check';
import { DateTime, IANAZone } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  type BusinessCalendar,
  BusinessClock,
  type BusinessInterval,
  calendarProblems,
  type Holiday,
  isValidTimeZone,
  WEEKDAYS,
} from './business-time.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const NINE_TO_FIVE = [{ start: '09:00', end: '17:00' }];
const ALL_DAY = [{ start: '00:00', end: '24:00' }];

function weekdays(intervals: BusinessInterval[]): BusinessCalendar['hours'] {
  return Object.fromEntries(WEEKDAYS.slice(0, 5).map((day) => [day, intervals]));
}

function everyDay(intervals: BusinessInterval[]): BusinessCalendar['hours'] {
  return Object.fromEntries(WEEKDAYS.map((day) => [day, intervals]));
}

function clock(timeZone: string, hours: BusinessCalendar['hours'], holidays: Holiday[] = []): BusinessClock {
  return new BusinessClock({ timeZone, hours, holidays });
}

/** Local wall time with offset, so a failing assertion reads like a calendar. */
function wall(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toFormat("yyyy-MM-dd'T'HH:mmZZ");
}

const at = (iso: string) => new Date(iso);

describe('BusinessClock across daylight saving changes', () => {
  const transitionDays = [
    {
      zone: 'Europe/Berlin',
      day: '2026-03-29',
      midnight: '2026-03-29T00:00+01:00',
      next: '2026-03-30T00:00+02:00',
      hours: 23,
    },
    {
      zone: 'Europe/Berlin',
      day: '2026-10-25',
      midnight: '2026-10-25T00:00+02:00',
      next: '2026-10-26T00:00+01:00',
      hours: 25,
    },
    {
      zone: 'America/New_York',
      day: '2026-03-08',
      midnight: '2026-03-08T00:00-05:00',
      next: '2026-03-09T00:00-04:00',
      hours: 23,
    },
    {
      zone: 'America/New_York',
      day: '2026-11-01',
      midnight: '2026-11-01T00:00-04:00',
      next: '2026-11-02T00:00-05:00',
      hours: 25,
    },
  ];

  it.each(transitionDays)('counts real elapsed time for 00:00–24:00 on $day in $zone', (day) => {
    const allDay = clock(day.zone, everyDay(ALL_DAY));
    expect(allDay.between(at(day.midnight), at(day.next))).toBe(day.hours * HOUR);
    expect(allDay.add(at(day.midnight), day.hours * HOUR)).toEqual(at(day.next));
  });

  it.each(transitionDays)('counts 01:00–04:00 as 2 h in spring and 4 h in autumn on $day in $zone', (day) => {
    const night = clock(day.zone, everyDay([{ start: '01:00', end: '04:00' }]));
    expect(night.between(at(day.midnight), at(day.next))).toBe((day.hours === 23 ? 2 : 4) * HOUR);
  });

  it('keeps 09:00–17:00 at 8 h on a transition day', () => {
    const office = clock('Europe/Berlin', everyDay(NINE_TO_FIVE));
    expect(office.between(at('2026-03-29T00:00+01:00'), at('2026-03-30T00:00+02:00'))).toBe(8 * HOUR);
    expect(office.between(at('2026-10-25T00:00+02:00'), at('2026-10-26T00:00+01:00'))).toBe(8 * HOUR);
  });

  it('lands a target added on the Friday before a transition weekend at the right wall time', () => {
    const berlin = clock('Europe/Berlin', weekdays(NINE_TO_FIVE));
    expect(wall(berlin.add(at('2026-03-27T15:00+01:00'), 4 * HOUR), 'Europe/Berlin')).toBe(
      '2026-03-30T11:00+02:00',
    );
    expect(wall(berlin.add(at('2026-10-23T15:00+02:00'), 4 * HOUR), 'Europe/Berlin')).toBe(
      '2026-10-26T11:00+01:00',
    );
    const newYork = clock('America/New_York', weekdays(NINE_TO_FIVE));
    const due = newYork.add(at('2026-03-06T15:00-05:00'), 4 * HOUR);
    expect(wall(due, 'America/New_York')).toBe('2026-03-09T11:00-04:00');
    expect(newYork.between(at('2026-03-06T15:00-05:00'), due)).toBe(4 * HOUR);
    expect(wall(newYork.add(at('2026-10-30T16:00-04:00'), 2 * HOUR), 'America/New_York')).toBe(
      '2026-11-02T10:00-05:00',
    );
  });

  it('starts an interval that begins inside the spring gap when the gap ends', () => {
    // 02:30 does not exist in Berlin on 2026-03-29: clocks jump from 02:00 to 03:00.
    const early = clock('Europe/Berlin', { sunday: [{ start: '02:30', end: '05:00' }] });
    const saturday = at('2026-03-28T12:00+01:00');
    expect(early.nextBusinessStart(saturday)).toEqual(at('2026-03-29T03:00+02:00'));
    expect(early.isBusinessTime(at('2026-03-29T02:59:59.999+02:00'))).toBe(false);
    expect(early.between(saturday, at('2026-03-30T00:00+02:00'))).toBe(2 * HOUR);
    // A week later the same interval is the full 2.5 h.
    expect(early.between(at('2026-04-05T00:00+02:00'), at('2026-04-06T00:00+02:00'))).toBe(2.5 * HOUR);
  });

  it('opens at the first and closes at the second occurrence of a doubled wall time', () => {
    // 02:00–03:00 happens twice in Berlin on 2026-10-25 (first at +02:00, then at +01:00).
    const doubled = clock('Europe/Berlin', { sunday: [{ start: '02:15', end: '02:45' }] });
    expect(doubled.nextBusinessStart(at('2026-10-25T00:00+02:00'))).toEqual(at('2026-10-25T02:15+02:00'));
    expect(doubled.between(at('2026-10-25T00:00+02:00'), at('2026-10-26T00:00+01:00'))).toBe(90 * MINUTE);
    expect(doubled.add(at('2026-10-25T00:00+02:00'), 90 * MINUTE)).toEqual(at('2026-10-25T02:45+01:00'));
    // New York repeats 01:00–02:00 on 2026-11-01.
    // Touching at a doubled 02:30, the two intervals overlap for an hour, which counts once.
    const touching = clock('Europe/Berlin', {
      sunday: [
        { start: '00:00', end: '02:30' },
        { start: '02:30', end: '05:00' },
      ],
    });
    expect(touching.between(at('2026-10-25T00:00+02:00'), at('2026-10-26T00:00+01:00'))).toBe(6 * HOUR);
    const newYork = clock('America/New_York', { sunday: [{ start: '00:00', end: '01:30' }] });
    expect(newYork.between(at('2026-11-01T00:00-04:00'), at('2026-11-02T00:00-05:00'))).toBe(150 * MINUTE);
  });

  it('starts a local date when its midnight first shows, where clocks change at midnight', () => {
    // Santiago repeats Saturday 23:00–24:00 on 2026-04-04 and skips Sunday 00:00–01:00 on 2026-09-06.
    const saturday = clock('America/Santiago', { saturday: ALL_DAY });
    const sunday = clock('America/Santiago', { sunday: ALL_DAY });
    expect(saturday.between(at('2026-04-04T00:00-03:00'), at('2026-04-06T00:00-04:00'))).toBe(25 * HOUR);
    expect(sunday.nextBusinessStart(at('2026-04-04T12:00-03:00'))).toEqual(at('2026-04-05T00:00-04:00'));
    expect(saturday.between(at('2026-09-05T00:00-04:00'), at('2026-09-07T00:00-03:00'))).toBe(24 * HOUR);
    expect(sunday.nextBusinessStart(at('2026-09-05T12:00-04:00'))).toEqual(at('2026-09-06T01:00-03:00'));
    expect(sunday.between(at('2026-09-05T00:00-04:00'), at('2026-09-07T00:00-03:00'))).toBe(23 * HOUR);
  });

  it('counts the half-hour shift of Lord Howe Island', () => {
    const allDay = clock('Australia/Lord_Howe', everyDay(ALL_DAY));
    expect(allDay.between(at('2026-10-04T00:00+10:30'), at('2026-10-05T00:00+11:00'))).toBe(23.5 * HOUR);
    expect(allDay.between(at('2026-04-05T00:00+11:00'), at('2026-04-06T00:00+10:30'))).toBe(24.5 * HOUR);
  });
});

describe('BusinessClock with holidays', () => {
  const berlin = (holidays: Holiday[]) => clock('Europe/Berlin', weekdays(NINE_TO_FIVE), holidays);

  it('skips a holiday on a Monday', () => {
    const whitMonday = berlin([{ date: '2026-05-25', recurring: false }]);
    const due = whitMonday.add(at('2026-05-22T15:00+02:00'), 4 * HOUR);
    expect(wall(due, 'Europe/Berlin')).toBe('2026-05-26T11:00+02:00');
    expect(whitMonday.isBusinessTime(at('2026-05-25T12:00+02:00'))).toBe(false);
  });

  it('carries a target of more than a day across a long weekend', () => {
    const longWeekend = berlin([
      { date: '2026-05-22', recurring: false },
      { date: '2026-05-25', recurring: false },
    ]);
    const from = at('2026-05-21T10:00+02:00');
    // Thursday 7 h, Tuesday 8 h, Wednesday 5 h.
    const due = longWeekend.add(from, 20 * HOUR);
    expect(wall(due, 'Europe/Berlin')).toBe('2026-05-27T14:00+02:00');
    expect(longWeekend.between(from, due)).toBe(20 * HOUR);
    expect(longWeekend.subtract(due, 20 * HOUR)).toEqual(from);
    expect(longWeekend.between(at('2026-05-21T17:00+02:00'), at('2026-05-26T09:00+02:00'))).toBe(0);
  });

  it('repeats a recurring holiday every year', () => {
    const christmas = berlin([{ date: '2020-12-25', recurring: true }]);
    expect(christmas.isBusinessTime(at('2026-12-25T12:00+01:00'))).toBe(false); // a Friday
    expect(christmas.isBusinessTime(at('2028-12-25T12:00+01:00'))).toBe(false); // a Monday
    expect(christmas.isBusinessTime(at('2026-12-24T12:00+01:00'))).toBe(true);
    const once = berlin([{ date: '2026-12-25', recurring: false }]);
    expect(once.isBusinessTime(at('2026-12-25T12:00+01:00'))).toBe(false);
    expect(once.isBusinessTime(at('2028-12-25T12:00+01:00'))).toBe(true);
  });

  it('closes a recurring Feb 29 only in leap years', () => {
    const leapDay = berlin([{ date: '2024-02-29', recurring: true }]);
    expect(leapDay.isBusinessTime(at('2028-02-29T12:00+01:00'))).toBe(false);
    expect(leapDay.isBusinessTime(at('2028-02-28T12:00+01:00'))).toBe(true);
    expect(leapDay.isBusinessTime(at('2028-03-01T12:00+01:00'))).toBe(true);
    // Two full weeks around the end of February 2027 lose no day.
    expect(leapDay.between(at('2027-02-22T00:00+01:00'), at('2027-03-08T00:00+01:00'))).toBe(80 * HOUR);
  });
});

describe('BusinessClock arithmetic', () => {
  const office = clock('Europe/Berlin', weekdays(NINE_TO_FIVE));

  it('leaves paused time out of the elapsed time when a pause crosses midnight', () => {
    const started = at('2026-06-09T14:00+02:00'); // Tuesday
    const paused = at('2026-06-09T16:00+02:00');
    const resumed = at('2026-06-10T10:00+02:00');
    const now = at('2026-06-10T12:00+02:00');
    const elapsed = office.between(started, paused) + office.between(resumed, now);
    expect(elapsed).toBe(4 * HOUR);
    // The pause held Tuesday 16–17 and Wednesday 9–10 of business time; the night holds none.
    expect(office.between(paused, resumed)).toBe(2 * HOUR);
    expect(office.between(at('2026-06-09T17:00+02:00'), at('2026-06-10T09:00+02:00'))).toBe(0);
    expect(office.between(started, now) - office.between(paused, resumed)).toBe(elapsed);
    // An 8 h target is due Wednesday 14:00 unpaused and two business hours later with the pause.
    expect(wall(office.add(started, 8 * HOUR), 'Europe/Berlin')).toBe('2026-06-10T14:00+02:00');
    const due = office.add(resumed, 8 * HOUR - office.between(started, paused));
    expect(wall(due, 'Europe/Berlin')).toBe('2026-06-10T16:00+02:00');
  });

  it('skips a lunch gap between two intervals of a day', () => {
    const lunch = clock(
      'Europe/Berlin',
      weekdays([
        { start: '13:00', end: '17:00' },
        { start: '09:00', end: '12:00' },
      ]),
    );
    const monday = (time: string) => at(`2026-06-08T${time}+02:00`);
    expect(lunch.add(monday('11:00'), 2 * HOUR)).toEqual(monday('14:00'));
    expect(lunch.add(monday('11:00'), HOUR)).toEqual(monday('12:00'));
    expect(lunch.isBusinessTime(monday('12:30'))).toBe(false);
    expect(lunch.isBusinessTime(monday('12:00'))).toBe(false);
    expect(lunch.isBusinessTime(monday('13:00'))).toBe(true);
    expect(lunch.nextBusinessStart(monday('12:30'))).toEqual(monday('13:00'));
    expect(lunch.subtract(monday('14:00'), 2 * HOUR)).toEqual(monday('11:00'));
    expect(lunch.subtract(monday('13:30'), 30 * MINUTE)).toEqual(monday('13:00'));
    // Monday 6 h, Tuesday 7 h, Wednesday 9–12.
    expect(wall(lunch.add(monday('10:00'), 16 * HOUR), 'Europe/Berlin')).toBe('2026-06-10T12:00+02:00');
  });

  it('merges intervals that touch into one', () => {
    const split = clock(
      'UTC',
      weekdays([
        { start: '09:00', end: '12:00' },
        { start: '12:00', end: '17:00' },
      ]),
    );
    expect(split.isBusinessTime(at('2026-06-08T12:00Z'))).toBe(true);
    expect(split.subtract(at('2026-06-08T13:00Z'), HOUR)).toEqual(at('2026-06-08T12:00Z'));
    expect(split.subtract(at('2026-06-08T13:00Z'), 2 * HOUR)).toEqual(at('2026-06-08T11:00Z'));
  });

  it('returns the start of the next interval, never a later instant, from subtract', () => {
    // The weekend before counts nothing, so Monday 09:00 is the latest start with 1 h ahead.
    expect(office.subtract(at('2026-06-08T10:00+02:00'), HOUR)).toEqual(at('2026-06-08T09:00+02:00'));
    expect(wall(office.subtract(at('2026-06-08T10:00+02:00'), 2 * HOUR), 'Europe/Berlin')).toBe(
      '2026-06-05T16:00+02:00',
    );
  });

  it('leaves an instant alone for a zero amount, even outside business hours', () => {
    const night = at('2026-06-08T02:00+02:00');
    expect(office.add(night, 0)).toEqual(night);
    expect(office.subtract(night, 0)).toEqual(night);
    expect(office.add(night, 1)).toEqual(at('2026-06-08T09:00:00.001+02:00'));
    expect(office.between(night, night)).toBe(0);
    expect(office.between(at('2026-06-09T00:00Z'), night)).toBe(0);
  });

  it('counts round the clock without a calendar', () => {
    const always = new BusinessClock(null);
    const from = at('2026-03-29T00:30+01:00');
    expect(always.add(from, 90 * DAY + 7)).toEqual(new Date(from.getTime() + 90 * DAY + 7));
    expect(always.subtract(from, 5 * HOUR)).toEqual(new Date(from.getTime() - 5 * HOUR));
    expect(always.between(from, at('2026-03-30T00:30+02:00'))).toBe(23 * HOUR);
    expect(always.isBusinessTime(from)).toBe(true);
    expect(always.nextBusinessStart(from)).toEqual(from);
  });

  it('rejects negative amounts and invalid dates', () => {
    expect(() => office.add(at('2026-06-08T10:00Z'), -1)).toThrow(RangeError);
    expect(() => office.subtract(at('2026-06-08T10:00Z'), Number.NaN)).toThrow(RangeError);
    expect(() => office.between(new Date(Number.NaN), at('2026-06-08T10:00Z'))).toThrow(RangeError);
  });

  it('throws instead of searching forever when holidays close every day for years', () => {
    const mondays: Holiday[] = [];
    for (
      let monday = DateTime.fromISO('2026-01-05', { zone: 'UTC' });
      monday.year < 2031;
      monday = monday.plus({ weeks: 1 })
    ) {
      mondays.push({ date: monday.toISODate()!, recurring: false });
    }
    const closed = clock('UTC', { monday: NINE_TO_FIVE }, mondays);
    expect(() => closed.add(at('2026-01-01T00:00Z'), HOUR)).toThrow(/no business time within 3 years/);
    expect(() => closed.nextBusinessStart(at('2026-01-01T00:00Z'))).toThrow(
      /no business time within 3 years/,
    );
    expect(() => closed.subtract(at('2030-06-01T00:00Z'), HOUR)).toThrow(/no business time within 3 years/);
    expect(closed.between(at('2026-01-01T00:00Z'), at('2030-01-01T00:00Z'))).toBe(0);
    // The search bound is about empty years, not long targets: business time resumes in 2031.
    expect(closed.add(at('2028-06-01T00:00Z'), HOUR)).toEqual(at('2031-01-06T10:00Z'));
  });

  it('refuses to build a clock from an invalid calendar', () => {
    expect(() => clock('Europe/Berlin', {})).toThrow(/hours has no business time/);
    expect(() => clock('Mars/Olympus', weekdays(NINE_TO_FIVE))).toThrow(/timeZone/);
  });
});

describe('calendarProblems', () => {
  const valid: BusinessCalendar = { timeZone: 'Europe/Berlin', hours: weekdays(NINE_TO_FIVE), holidays: [] };

  it('finds nothing wrong with a valid calendar, touching intervals included', () => {
    expect(calendarProblems(valid)).toEqual({});
    const touching = {
      ...valid,
      hours: {
        monday: [
          { start: '09:00', end: '12:00' },
          { start: '12:00', end: '24:00' },
        ],
      },
    };
    expect(calendarProblems(touching)).toEqual({});
  });

  it('names the later of two overlapping intervals', () => {
    const hours = {
      tuesday: [{ start: '11:00', end: '13:00' }, { start: '09:00', end: '12:00' }, NINE_TO_FIVE[0]!],
    };
    expect(calendarProblems({ ...valid, hours })).toEqual({
      'hours.tuesday.0': 'overlaps the interval before it',
      'hours.tuesday.2': 'overlaps the interval before it',
    });
  });

  it('names inverted and malformed times', () => {
    const hours = {
      monday: [{ start: '17:00', end: '09:00' }],
      wednesday: [{ start: '9:00', end: '25:00' }],
      thursday: [{ start: '24:00', end: '12:60' }],
      friday: [{ start: '10:00', end: '10:00' }],
    };
    expect(calendarProblems({ ...valid, hours })).toEqual({
      'hours.monday.0.end': 'must be after start',
      'hours.wednesday.0.start': 'must be a time from 00:00 to 23:59',
      'hours.wednesday.0.end': 'must be a time from 00:00 to 24:00',
      'hours.thursday.0.start': 'must be a time from 00:00 to 23:59',
      'hours.thursday.0.end': 'must be a time from 00:00 to 24:00',
      'hours.friday.0.end': 'must be after start',
    });
  });

  it('names an unknown time zone and a week without business time', () => {
    expect(calendarProblems({ ...valid, timeZone: 'Europe/Atlantis' })).toEqual({
      timeZone: 'is not a known IANA time zone',
    });
    expect(calendarProblems({ ...valid, hours: { monday: [], sunday: [] } })).toEqual({
      hours: 'has no business time in the week',
    });
  });

  it('names holiday dates that do not exist and days with too many intervals', () => {
    const holidays = ['2026-12-24', '2026-02-29', '2026-13-01', '26-1-1', '2024-02-29'].map((date) => ({
      date,
      recurring: false,
    }));
    const many = Array.from({ length: 11 }, (_, hour) => ({
      start: `${10 + hour}:00`,
      end: `${10 + hour}:30`,
    }));
    expect(calendarProblems({ ...valid, hours: { monday: many }, holidays })).toEqual({
      'hours.monday': 'has more than 10 intervals',
      'holidays.1.date': 'must be a real date YYYY-MM-DD',
      'holidays.2.date': 'must be a real date YYYY-MM-DD',
      'holidays.3.date': 'must be a real date YYYY-MM-DD',
    });
  });

  it('knows IANA zones by name', () => {
    for (const zone of ['Europe/Berlin', 'America/New_York', 'Pacific/Chatham', 'UTC'])
      expect(isValidTimeZone(zone)).toBe(true);
    for (const zone of ['', 'CEST', 'Europe/Atlantis', '+02:00']) expect(isValidTimeZone(zone)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties over arbitrary valid calendars.

// Santiago changes its clocks at midnight, so its local dates start at 01:00 or twice at 23:00.
const ZONES = [
  'America/Santiago',
  'Europe/Berlin',
  'America/New_York',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'UTC',
];
const FIRST = Date.UTC(2024, 0, 1);
const LAST = Date.UTC(2028, 11, 31);

const toWallTime = (minutes: number) =>
  `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/**
 * Intervals laid end to end with random gaps: never overlapping, sometimes touching or ending
 * at 24:00. Short gaps and lengths are favoured so boundaries often fall into the small hours,
 * where clocks change.
 */
const dayHours = fc
  .array(
    fc.record({
      gap: fc.oneof(fc.integer({ min: 0, max: 480 }), fc.integer({ min: 0, max: 90 })),
      length: fc.oneof(fc.integer({ min: 1, max: 720 }), fc.integer({ min: 1, max: 90 })),
    }),
    { maxLength: 4 },
  )
  .map((segments) => {
    const intervals: BusinessInterval[] = [];
    let cursor = 0;
    for (const { gap, length } of segments) {
      const start = cursor + gap;
      if (start >= 1440) break;
      cursor = Math.min(start + length, 1440);
      intervals.push({ start: toWallTime(start), end: toWallTime(cursor) });
    }
    return intervals;
  });

const holidayArbitrary = fc.record({
  date: fc
    .integer({ min: FIRST / DAY, max: LAST / DAY })
    .map((day) => new Date(day * DAY).toISOString().slice(0, 10)),
  recurring: fc.boolean(),
});

const calendarArbitrary: fc.Arbitrary<BusinessCalendar> = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    hours: fc.record(
      Object.fromEntries(WEEKDAYS.map((day) => [day, dayHours])) as Record<
        (typeof WEEKDAYS)[number],
        fc.Arbitrary<BusinessInterval[]>
      >,
      {
        requiredKeys: [],
      },
    ),
    holidays: fc.array(holidayArbitrary, { maxLength: 8 }),
  })
  .filter((calendar) => Object.values(calendar.hours).some((intervals) => (intervals ?? []).length > 0));

/** Days (as UTC instants) on which one of the zones changes its offset, to aim instants at. */
const TRANSITIONS = ZONES.flatMap((name) => {
  const zone = IANAZone.create(name);
  const days: number[] = [];
  for (let day = FIRST; day < LAST; day += DAY)
    if (zone.offset(day) !== zone.offset(day + DAY)) days.push(day);
  return days;
});

const instantArbitrary = fc
  .oneof(
    fc.integer({ min: FIRST, max: LAST }),
    fc.integer({ min: FIRST / MINUTE, max: LAST / MINUTE }).map((minute) => minute * MINUTE),
    fc
      .tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -3 * 24 * 60, max: 3 * 24 * 60 }))
      .map(([day, minutes]) => day + minutes * MINUTE),
  )
  .map((instant) => new Date(instant));

function weeklyBusinessMinutes(calendar: BusinessCalendar): number {
  const minutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));
  return Object.values(calendar.hours)
    .flatMap((intervals) => intervals ?? [])
    .reduce((sum, interval) => sum + minutes(interval.end) - minutes(interval.start), 0);
}

/** Up to about 60 days' worth of the calendar's business time, plus small exact amounts. */
const amountFor = (calendar: BusinessCalendar) => {
  const sixtyDays = Math.min(60 * DAY, (weeklyBusinessMinutes(calendar) * MINUTE * 60) / 7);
  return fc.oneof(
    fc.constantFrom(0, 1, MINUTE, HOUR),
    fc.integer({ min: 0, max: 4 * HOUR }),
    fc.integer({ min: 0, max: 1_000_000 }).map((share) => Math.floor((sixtyDays * share) / 1_000_000)),
  );
};

const scenario = calendarArbitrary.chain((calendar) =>
  fc.record({
    calendar: fc.constant(calendar),
    from: instantArbitrary,
    ms: amountFor(calendar),
    otherMs: amountFor(calendar),
    later: fc.integer({ min: 0, max: 30 * DAY }),
    stretch: fc
      .array(fc.integer({ min: 0, max: 90 * DAY }), { minLength: 3, maxLength: 3 })
      .map((offsets) => offsets.sort((left, right) => left - right)),
  }),
);

const RUNS = { numRuns: 300 };
const shifted = (date: Date, ms: number) => new Date(date.getTime() + ms);

describe('BusinessClock properties', () => {
  it('counts exactly the amount added', () => {
    fc.assert(
      fc.property(scenario, ({ calendar, from, ms }) => {
        const businessClock = new BusinessClock(calendar);
        expect(businessClock.between(from, businessClock.add(from, ms))).toBe(ms);
      }),
      RUNS,
    );
  });

  it('undoes add with subtract, back to the next business start', () => {
    fc.assert(
      fc.property(scenario, ({ calendar, from, ms }) => {
        fc.pre(ms > 0);
        const businessClock = new BusinessClock(calendar);
        const start = businessClock.subtract(businessClock.add(from, ms), ms);
        expect(start).toEqual(businessClock.nextBusinessStart(from));
        if (businessClock.isBusinessTime(from)) expect(start).toEqual(from);
      }),
      RUNS,
    );
  });

  it('puts due times inside business hours or exactly at the end of an interval', () => {
    fc.assert(
      fc.property(scenario, ({ calendar, from, ms }) => {
        fc.pre(ms > 0);
        const businessClock = new BusinessClock(calendar);
        expect(businessClock.isBusinessTime(shifted(businessClock.add(from, ms), -1))).toBe(true);
      }),
      RUNS,
    );
  });

  it('never counts paused or closed time', () => {
    fc.assert(
      fc.property(scenario, ({ calendar, from, stretch: [pause, resume, end] }) => {
        const businessClock = new BusinessClock(calendar);
        const [pausedAt, resumedAt, to] = [
          shifted(from, pause!),
          shifted(from, resume!),
          shifted(from, end!),
        ];
        const running = businessClock.between(from, pausedAt) + businessClock.between(resumedAt, to);
        expect(businessClock.between(from, to) - businessClock.between(pausedAt, resumedAt)).toBe(running);
        expect(businessClock.between(from, businessClock.nextBusinessStart(from))).toBe(0);
        expect(businessClock.between(from, shifted(from, 1))).toBe(
          businessClock.isBusinessTime(from) ? 1 : 0,
        );
        for (const holiday of calendar.holidays.filter((candidate) => !candidate.recurring)) {
          // The holiday runs from its first instant to the next day's. Where a DST change skips
          // midnight (America/Santiago, 2024-09-08) the day starts at 01:00, and 24 hours of
          // wall-clock time from there would reach into the next day's business hours.
          const date = DateTime.fromISO(holiday.date, { zone: calendar.timeZone });
          const nextDay = DateTime.fromISO(date.plus({ days: 1 }).toISODate()!, { zone: calendar.timeZone });
          expect(businessClock.between(date.toJSDate(), nextDay.toJSDate())).toBe(0);
        }
      }),
      RUNS,
    );
  });

  it('moves due times forward with the amount and with the start', () => {
    fc.assert(
      fc.property(scenario, ({ calendar, from, ms, otherMs, later }) => {
        const businessClock = new BusinessClock(calendar);
        const [smaller, larger] = ms <= otherMs ? [ms, otherMs] : [otherMs, ms];
        expect(businessClock.add(from, smaller).getTime()).toBeLessThanOrEqual(
          businessClock.add(from, larger).getTime(),
        );
        expect(businessClock.add(from, ms).getTime()).toBeLessThanOrEqual(
          businessClock.add(shifted(from, later), ms).getTime(),
        );
      }),
      RUNS,
    );
  });

  it('is plain arithmetic round the clock', () => {
    const always = new BusinessClock(null);
    fc.assert(
      fc.property(instantArbitrary, fc.integer({ min: 0, max: 60 * DAY }), (from, ms) => {
        expect(always.add(from, ms).getTime()).toBe(from.getTime() + ms);
        expect(always.subtract(from, ms).getTime()).toBe(from.getTime() - ms);
        expect(always.between(from, shifted(from, ms))).toBe(ms);
      }),
      RUNS,
    );
  });

  it('agrees minute by minute with a brute-force reading of the calendar around transitions', () => {
    const aroundTransition = calendarArbitrary.chain((calendar) => {
      const zone = IANAZone.create(calendar.timeZone);
      const own = TRANSITIONS.filter((day) => zone.offset(day) !== zone.offset(day + DAY));
      return fc.record({
        calendar: fc.constant(calendar),
        day:
          own.length > 0
            ? fc.constantFrom(...own)
            : fc.integer({ min: FIRST / DAY, max: LAST / DAY }).map((day) => day * DAY),
      });
    });
    fc.assert(
      fc.property(aroundTransition, ({ calendar, day }) => {
        // The offset changes somewhere in (day, day + 1 day]; look a quarter day either side.
        const [from, to] = [day - DAY / 4, day + (5 * DAY) / 4];
        const businessClock = new BusinessClock(calendar);
        const isBusiness = bruteForceCalendar(calendar, from, to);
        const disagreements: string[] = [];
        let businessMinutes = 0;
        for (let instant = from; instant < to; instant += MINUTE) {
          const expected = isBusiness(instant);
          if (expected) businessMinutes++;
          if (businessClock.isBusinessTime(new Date(instant)) !== expected) {
            disagreements.push(`${wall(new Date(instant), calendar.timeZone)} should be ${expected}`);
          }
        }
        expect(disagreements).toEqual([]);
        expect(businessClock.between(new Date(from), new Date(to))).toBe(businessMinutes * MINUTE);
      }),
      { numRuns: 30 },
    );
  });
});

/**
 * An independent reading of the calendar for minute-aligned instants in [from, to): walks every
 * minute forward, notes which instants show each local wall time, and resolves wall times from
 * that table (first showing for starts, last for ends, first later showing for skipped ones).
 */
function bruteForceCalendar(
  calendar: BusinessCalendar,
  from: number,
  to: number,
): (instant: number) => boolean {
  const zone = IANAZone.create(calendar.timeZone);
  const showings = new Map<number, number[]>();
  const grid: { instant: number; local: number }[] = [];
  // Wall times of the local dates in [from, to) lie within a day and a few hours of them.
  for (let instant = from - 1.25 * DAY; instant < to + 1.25 * DAY; instant += MINUTE) {
    const local = instant + zone.offset(instant) * MINUTE;
    grid.push({ instant, local });
    showings.set(local, [...(showings.get(local) ?? []), instant]);
  }
  const resolve = (local: number, edge: 'start' | 'end'): number => {
    const instants = showings.get(local);
    if (instants) return edge === 'start' ? instants[0]! : instants[instants.length - 1]!;
    return grid.find((point) => point.local > local)!.instant;
  };
  const minutes = (time: string) => Number(time.slice(0, 2)) * 60 + Number(time.slice(3));
  const dayStart = (localDay: number) => resolve(localDay * DAY, 'start');
  const spansOf = (localDay: number): [number, number][] => {
    const date = new Date(localDay * DAY).toISOString().slice(0, 10);
    const closed = calendar.holidays.some((holiday) =>
      holiday.recurring ? holiday.date.slice(5) === date.slice(5) : holiday.date === date,
    );
    if (closed) return [];
    const weekday = WEEKDAYS[(new Date(localDay * DAY).getUTCDay() + 6) % 7]!;
    const [opens, closes] = [dayStart(localDay), dayStart(localDay + 1)];
    return (calendar.hours[weekday] ?? []).map((interval) => [
      Math.max(resolve(localDay * DAY + minutes(interval.start) * MINUTE, 'start'), opens),
      interval.end === '24:00'
        ? closes
        : Math.min(resolve(localDay * DAY + minutes(interval.end) * MINUTE, 'end'), closes),
    ]);
  };
  const spansByDay = new Map<number, [number, number][]>();
  return (instant) => {
    let localDay = Math.floor((instant + zone.offset(instant) * MINUTE) / DAY) + 1;
    while (dayStart(localDay) > instant) localDay--;
    if (!spansByDay.has(localDay)) spansByDay.set(localDay, spansOf(localDay));
    return spansByDay.get(localDay)!.some(([start, end]) => start <= instant && instant < end);
  };
}
