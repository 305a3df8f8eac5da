import { describe, expect, it } from 'vitest';
import { canTransition, lifecycleStamps, nextStatuses } from './ticket-status.js';
import { TICKET_STATUSES } from './tickets.table.js';

describe('ticket status machine', () => {
  it('never returns to new and never leaves closed', () => {
    for (const from of TICKET_STATUSES) expect(canTransition(from, 'new')).toBe(false);
    for (const to of TICKET_STATUSES) expect(canTransition('closed', to)).toBe(false);
  });

  it('reopens a resolved ticket but does not park it as waiting', () => {
    expect(canTransition('resolved', 'open')).toBe(true);
    expect(canTransition('resolved', 'pending_user')).toBe(false);
    expect(canTransition('resolved', 'closed')).toBe(true);
  });

  it('lets every working status reach every other working status and the end states', () => {
    const working = ['open', 'in_progress', 'pending_user', 'waiting_on_vendor'] as const;
    for (const from of working) {
      for (const to of [...working, 'resolved', 'closed'] as const) {
        expect(canTransition(from, to)).toBe(from !== to);
      }
    }
    expect(nextStatuses('new')).not.toContain('new');
  });

  it('stamps and clears resolved_at and closed_at', () => {
    const now = new Date('2026-01-02T03:04:05Z');
    const earlier = new Date('2026-01-01T00:00:00Z');
    expect(lifecycleStamps('resolved', { resolvedAt: null, closedAt: null }, now)).toEqual({
      resolvedAt: now,
      closedAt: null,
    });
    expect(lifecycleStamps('closed', { resolvedAt: earlier, closedAt: null }, now)).toEqual({
      resolvedAt: earlier,
      closedAt: now,
    });
    expect(lifecycleStamps('open', { resolvedAt: earlier, closedAt: null }, now)).toEqual({
      resolvedAt: null,
      closedAt: null,
    });
  });
});
