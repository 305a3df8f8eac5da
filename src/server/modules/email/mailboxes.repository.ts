import { and, asc, eq, isNull, ne, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { mailboxes } from './email.table.js';

export type MailboxRow = typeof mailboxes.$inferSelect;
export type MailboxInsert = typeof mailboxes.$inferInsert;

const live = (orgId: string) => and(eq(mailboxes.orgId, orgId), isNull(mailboxes.deletedAt));

export function listMailboxes(tx: Executor, orgId: string) {
  return tx.select().from(mailboxes).where(live(orgId)).orderBy(asc(mailboxes.address));
}

export async function findMailbox(tx: Executor, orgId: string, id: string): Promise<MailboxRow | undefined> {
  const [row] = await tx
    .select()
    .from(mailboxes)
    .where(and(live(orgId), eq(mailboxes.id, id)));
  return row;
}

/** A live mailbox other than `exceptId` with this (lower-case) address. */
export async function findByAddress(tx: Executor, orgId: string, address: string, exceptId?: string) {
  const [row] = await tx
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(
      and(live(orgId), eq(mailboxes.address, address), exceptId ? ne(mailboxes.id, exceptId) : undefined),
    );
  return row;
}

export async function hasDefault(tx: Executor, orgId: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: mailboxes.id })
    .from(mailboxes)
    .where(and(live(orgId), eq(mailboxes.isDefault, true)));
  return row !== undefined;
}

/** Clears the default flag so another mailbox can take it (one default per organisation). */
export async function clearDefault(tx: Executor, orgId: string): Promise<void> {
  await tx
    .update(mailboxes)
    .set({ isDefault: false })
    .where(and(live(orgId), eq(mailboxes.isDefault, true)));
}

export async function insertMailbox(tx: Executor, values: MailboxInsert): Promise<MailboxRow> {
  const [row] = await tx.insert(mailboxes).values(values).returning();
  return row!;
}

export async function updateMailbox(
  tx: Executor,
  orgId: string,
  id: string,
  values: Partial<MailboxInsert>,
): Promise<MailboxRow> {
  const [row] = await tx
    .update(mailboxes)
    .set(values)
    .where(and(eq(mailboxes.orgId, orgId), eq(mailboxes.id, id)))
    .returning();
  return row!;
}

export async function softDeleteMailbox(tx: Executor, orgId: string, id: string): Promise<void> {
  await tx
    .update(mailboxes)
    .set({ deletedAt: sql`now()`, isDefault: false })
    .where(and(eq(mailboxes.orgId, orgId), eq(mailboxes.id, id)));
}
