import { z } from 'zod';
import { defineEvent, type EventType } from '../../platform/events/events.js';

/**
 * Every ticket change is one outbox event with this payload: enough for listeners (sockets,
 * notifications, SLA) to decide who may see it without reading the ticket again.
 */
export const TicketEventPayload = z.object({
  /** The `ticket_events` row this event mirrors; clients catch up from it. */
  eventId: z.uuid(),
  type: z.string(),
  number: z.string(),
  status: z.string(),
  priority: z.string(),
  teamId: z.uuid().nullable(),
  assigneeId: z.uuid().nullable(),
  requesterId: z.uuid(),
  isInternal: z.boolean(),
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
  data: z.record(z.string(), z.unknown()),
});
export type TicketEventPayload = z.infer<typeof TicketEventPayload>;

const ticketEvent = (name: string) => defineEvent(name, 'ticket', TicketEventPayload);

export const TicketCreated = ticketEvent('ticket.created');
export const TicketUpdated = ticketEvent('ticket.updated');
export const TicketStatusChanged = ticketEvent('ticket.status_changed');
export const TicketAssigned = ticketEvent('ticket.assigned');
export const TicketMessageCreated = ticketEvent('message.created');
export const TicketMerged = ticketEvent('ticket.merged');
export const TicketDeleted = ticketEvent('ticket.deleted');
/** SLA steps: `data` names the timer and, for notifications, the `recipients`. */
export const TicketSlaAtRisk = ticketEvent('ticket.sla_at_risk');
export const TicketSlaBreached = ticketEvent('ticket.sla_breached');
export const TicketEscalated = ticketEvent('ticket.escalated');

/** The kinds of rows in a ticket's timeline, and the outbox event each publishes. */
export const TIMELINE_EVENTS = {
  created: TicketCreated,
  updated: TicketUpdated,
  status_changed: TicketStatusChanged,
  assigned: TicketAssigned,
  comment_added: TicketMessageCreated,
  note_added: TicketMessageCreated,
  merged: TicketMerged,
  merged_into: TicketMerged,
  message_split: TicketUpdated,
  linked: TicketUpdated,
  unlinked: TicketUpdated,
  follower_added: TicketUpdated,
  follower_removed: TicketUpdated,
  time_logged: TicketUpdated,
  deleted: TicketDeleted,
  sla_at_risk: TicketSlaAtRisk,
  sla_breached: TicketSlaBreached,
  sla_escalated: TicketEscalated,
} as const satisfies Record<string, EventType>;

export type TimelineEventType = keyof typeof TIMELINE_EVENTS;
