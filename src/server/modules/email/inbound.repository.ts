import { and, desc, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { type Condition, type Statement, statement } from '../../platform/db/statements.js';
import { emailMessages, emailQuarantine, mailboxes } from './email.table.js';
import type { MailboxRow } from './mailboxes.repository.js';

/** Every column but the raw mail, which only its download reads (`rawContent`). */
const { rawContent: _rawContent, ...messageColumns } = getTableColumns(emailMessages);

export type EmailMessageRow = Omit<typeof emailMessages.$inferSelect, 'rawContent'>;
export type EmailMessageInsert = typeof emailMessages.$inferInsert;
export type QuarantineRow = typeof emailQuarantine.$inferSelect;

/** The organisation's record of one Message-ID (the unique index). */
const underMessageId = (orgId: string, messageId: string) =>
  and(eq(emailMessages.orgId, orgId), eq(emailMessages.messageId, messageId));

/**
 * Records a received Message-ID for the organisation, with its outcome; false when another
 * delivery holds it: the unique index makes a concurrent second delivery wait for the first
 * and then find it.
 */
export async function claimMessage(tx: Executor, values: EmailMessageInsert): Promise<boolean> {
  const rows = await tx
    .insert(emailMessages)
    .values(values)
    .onConflictDoNothing()
    .returning({ id: emailMessages.id });
  return rows.length > 0;
}

export async function findMessage(
  tx: Executor,
  orgId: string,
  messageId: string,
): Promise<EmailMessageRow | undefined> {
  const [row] = await tx.select(messageColumns).from(emailMessages).where(underMessageId(orgId, messageId));
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
      // A null test reads the row's null bitmap, not the (possibly out-of-line) bytes.
      rawInDatabase: sql<boolean>`${emailMessages.rawContent} is not null`,
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

/** The original of a received mail kept in its row, if it was. */
export async function rawContentOf(
  tx: Executor,
  orgId: string,
  messageId: string,
): Promise<Buffer | undefined> {
  const [row] = await tx
    .select({ rawContent: emailMessages.rawContent })
    .from(emailMessages)
    .where(underMessageId(orgId, messageId));
  return row?.rawContent ?? undefined;
}

/** What the organisation holds under a Message-ID: mail it received (or recorded), or mail it sent. */
export type KnownMessageId =
  | {
      source: 'received';
      messageId: string;
      ticketId: string | null;
      ticketMessageId: string | null;
      decision: string;
      direction: EmailMessageRow['direction'];
    }
  | { source: 'sent'; messageId: string; ticketId: string | null };

/**
 * The statement, for a batch (`Database.withOrgBatch`), that finds every mail of the organisation
 * under any of `messageIds`, received or sent (`KnownMessageId` rows): whether an incoming
 * mail is a duplicate or our own, and which tickets its In-Reply-To and References name, in
 * one round trip before anything is written. Sent mail lives in `email_deliveries` (rendered
 * there once), received mail in `email_messages`. Row-level security applies as in any tenant
 * transaction.
 */
export function knownMessageIdsStatement(orgId: string, messageIds: readonly string[]): Statement {
  return statement((param) => {
    const org = param(orgId);
    const ids = param([...new Set(messageIds)]);
    return `select 'received' as "source", message_id as "messageId", ticket_id as "ticketId",
      ticket_message_id as "ticketMessageId", decision, direction
    from email_messages where org_id = ${org}::uuid and message_id = any(${ids}::text[])
    union all
    select 'sent', message_id, ticket_id, null, null, null
    from email_deliveries where org_id = ${org}::uuid and message_id = any(${ids}::text[])`;
  });
}

/**
 * A condition in SQL that holds when the organisation has a mail under `messageId`, received
 * or sent (as `knownMessageIdsStatement` finds it): a batch that reads ahead of a new ticket
 * takes its number only for a mail not known yet (`TicketsService.numbersStatement`).
 */
export function knownMessageIdCondition(orgId: string, messageId: string): Condition {
  return (param) => {
    const org = param(orgId);
    const id = param(messageId);
    return `exists (select 1 from email_messages where org_id = ${org}::uuid and message_id = ${id}::text)
    or exists (select 1 from email_deliveries where org_id = ${org}::uuid and message_id = ${id}::text)`;
  };
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
