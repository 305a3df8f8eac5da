import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { type BusinessInterval, calendarProblems, WEEKDAYS, type Weekday } from './business-time.js';
import * as repo from './configuration.repository.js';
import {
  type Changes,
  ConfigurationUseCases,
  nameTaken,
  noteChange,
  originOf,
  type Problems,
  refuseProblems,
} from './configuration.service.js';
import {
  BusinessCalendarCreated,
  BusinessCalendarDeleted,
  BusinessCalendarUpdated,
  HolidayCalendarCreated,
  HolidayCalendarDeleted,
  HolidayCalendarUpdated,
} from './sla.events.js';
import type {
  CreateCalendarBody,
  CreateHolidayCalendarBody,
  UpdateCalendarBody,
  UpdateHolidayCalendarBody,
} from './sla.schema.js';

type Hours = Partial<Record<Weekday, BusinessInterval[]>>;
type HolidayEntry = { date: string; name: string; recurring: boolean };
type TeamAssignment = { teamId: string; calendarId: string };

const holidayCalendarTaken = (name: string) => () => nameTaken('A holiday calendar', name);
const calendarTaken = (name: string) => () => nameTaken('A business calendar', name);

function presentHolidayCalendar(row: repo.HolidayCalendarRow, holidays: readonly HolidayEntry[]) {
  return {
    id: row.id,
    name: row.name,
    holidays: holidays.map(({ date, name, recurring }) => ({ date, name, recurring })),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function presentCalendar(row: repo.BusinessCalendarRow, assignments: readonly TeamAssignment[]) {
  return {
    id: row.id,
    name: row.name,
    timeZone: row.timeZone,
    hours: Object.fromEntries(WEEKDAYS.map((day) => [day, row.hours[day] ?? []])) as Record<
      Weekday,
      BusinessInterval[]
    >,
    holidayCalendarIds: row.holidayCalendarIds,
    teamIds: teamsOf(assignments, row.id),
    isDefault: row.isDefault,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const teamsOf = (assignments: readonly TeamAssignment[], calendarId: string) =>
  assignments.filter((row) => row.calendarId === calendarId).map((row) => row.teamId);

/** The index of every holiday whose date an earlier one of the list already has. */
function duplicateHolidayProblems(holidays: readonly HolidayEntry[]): Problems {
  const problems: Problems = {};
  const seen = new Set<string>();
  holidays.forEach((holiday, index) => {
    if (seen.has(holiday.date)) problems[`holidays.${index}.date`] = 'is listed twice in this calendar';
    seen.add(holiday.date);
  });
  return problems;
}

/** The week as stored: closed days left out, each day's intervals by start time. */
function normalizeHours(hours: Hours): Hours {
  const result: Hours = {};
  for (const day of WEEKDAYS) {
    const intervals = hours[day];
    if (intervals && intervals.length > 0)
      result[day] = [...intervals]
        .map(({ start, end }) => ({ start, end }))
        .sort((left, right) => left.start.localeCompare(right.start));
  }
  return result;
}

const sortedHolidays = (holidays: readonly HolidayEntry[]) =>
  [...holidays].sort((left, right) => left.date.localeCompare(right.date));

/** Admin use cases on holiday calendars and business calendars (with their teams). */
export class CalendarsService extends ConfigurationUseCases {
  async listHolidayCalendars(actor: Actor) {
    return this.read(actor, async (tx) => {
      const rows = await repo.listHolidayCalendars(tx, actor.orgId);
      const holidays = await repo.listHolidays(tx, actor.orgId);
      return {
        data: rows.map((row) =>
          presentHolidayCalendar(
            row,
            holidays.filter((holiday) => holiday.holidayCalendarId === row.id),
          ),
        ),
      };
    });
  }

  async getHolidayCalendar(actor: Actor, id: string) {
    return this.read(actor, async (tx) => {
      const row = await repo.findHolidayCalendar(tx, actor.orgId, id);
      if (!row) throw notFound('Holiday calendar');
      return presentHolidayCalendar(row, await repo.listHolidays(tx, actor.orgId, [id]));
    });
  }

  async createHolidayCalendar(actor: Actor, input: z.output<typeof CreateHolidayCalendarBody>) {
    this.authorize(actor);
    refuseProblems('Invalid holiday calendar', duplicateHolidayProblems(input.holidays));
    return this.change(
      actor,
      async (tx) => {
        if (await repo.findHolidayCalendarNamed(tx, actor.orgId, input.name))
          throw holidayCalendarTaken(input.name)();
        const row = await repo.insertHolidayCalendar(tx, { orgId: actor.orgId, name: input.name });
        await repo.replaceHolidays(tx, actor.orgId, row.id, input.holidays);
        await recordEvent(tx, HolidayCalendarCreated, originOf(actor), row.id, { name: row.name });
        return presentHolidayCalendar(row, sortedHolidays(input.holidays));
      },
      holidayCalendarTaken(input.name),
    );
  }

  /** Renames a holiday calendar and/or replaces its holidays. */
  async updateHolidayCalendar(actor: Actor, id: string, input: z.output<typeof UpdateHolidayCalendarBody>) {
    this.authorize(actor);
    if (input.holidays) refuseProblems('Invalid holiday calendar', duplicateHolidayProblems(input.holidays));
    return this.change(
      actor,
      async (tx) => {
        const row = await repo.findHolidayCalendar(tx, actor.orgId, id);
        if (!row) throw notFound('Holiday calendar');
        const before = await repo.listHolidays(tx, actor.orgId, [id]);
        const changes: Changes = {};
        if (input.name !== undefined) noteChange(changes, 'name', row.name, input.name);
        const present = (list: readonly HolidayEntry[]) =>
          list.map(({ date, name, recurring }) => ({ date, name, recurring }));
        if (input.holidays)
          noteChange(changes, 'holidays', present(before), present(sortedHolidays(input.holidays)));
        if (Object.keys(changes).length === 0) return presentHolidayCalendar(row, before);
        const renamed = changes.name && input.name!.toLowerCase() !== row.name.toLowerCase();
        if (renamed && (await repo.findHolidayCalendarNamed(tx, actor.orgId, input.name!)))
          throw holidayCalendarTaken(input.name!)();
        if (changes.holidays) await repo.replaceHolidays(tx, actor.orgId, id, input.holidays!);
        const updated = await repo.updateHolidayCalendar(tx, actor.orgId, id, {
          name: input.name ?? row.name,
          updatedAt: new Date(),
        });
        await recordEvent(tx, HolidayCalendarUpdated, originOf(actor), id, { name: updated!.name, changes });
        return presentHolidayCalendar(updated!, await repo.listHolidays(tx, actor.orgId, [id]));
      },
      holidayCalendarTaken(input.name ?? ''),
    );
  }

  /** Deletes a holiday calendar no business calendar uses (409 naming those that do). */
  async deleteHolidayCalendar(actor: Actor, id: string): Promise<void> {
    await this.change(actor, async (tx) => {
      const row = await repo.findHolidayCalendar(tx, actor.orgId, id);
      if (!row) throw notFound('Holiday calendar');
      const users = await repo.calendarsUsingHolidayCalendar(tx, actor.orgId, id);
      if (users.length > 0)
        throw new AppError(
          'CONFLICT',
          `Business calendars use this holiday calendar: ${users.map((user) => user.name).join(', ')}`,
          { details: { calendars: users } },
        );
      await repo.deleteHolidayCalendar(tx, actor.orgId, id);
      await recordEvent(tx, HolidayCalendarDeleted, originOf(actor), id, { name: row.name });
    });
  }

  async listCalendars(actor: Actor) {
    return this.read(actor, async (tx) => {
      const rows = await repo.listBusinessCalendars(tx, actor.orgId);
      const assignments = await repo.listTeamCalendars(tx, actor.orgId);
      return { data: rows.map((row) => presentCalendar(row, assignments)) };
    });
  }

  async getCalendar(actor: Actor, id: string) {
    return this.read(actor, async (tx) => {
      const row = await repo.findBusinessCalendar(tx, actor.orgId, id);
      if (!row) throw notFound('Business calendar');
      return presentCalendar(row, await repo.listTeamCalendars(tx, actor.orgId));
    });
  }

  async createCalendar(actor: Actor, input: z.output<typeof CreateCalendarBody>) {
    return this.change(
      actor,
      async (tx) => {
        await this.check(tx, actor, input);
        if (await repo.findBusinessCalendarNamed(tx, actor.orgId, input.name))
          throw calendarTaken(input.name)();
        if (input.isDefault) await this.clearDefault(tx, actor);
        const row = await repo.insertBusinessCalendar(tx, {
          orgId: actor.orgId,
          name: input.name,
          timeZone: input.timeZone,
          hours: normalizeHours(input.hours),
          holidayCalendarIds: [...new Set(input.holidayCalendarIds)],
          isDefault: input.isDefault,
        });
        await recordEvent(tx, BusinessCalendarCreated, originOf(actor), row.id, { name: row.name });
        const assignments = await this.assignTeams(tx, actor, row.id, input.teamIds);
        return presentCalendar(row, assignments);
      },
      calendarTaken(input.name),
    );
  }

  async updateCalendar(actor: Actor, id: string, input: z.output<typeof UpdateCalendarBody>) {
    return this.change(
      actor,
      async (tx) => {
        const row = await repo.findBusinessCalendar(tx, actor.orgId, id);
        if (!row) throw notFound('Business calendar');
        const timeZone = input.timeZone ?? row.timeZone;
        // Checked as sent: problem paths name the intervals in the client's order.
        await this.check(tx, actor, { ...input, timeZone, hours: input.hours ?? row.hours });
        const name = input.name ?? row.name;
        const hours = input.hours ? normalizeHours(input.hours) : row.hours;
        const holidayCalendarIds = input.holidayCalendarIds
          ? [...new Set(input.holidayCalendarIds)]
          : row.holidayCalendarIds;
        const isDefault = input.isDefault ?? row.isDefault;
        const changes: Changes = {};
        noteChange(changes, 'name', row.name, name);
        noteChange(changes, 'timeZone', row.timeZone, timeZone);
        noteChange(changes, 'hours', normalizeHours(row.hours), hours);
        noteChange(changes, 'holidayCalendarIds', row.holidayCalendarIds, holidayCalendarIds);
        noteChange(changes, 'isDefault', row.isDefault, isDefault);
        const renamed = changes.name && name.toLowerCase() !== row.name.toLowerCase();
        if (renamed && (await repo.findBusinessCalendarNamed(tx, actor.orgId, name)))
          throw calendarTaken(name)();
        if (changes.isDefault && isDefault) await this.clearDefault(tx, actor, id);
        let assignments = await repo.listTeamCalendars(tx, actor.orgId);
        if (input.teamIds) {
          const before = teamsOf(assignments, id).sort();
          assignments = await this.assignTeams(tx, actor, id, input.teamIds);
          noteChange(changes, 'teamIds', before, teamsOf(assignments, id).sort());
        }
        if (Object.keys(changes).length === 0) return presentCalendar(row, assignments);
        const updated = await repo.updateBusinessCalendar(tx, actor.orgId, id, {
          name,
          timeZone,
          hours,
          holidayCalendarIds,
          isDefault,
          updatedAt: new Date(),
        });
        await recordEvent(tx, BusinessCalendarUpdated, originOf(actor), id, { name, changes });
        return presentCalendar(updated!, assignments);
      },
      calendarTaken(input.name ?? ''),
    );
  }

  /**
   * Deletes a calendar no live policy counts by (409 naming them). Its teams fall back to
   * the default calendar. A calendar SLA timers have counted by stays (409): their due
   * dates were computed with it.
   */
  async deleteCalendar(actor: Actor, id: string): Promise<void> {
    await this.change(actor, async (tx) => {
      const row = await repo.findBusinessCalendar(tx, actor.orgId, id);
      if (!row) throw notFound('Business calendar');
      const policies = await repo.livePoliciesUsingCalendar(tx, actor.orgId, id);
      if (policies.length > 0)
        throw new AppError(
          'CONFLICT',
          `SLA policies use this calendar: ${policies.map((policy) => policy.name).join(', ')}`,
          { details: { policies } },
        );
      if (await repo.hasTimersOnCalendar(tx, actor.orgId, id))
        throw new AppError('CONFLICT', 'SLA timers of tickets have counted by this calendar; it cannot go');
      await repo.detachDeletedPolicies(tx, actor.orgId, id);
      await repo.deleteBusinessCalendar(tx, actor.orgId, id);
      await recordEvent(tx, BusinessCalendarDeleted, originOf(actor), id, { name: row.name });
    });
  }

  /** Hours, time zone, holiday calendars and teams of a calendar to write: one 422 listing all problems. */
  private async check(
    tx: Executor,
    actor: Actor,
    input: { timeZone: string; hours: Hours; holidayCalendarIds?: string[]; teamIds?: string[] },
  ): Promise<void> {
    const problems: Problems = calendarProblems({
      timeZone: input.timeZone,
      hours: input.hours,
      holidays: [],
    });
    const holidayCalendarIds = input.holidayCalendarIds ?? [];
    const knownHolidayCalendars = await repo.existingHolidayCalendarIds(tx, actor.orgId, holidayCalendarIds);
    const unknownHolidayCalendars = holidayCalendarIds.filter((id) => !knownHolidayCalendars.has(id));
    if (unknownHolidayCalendars.length > 0)
      problems.holidayCalendarIds = `unknown holiday calendars: ${unknownHolidayCalendars.join(', ')}`;
    const teamIds = input.teamIds ?? [];
    const teams = await directory.teams(tx, actor.orgId, teamIds);
    const unknownTeams = teamIds.filter((id) => !teams.has(id));
    if (unknownTeams.length > 0) problems.teamIds = `unknown teams: ${unknownTeams.join(', ')}`;
    refuseProblems('Invalid business calendar', problems);
  }

  /** Unsets the previous default calendar, recording that it changed. */
  private async clearDefault(tx: Executor, actor: Actor, exceptId?: string): Promise<void> {
    const previous = await repo.clearDefaultCalendar(tx, actor.orgId, exceptId);
    if (previous)
      await recordEvent(tx, BusinessCalendarUpdated, originOf(actor), previous.id, {
        name: previous.name,
        changes: { isDefault: { from: true, to: false } },
      });
  }

  /**
   * Makes `teamIds` the calendar's teams; calendars that lose a team to it record the
   * change. Returns the organisation's assignments afterwards.
   */
  private async assignTeams(
    tx: Executor,
    actor: Actor,
    calendarId: string,
    teamIds: readonly string[],
  ): Promise<TeamAssignment[]> {
    const wanted = [...new Set(teamIds)];
    const before = await repo.listTeamCalendars(tx, actor.orgId);
    const losers = new Set(
      before
        .filter((row) => row.calendarId !== calendarId && wanted.includes(row.teamId))
        .map((row) => row.calendarId),
    );
    await repo.setCalendarTeams(tx, actor.orgId, calendarId, wanted);
    const after = await repo.listTeamCalendars(tx, actor.orgId);
    if (losers.size === 0) return after;
    const names = new Map(
      (await repo.listBusinessCalendars(tx, actor.orgId)).map((row) => [row.id, row.name] as const),
    );
    for (const loser of losers) {
      await recordEvent(tx, BusinessCalendarUpdated, originOf(actor), loser, {
        name: names.get(loser) ?? '',
        changes: { teamIds: { from: teamsOf(before, loser), to: teamsOf(after, loser) } },
      });
    }
    return after;
  }
}
