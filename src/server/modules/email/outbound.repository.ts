import { and, asc, desc, eq, getTableColumns, inArray, ne, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import type { Executor } from '../../platform/db/database.js';
import { type Statement, statement } from '../../platform/db/statements.js';
import { emailDeliveries, emailMessages } from './email.table.js';

export type DeliveryRow = typeof emailDeliveries.$inferSelect;
export type DeliveryInsert = typeof emailDeliveries.$inferInsert;

/**
 * Plans a delivery; a second plan for the same (kind, cause event, recipient) — a replayed
 * outbox event — inserts nothing and returns the existing row.
 */
export async function insertDelivery(tx: Executor, values: DeliveryInsert): Promise<DeliveryRow> {
  const [inserted] = await tx.insert(emailDeliveries).values(values).onConflictDoNothing().returning();
  if (inserted) return inserted;
  const [existing] = await tx
    .select()
    .from(emailDeliveries)
    .where(
      and(
        eq(emailDeliveries.orgId, values.orgId),
        eq(emailDeliveries.kind, values.kind),
        eq(emailDeliveries.causeEventId, values.causeEventId),
        eq(emailDeliveries.to, values.to),
      ),
    );
  return existing!;
}

/** What sending a delivery reads of it. */
const SEND_FIELDS = [
  'status',
  'fromName',
  'fromAddress',
  'replyTo',
  'to',
  'subject',
  'bodyText',
  'bodyHtml',
  'messageId',
  'inReplyTo',
  'references',
] as const;
export type DeliveryToSend = Pick<DeliveryRow, (typeof SEND_FIELDS)[number]>;

const sendColumns = (() => {
  const columns = getTableColumns(emailDeliveries);
  return SEND_FIELDS.map((field) => `"${columns[field].name}" as "${field}"`).join(', ');
})();

/**
 * The statement that reads what a send needs of a delivery, for `Database.withOrgStatement`:
 * one round trip where a transaction takes three, on the path of every outbound mail. Its
 * rows are `DeliveryToSend`; row-level security applies as in any tenant transaction.
 */
export function deliveryToSendStatement(orgId: string, id: string): Statement {
  return statement(
    (param) =>
      `select ${sendColumns} from email_deliveries where org_id = ${param(orgId)} and id = ${param(id)}`,
  );
}

/** What a send attempt records of a delivery: its outcome and the server's answer. */
export interface DeliveryOutcome {
  attempts: number;
  smtpResponse: string | null;
  lastError: string | null;
  /** Left as it is when absent (a failed attempt that will be retried stays `queued`). */
  status?: 'sent' | 'failed';
  sentAt?: Date;
}

/**
 * The statement that records a send attempt, for `Database.withOrgStatement`: one round trip
 * where a transaction takes three, on the path of every outbound mail.
 */
export function deliveryOutcomeStatement(orgId: string, id: string, outcome: DeliveryOutcome): Statement {
  const columns = getTableColumns(emailDeliveries);
  return statement((param) => {
    const assignments = [
      `"${columns.attempts.name}" = ${param(Math.trunc(outcome.attempts))}`,
      `"${columns.smtpResponse.name}" = ${param(outcome.smtpResponse)}`,
      `"${columns.lastError.name}" = ${param(outcome.lastError)}`,
      ...(outcome.status ? [`"${columns.status.name}" = ${param(outcome.status)}`] : []),
      ...(outcome.sentAt ? [`"${columns.sentAt.name}" = ${param(outcome.sentAt)}`] : []),
    ];
    return `update email_deliveries set ${assignments.join(', ')} where org_id = ${param(orgId)} and id = ${param(id)}`;
  });
}

export function listDeliveries(tx: Executor, orgId: string, ticketId: string) {
  return tx
    .select()
    .from(emailDeliveries)
    .where(and(eq(emailDeliveries.orgId, orgId), eq(emailDeliveries.ticketId, ticketId)))
    .orderBy(desc(emailDeliveries.queuedAt), desc(emailDeliveries.id));
}

/**
 * The Message-IDs of a ticket's mail thread, oldest first: every mail we sent or queued
 * (failed ones never reached anyone) and every mail we received on it, in one `union all`
 * ordered by the same instant, so replies thread behind whichever message came last.
 * `kinds` limits the sent mail to the kinds the recipient could have received.
 */
export async function threadMessageIds(
  tx: Executor,
  orgId: string,
  ticketId: string,
  kinds?: readonly DeliveryRow['kind'][],
): Promise<string[]> {
  const sent = tx
    .select({ messageId: emailDeliveries.messageId, at: emailDeliveries.queuedAt, id: emailDeliveries.id })
    .from(emailDeliveries)
    .where(
      and(
        eq(emailDeliveries.orgId, orgId),
        eq(emailDeliveries.ticketId, ticketId),
        ne(emailDeliveries.status, 'failed'),
        kinds ? inArray(emailDeliveries.kind, [...kinds]) : undefined,
      ),
    );
  const received = tx
    .select({ messageId: emailMessages.messageId, at: emailMessages.receivedAt, id: emailMessages.id })
    .from(emailMessages)
    .where(
      and(
        eq(emailMessages.orgId, orgId),
        eq(emailMessages.ticketId, ticketId),
        eq(emailMessages.direction, 'in'),
      ),
    );
  const rows = await unionAll(sent, received).orderBy(asc(sql`2`), asc(sql`3`));
  return rows.map((row) => row.messageId);
}
