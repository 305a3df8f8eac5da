import { describe, expect, it } from 'vitest';
import { presenceView, type Roster } from './presence.store.js';
import { CATCH_UP_OVERLAP_MS, replayFrom } from './realtime.catchup.js';

const TICKET = '0190a1b2-0000-7000-8000-000000000001';
const ALICE = '0190a1b2-0000-7000-8000-00000000000a';
const BOB = '0190a1b2-0000-7000-8000-00000000000b';
const entry = (userId: string, name: string, fields: Partial<Roster[string]> = {}): Roster[string] => ({
  userId,
  name,
  since: 1_000,
  expiresAt: 10_000,
  typing: null,
  typingUntil: 0,
  composing: null,
  ...fields,
});

describe('presenceView', () => {
  it('counts a user once across tabs, earliest first, and keeps what they compose', () => {
    const view = presenceView(
      TICKET,
      {
        a1: entry(ALICE, 'Alice', { since: 3_000 }),
        b1: entry(BOB, 'Bob', { since: 2_000 }),
        a2: entry(ALICE, 'Alice', { since: 1_500, composing: 'note' }),
      },
      5_000,
    );
    expect(view.viewers).toEqual([
      { userId: ALICE, name: 'Alice', since: new Date(1_500).toISOString(), composing: 'note' },
      { userId: BOB, name: 'Bob', since: new Date(2_000).toISOString(), composing: null },
    ]);
    expect(view.typers).toEqual([]);
  });

  it('drops typing and viewing once they run out', () => {
    const roster: Roster = {
      a: entry(ALICE, 'Alice', { typing: 'reply', typingUntil: 6_000, composing: 'reply' }),
      b: entry(BOB, 'Bob', { expiresAt: 4_000 }),
    };
    expect(presenceView(TICKET, { ...roster }, 5_000).typers).toEqual([
      { userId: ALICE, name: 'Alice', kind: 'reply' },
    ]);
    const later = presenceView(TICKET, { ...roster }, 7_000);
    expect(later.typers).toEqual([]);
    expect(later.viewers.map((viewer) => viewer.userId)).toEqual([ALICE]);
  });
});

describe('replayFrom', () => {
  it('starts the overlap before the event, as the smallest UUIDv7 of that millisecond', () => {
    const at = Date.UTC(2026, 10, 24, 12, 0, 0);
    const hex = at.toString(16).padStart(12, '0');
    const eventId = `${hex.slice(0, 8)}-${hex.slice(8)}-7abc-9def-0123456789ab`;
    const from = replayFrom(eventId);
    const millis = Number.parseInt(from.replaceAll('-', '').slice(0, 12), 16);
    expect(millis).toBe(at - CATCH_UP_OVERLAP_MS);
    expect(from).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7000-8000-000000000000$/);
    expect(from < eventId).toBe(true);
  });
});
