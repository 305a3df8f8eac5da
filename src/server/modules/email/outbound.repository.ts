import { and, desc, eq, getTableColumns } from 'drizzle-orm';
import { type BatchStatement, type Executor, runStatement, selectList } from '../../platform/db/database.js';
import { type Statement, statement } from '../../platform/db/statements.js';
import { emailDeliveries } from './email.table.js';

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
  return selectList(Object.fromEntries(SEND_FIELDS.map((field) => [field, columns[field]])));
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
 * `kinds` limits the sent mail to the kinds the recipient could have received. A statement
 * that travels as text, for a transaction's ahead statements (`threadMessageIds` runs it
 * inside an open one).
 */
export function threadStatement(
  orgId: string,
  ticketId: string,
  kinds?: readonly DeliveryRow['kind'][],
): BatchStatement<string[]> {
  return {
    ...statement((param) => {
      const org = param(orgId);
      const ticket = param(ticketId);
      const ofKinds = kinds ? ` and kind = any(${param(kinds)}::text[])` : '';
      return `(select message_id, queued_at as at, id from email_deliveries
        where org_id = ${org}::uuid and ticket_id = ${ticket}::uuid and status <> 'failed'${ofKinds})
      union all
      (select message_id, received_at, id from email_messages
        where org_id = ${org}::uuid and ticket_id = ${ticket}::uuid and direction = 'in')
      order by 2, 3`;
    }),
    read: (rows) => rows.map((row) => row.message_id as string),
  };
}

export function threadMessageIds(
  tx: Executor,
  orgId: string,
  ticketId: string,
  kinds?: readonly DeliveryRow['kind'][],
): Promise<string[]> {
  return runStatement(tx, threadStatement(orgId, ticketId, kinds));
}
