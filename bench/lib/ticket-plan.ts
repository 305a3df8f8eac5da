import { TICKET_STATUSES } from '../../src/server/modules/tickets/tickets.table.js';
import { Random } from './random.js';

/**
 * The shape of a generated history before any text: how many tickets each day, when each
 * was opened, its status by age and how many messages it has (exactly tickets × mean in
 * total). Kept apart from the text so the counts can be balanced before anything is written.
 */

/** The application's statuses: the plan stores each ticket's as an index into this list. */
export const STATUSES = TICKET_STATUSES;
export const NEW = STATUSES.indexOf('new');
export const RESOLVED = STATUSES.indexOf('resolved');
export const CLOSED = STATUSES.indexOf('closed');
/** Weights of new, open, in_progress, pending_user, waiting_on_vendor among unfinished tickets. */
const RECENT_ACTIVE = [0.3, 0.35, 0.2, 0.1, 0.05];
const STALE_ACTIVE = [0.1, 0.35, 0.15, 0.25, 0.15];
const MAX_MESSAGES = 15;
/** Tickets with exactly this many messages, for the "get a ticket with its conversation" test. */
export const LONG_CONVERSATION = 20;
export const DAY_MS = 86_400_000;

export interface PlanOptions {
  tickets: number;
  messagesPerTicket: number;
  /** Tickets are spread over this many days, ending yesterday (UTC). */
  days: number;
  seed: number;
}

export interface Day {
  start: number;
  /** YYYY-MM-DD (UTC), the counter's day. */
  label: string;
  first: number;
  count: number;
}

export interface Plan {
  days: Day[];
  createdAt: Float64Array;
  status: Uint8Array;
  messages: Uint8Array;
}

/**
 * Weekdays get four times the tickets of weekend days and volume grows over the period;
 * within a day, tickets cluster around midday. Times increase with the ticket's index, so
 * the table is written in creation order, as an application would have.
 */
export function planTickets(options: PlanOptions): Plan {
  const random = new Random(options.seed);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  const now = Date.now();
  const weights = Array.from({ length: options.days }, (_, index) => {
    const start = today - (options.days - index) * DAY_MS;
    const weekday = new Date(start).getUTCDay();
    return (weekday === 0 || weekday === 6 ? 0.25 : 1) * (0.6 + (0.8 * index) / options.days);
  });
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const days: Day[] = [];
  let cumulative = 0;
  for (const [index, weight] of weights.entries()) {
    const first = Math.floor((options.tickets * cumulative) / total);
    cumulative += weight;
    const start = today - (options.days - index) * DAY_MS;
    const count = Math.floor((options.tickets * cumulative) / total) - first;
    days.push({ start, label: new Date(start).toISOString().slice(0, 10), first, count });
  }
  days.at(-1)!.count = options.tickets - days.at(-1)!.first;

  const createdAt = new Float64Array(options.tickets);
  const status = new Uint8Array(options.tickets);
  const messages = new Uint8Array(options.tickets);
  for (const day of days) {
    for (let k = 0; k < day.count; k += 1) {
      const index = day.first + k;
      // u ↦ u + 0.8·sin(2πu)/2π is increasing and slowest (densest) at midday.
      const u = (k + random.next()) / day.count;
      createdAt[index] =
        day.start + Math.floor((u + (0.8 * Math.sin(2 * Math.PI * u)) / (2 * Math.PI)) * DAY_MS);
      const ageDays = (now - createdAt[index]!) / DAY_MS;
      const active = ageDays < 2 ? 0.9 : ageDays < 14 ? 0.55 : 0.085;
      status[index] = random.chance(active)
        ? random.weighted(ageDays < 14 ? RECENT_ACTIVE : STALE_ACTIVE)
        : random.chance(0.35)
          ? RESOLVED
          : CLOSED;
      messages[index] =
        status[index] === NEW
          ? random.chance(0.3)
            ? 1
            : 0
          : Math.min(MAX_MESSAGES, 1 + Math.floor(random.exponential(options.messagesPerTicket)));
    }
  }
  const longCount = Math.min(200, Math.floor(options.tickets / 100));
  const fixed = new Set<number>();
  for (let n = 0; n < longCount; n += 1) {
    let index = Math.floor(((n + 0.5) * options.tickets) / longCount);
    while (status[index] === NEW && index > 0) index -= 1;
    messages[index] = LONG_CONVERSATION;
    fixed.add(index);
  }
  balanceMessages(messages, status, fixed, Math.round(options.tickets * options.messagesPerTicket), random);
  return { days, createdAt, status, messages };
}

/** Nudges per-ticket counts until they add up to exactly `target`. */
function balanceMessages(
  messages: Uint8Array,
  status: Uint8Array,
  fixed: ReadonlySet<number>,
  target: number,
  random: Random,
): void {
  let difference = target - messages.reduce((sum, count) => sum + count, 0);
  if (difference > messages.length * (MAX_MESSAGES - 1))
    throw new Error(`cannot place ${target} messages on ${messages.length} tickets`);
  while (difference !== 0) {
    const index = random.int(messages.length);
    if (status[index] === NEW || fixed.has(index)) continue;
    if (difference > 0 && messages[index]! < MAX_MESSAGES) {
      messages[index]! += 1;
      difference -= 1;
    } else if (difference < 0 && messages[index]! > 1) {
      messages[index]! -= 1;
      difference += 1;
    }
  }
}
