import {
  TicketAssigned,
  TicketCreated,
  TicketMessageCreated,
  TicketStatusChanged,
} from '../tickets/index.js';

/** Socket events of ticket domain events; every other ticket event is `ticket:updated`. */
const SOCKET_EVENTS: Record<string, string> = {
  [TicketCreated.name]: 'ticket:new',
  [TicketAssigned.name]: 'ticket:assigned',
  [TicketStatusChanged.name]: 'ticket:status',
  [TicketMessageCreated.name]: 'message:new',
};

/** The socket event a ticket domain event is sent as. */
export function socketEventOf(domainEvent: string): string {
  return SOCKET_EVENTS[domainEvent] ?? 'ticket:updated';
}
