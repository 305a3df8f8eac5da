import { describe, expect, it } from 'vitest';
import type { TicketHistory } from '../tickets/index.js';
import type { SlaPolicy } from './clocks.js';
import type { SlaConfiguration } from './configuration.cache.js';
import { simulatePolicy } from './simulate.js';

const HOUR = 3_600_000;
const t0 = new Date('2026-11-02T08:00:00Z'); // a Monday
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);

const configuration: SlaConfiguration = {
  policies: [],
  calendars: new Map([
    [
      'office',
      {
        timeZone: 'UTC',
        hours: { monday: [{ start: '09:00', end: '17:00' }], tuesday: [{ start: '09:00', end: '17:00' }] },
        holidays: [],
      },
    ],
  ]),
  teamCalendarIds: new Map(),
  defaultCalendarId: null,
  escalation: null,
};

function policy(overrides: Partial<SlaPolicy> = {}): SlaPolicy {
  return {
    id: 'draft',
    orgId: 'org',
    name: 'Draft',
    description: '',
    position: 0,
    enabled: true,
    conditions: {},
    targets: {
      low: {},
      medium: { first_response: 2 * 3600, next_response: 3600, resolution: 8 * 3600 },
      high: {},
      critical: {},
    },
    businessHours: 'always',
    calendarId: null,
    atRiskShare: 0.75,
    createdAt: t0,
    updatedAt: t0,
    deletedAt: null,
    ...overrides,
  };
}

function history(
  statuses: Array<[number, string]>,
  replies: Array<[number, boolean]>,
  ticket: Record<string, unknown> = {},
): TicketHistory {
  return {
    ticket: {
      id: crypto.randomUUID(),
      orgId: 'org',
      createdAt: t0,
      priority: 'medium',
      teamId: null,
      categoryId: null,
      channel: 'web',
      customFields: {},
      requesterId: 'requester',
      ...ticket,
    } as TicketHistory['ticket'],
    statuses: statuses.map(([hours, to]) => ({ at: at(hours), to })),
    replies: replies.map(([hours, byAgent]) => ({ at: at(hours), byAgent })),
  };
}

describe('simulatePolicy', () => {
  it('counts met, breached and still-running clocks of each kind', () => {
    const histories = [
      // Answered in 1 h, resolved in 5 h: all met.
      history([[5, 'resolved']], [[1, true]]),
      // Answered after 3 h: first response breached; resolution still running at the end.
      history([], [[3, true]]),
      // Requester wrote at 4 h, answer at 6 h: next response breached.
      history(
        [[7, 'resolved']],
        [
          [1, true],
          [4, false],
          [6, true],
        ],
      ),
    ];
    const result = simulatePolicy(configuration, policy(), histories, new Map(), at(6.5));
    expect(result.ticketsMatched).toBe(3);
    expect(result.byKind.first_response).toEqual({ met: 2, breached: 1, running: 0 });
    expect(result.byKind.next_response).toEqual({ met: 0, breached: 1, running: 0 });
    expect(result.byKind.resolution).toEqual({ met: 2, breached: 0, running: 1 });
  });

  it('does not count time spent waiting on the requester', () => {
    // 10 h to resolve, 4 of them pending the requester: 6 h worked, within 8.
    const waited = history(
      [
        [1, 'pending_user'],
        [5, 'open'],
        [10, 'resolved'],
      ],
      [[0.5, true]],
    );
    expect(simulatePolicy(configuration, policy(), [waited], new Map(), at(11)).byKind.resolution).toEqual({
      met: 1,
      breached: 0,
      running: 0,
    });
  });

  it('restarts resolution on reopen and counts only business hours', () => {
    // Created Monday 08:00 UTC; the office opens 09:00–17:00. Resolved Monday 16:00 (7 business
    // hours), reopened Monday 16:30, resolved again Tuesday 12:00 (0.5 + 3 = 3.5 business hours).
    const reopened = history(
      [
        [8, 'resolved'],
        [8.5, 'open'],
        [28, 'resolved'],
      ],
      [[2, true]],
    );
    const office = policy({
      businessHours: 'calendar',
      calendarId: 'office',
      targets: { low: {}, medium: { resolution: 4 * 3600 }, high: {}, critical: {} },
    });
    expect(simulatePolicy(configuration, office, [reopened], new Map(), at(30)).byKind.resolution).toEqual({
      met: 1,
      breached: 1,
      running: 0,
    });
  });

  it('considers only the tickets the draft conditions select', () => {
    const histories = [history([], [], { channel: 'email' }), history([], [], { channel: 'web' })];
    const emailOnly = policy({ conditions: { channels: ['email'] } });
    const result = simulatePolicy(configuration, emailOnly, histories, new Map(), at(1));
    expect(result).toMatchObject({ ticketsConsidered: 2, ticketsMatched: 1 });
  });
});
