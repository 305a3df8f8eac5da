import { z } from 'zod';
import { type Executor, markOutboxWritten } from '../db/database.js';
import { outbox } from './outbox.table.js';

/** A domain event type: its name (`<aggregate>.<past-tense verb>`) and payload schema. */
export interface EventType<S extends z.ZodType = z.ZodType> {
  name: string;
  aggregateType: string;
  payload: S;
}

/** Declares an event type; the catalogue feeds jobs, sockets and webhooks alike. */
export function defineEvent<S extends z.ZodType>(
  name: string,
  aggregateType: string,
  payload: S,
): EventType<S> {
  return { name, aggregateType, payload };
}

/** Who caused an event, carried into the outbox for audit and tracing. */
export interface EventOrigin {
  orgId: string | null;
  actorId?: string | null | undefined;
  requestId?: string | null | undefined;
}

/** The envelope every consumer receives, from a job or from pub/sub. */
export const EventEnvelope = z.object({
  id: z.string(),
  event: z.string(),
  orgId: z.string().nullable(),
  aggregateType: z.string(),
  aggregateId: z.string().nullable(),
  actorId: z.string().nullable(),
  requestId: z.string().nullable(),
  payload: z.unknown(),
  createdAt: z.string(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/**
 * Records a domain event in the outbox inside the caller's transaction: it is published
 * if and only if the change it describes commits.
 */
export async function recordEvent<S extends z.ZodType>(
  tx: Executor,
  type: EventType<S>,
  origin: EventOrigin,
  aggregateId: string | null,
  payload: z.input<S>,
): Promise<string> {
  const parsed = type.payload.parse(payload);
  const [row] = await tx
    .insert(outbox)
    .values({
      orgId: origin.orgId,
      event: type.name,
      aggregateType: type.aggregateType,
      aggregateId,
      actorId: origin.actorId ?? null,
      requestId: origin.requestId ?? null,
      payload: parsed as object,
    })
    .returning({ id: outbox.id });
  markOutboxWritten(tx);
  return row!.id;
}

/** An event to record, as `recordEvents` and `withOutbox` take them. */
export interface EventEntry<S extends z.ZodType = z.ZodType> {
  type: EventType<S>;
  origin: EventOrigin;
  aggregateId: string | null;
  payload: z.input<S>;
}

/** Records many events of one transaction with a single insert (bulk operations). */
export async function recordEvents<S extends z.ZodType>(
  tx: Executor,
  entries: ReadonlyArray<EventEntry<S>>,
): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(outbox).values(outboxValues(entries));
  markOutboxWritten(tx);
}

/**
 * The outbox insert of `entries` as a common table expression, so that the change they
 * describe and its events are written by one statement (one round trip):
 * `tx.with(withOutbox(tx, events)).insert(table)…`. PostgreSQL runs a data-modifying WITH
 * exactly once whether or not the main statement reads it. Marks the transaction as having
 * written outbox rows; call it only for a statement that will run in `tx`. `entries` must
 * not be empty.
 */
export function withOutbox<S extends z.ZodType>(tx: Executor, entries: ReadonlyArray<EventEntry<S>>) {
  if (entries.length === 0) throw new Error('withOutbox needs at least one event');
  markOutboxWritten(tx);
  return tx.$with('recorded_events').as(tx.insert(outbox).values(outboxValues(entries)));
}

function outboxValues<S extends z.ZodType>(entries: ReadonlyArray<EventEntry<S>>) {
  return entries.map((entry) => ({
    orgId: entry.origin.orgId,
    event: entry.type.name,
    aggregateType: entry.type.aggregateType,
    aggregateId: entry.aggregateId,
    actorId: entry.origin.actorId ?? null,
    requestId: entry.origin.requestId ?? null,
    payload: entry.type.payload.parse(entry.payload) as object,
  }));
}
