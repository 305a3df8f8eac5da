import type { Counter } from 'prom-client';
import type { Socket } from 'socket.io';
import type { TicketFeedService } from '../tickets/index.js';
import { socketEventOf } from './realtime.events.js';
import type { Session } from './realtime.sessions.js';

/**
 * Replays start this long before the last event the client has. Event ids are UUIDv7,
 * taken just before their transaction commits, so a transaction that commits a moment
 * after a later one has the smaller id: without the overlap a client could step over it.
 * Clients drop the ids they already have.
 */
export const CATCH_UP_OVERLAP_MS = 5_000;

/**
 * Sends a reconnecting socket the ticket events it missed, filtered as live events are
 * (tickets it may see now; requesters never get internal events), then `sync:done`. More
 * than `maxEvents` is too many to replay: the client gets `sync:refetch` and reloads.
 */
export async function catchUp(
  socket: Socket,
  session: Session,
  lastEventId: string,
  deps: { feed: TicketFeedService; maxEvents: number; emitted: Counter<'event'> },
): Promise<{ replayed: number; refetch: boolean }> {
  const { items, more } = await deps.feed.since(session.actor, replayFrom(lastEventId), deps.maxEvents);
  if (more) {
    socket.emit('sync:refetch', { reason: 'too_many_missed', maxEvents: deps.maxEvents });
    deps.emitted.inc({ event: 'sync:refetch' });
    return { replayed: 0, refetch: true };
  }
  for (const item of items) {
    const name = socketEventOf(item.event);
    socket.emit(name, item.payload);
    deps.emitted.inc({ event: name });
  }
  socket.emit('sync:done', { replayed: items.length, lastEventId: items.at(-1)?.eventId ?? lastEventId });
  return { replayed: items.length, refetch: false };
}

/** The smallest UUIDv7 of the millisecond `CATCH_UP_OVERLAP_MS` before the one of `eventId`. */
export function replayFrom(eventId: string): string {
  const millis = Number.parseInt(eventId.replaceAll('-', '').slice(0, 12), 16);
  const from = Math.max(0, millis - CATCH_UP_OVERLAP_MS)
    .toString(16)
    .padStart(12, '0');
  return `${from.slice(0, 8)}-${from.slice(8, 12)}-7000-8000-000000000000`;
}
