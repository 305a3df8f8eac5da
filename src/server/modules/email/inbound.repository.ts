import { and, desc, eq, inArray, isNull } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { emailDeliveries, emailMessages, emailQuarantine, mailboxes } from './email.table.js';
import type { MailboxRow } from './mailboxes.repository.js';

export type EmailMessageRow = typeof emailMessages.$inferSelect;
export type EmailMessageInsert = typeof emailMessages.$inferInsert;
export type QuarantineRow = typeof emailQuarantine.$inferSelect;

/**
 * Claims a Message-ID for the organisation. Undefined when another delivery holds it: the
 * unique index makes a concurrent second delivery wait for the first and then find it.
 */
export async function claimMessage(tx: Executor, values: EmailMessageInsert) {
  const [row] = await tx.insert(emailMessages).values(values).onConflictDoNothing().returning();
  return row;
}

export async function findMessage(tx: Executor, orgId: string, messageId: string) {
  const [row] = await tx
    .select()
    .from(emailMessages)
    .where(and(eq(emailMessages.orgId, orgId), eq(emailMessages.messageId, messageId)));
  return row;
}

/** Received mail by Message-ID (the unique index), for the ticket view. */
export function receivedMessages(tx: Executor, orgId: string, messageIds: readonly string[]) {
  if (messageIds.length === 0) return Promise.resolve([]);
  return tx
    .select({
      messageId: emailMessages.messageId,
      fromAddress: emailMessages.fromAddress,
      decision: emailMessages.decision,
      rawStorageKey: emailMessages.rawStorageKey,
      contentInMailbox: emailMessages.contentInMailbox,
    })
    .from(emailMessages)
    .where(
      and(
        eq(emailMessages.orgId, orgId),
        eq(emailMessages.direction, 'in'),
        inArray(emailMessages.messageId, [...new Set(messageIds)]),
      ),
    );
}

export async function updateMessage(tx: Executor, id: string, values: Partial<EmailMessageInsert>) {
  await tx.update(emailMessages).set(values).where(eq(emailMessages.id, id));
}

/**
 * Whether we sent a mail with this Message-ID: the outbound half lives in `email_deliveries`
 * (rendered there once), the inbound half in `email_messages`; this and `ticketsOfMessageIds`
 * are the only places that read both.
 */
export async function isOwnMessage(tx: Executor, orgId: string, messageId: string): Promise<boolean> {
  const rows = await tx
    .select({ id: emailDeliveries.id })
    .from(emailDeliveries)
    .where(and(eq(emailDeliveries.orgId, orgId), eq(emailDeliveries.messageId, messageId)))
    .limit(1);
  return rows.length > 0;
}

/** The ticket each of `messageIds` belongs to, sent or received (ids without a ticket left out). */
export async function ticketsOfMessageIds(
  tx: Executor,
  orgId: string,
  messageIds: readonly string[],
): Promise<Map<string, string>> {
  if (messageIds.length === 0) return new Map();
  const ids = [...new Set(messageIds)];
  const sent = await tx
    .select({ messageId: emailDeliveries.messageId, ticketId: emailDeliveries.ticketId })
    .from(emailDeliveries)
    .where(and(eq(emailDeliveries.orgId, orgId), inArray(emailDeliveries.messageId, ids)));
  const received = await tx
    .select({ messageId: emailMessages.messageId, ticketId: emailMessages.ticketId })
    .from(emailMessages)
    .where(and(eq(emailMessages.orgId, orgId), inArray(emailMessages.messageId, ids)));
  const result = new Map<string, string>();
  for (const row of [...sent, ...received]) if (row.ticketId) result.set(row.messageId, row.ticketId);
  return result;
}

/**
 * Live mailboxes at any of `addresses`, across organisations (the SMTP listener accepts
 * RCPT for them); run in a system transaction.
 */
export function mailboxesAt(tx: Executor, addresses: readonly string[]): Promise<MailboxRow[]> {
  if (addresses.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(mailboxes)
    .where(and(inArray(mailboxes.address, [...addresses]), isNull(mailboxes.deletedAt)));
}

/** A live mailbox by id, across organisations (the HTTP door; system transaction). */
export async function mailboxById(tx: Executor, id: string): Promise<MailboxRow | undefined> {
  const [row] = await tx
    .select()
    .from(mailboxes)
    .where(and(eq(mailboxes.id, id), isNull(mailboxes.deletedAt)));
  return row;
}

export async function insertQuarantine(tx: Executor, values: typeof emailQuarantine.$inferInsert) {
  const [row] = await tx.insert(emailQuarantine).values(values).returning();
  return row!;
}

export function listQuarantine(tx: Executor, orgId: string, status: QuarantineRow['status'] | undefined) {
  return tx
    .select()
    .from(emailQuarantine)
    .where(and(eq(emailQuarantine.orgId, orgId), status ? eq(emailQuarantine.status, status) : undefined))
    .orderBy(desc(emailQuarantine.receivedAt), desc(emailQuarantine.id))
    .limit(200);
}

export async function findQuarantine(
  tx: Executor,
  orgId: string,
  id: string,
  options: { lock?: boolean } = {},
) {
  const query = tx
    .select()
    .from(emailQuarantine)
    .where(and(eq(emailQuarantine.orgId, orgId), eq(emailQuarantine.id, id)));
  const [row] = options.lock ? await query.for('update') : await query;
  return row;
}

export async function updateQuarantine(
  tx: Executor,
  id: string,
  values: Partial<typeof emailQuarantine.$inferInsert>,
) {
  await tx.update(emailQuarantine).set(values).where(eq(emailQuarantine.id, id));
}
