import type { TICKET_STATUSES } from './tickets.table.js';

export type TicketStatus = (typeof TICKET_STATUSES)[number];

/**
 * The status machine. `new` is only ever the first status; `closed` is final (a requester
 * writing to a closed ticket starts a follow-up instead); `resolved` may be reopened.
 */
const TRANSITIONS: Record<TicketStatus, readonly TicketStatus[]> = {
  new: ['open', 'in_progress', 'pending_user', 'waiting_on_vendor', 'resolved', 'closed'],
  open: ['in_progress', 'pending_user', 'waiting_on_vendor', 'resolved', 'closed'],
  in_progress: ['open', 'pending_user', 'waiting_on_vendor', 'resolved', 'closed'],
  pending_user: ['open', 'in_progress', 'waiting_on_vendor', 'resolved', 'closed'],
  waiting_on_vendor: ['open', 'in_progress', 'pending_user', 'resolved', 'closed'],
  resolved: ['open', 'in_progress', 'closed'],
  closed: [],
};

/** True when a ticket may move from `from` to `to` (staying put is not a transition). */
export function canTransition(from: TicketStatus, to: TicketStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses reachable from `from`, for error messages and clients. */
export function nextStatuses(from: TicketStatus): readonly TicketStatus[] {
  return TRANSITIONS[from];
}

/** Statuses in which the team is waiting on someone else (SLA clocks pause in them). */
export const WAITING_STATUSES: readonly TicketStatus[] = ['pending_user', 'waiting_on_vendor'];

/** Statuses of tickets nobody needs to work on any more. */
export const DONE_STATUSES: readonly TicketStatus[] = ['resolved', 'closed'];

/**
 * The timestamps a transition sets or clears: entering `resolved` stamps resolved_at,
 * reopening clears it; entering `closed` stamps closed_at (and resolved_at if unset).
 */
export function lifecycleStamps(
  to: TicketStatus,
  current: { resolvedAt: Date | null; closedAt: Date | null },
  now: Date,
): { resolvedAt: Date | null; closedAt: Date | null } {
  if (to === 'resolved') return { resolvedAt: now, closedAt: null };
  if (to === 'closed') return { resolvedAt: current.resolvedAt ?? now, closedAt: now };
  return { resolvedAt: null, closedAt: null };
}
