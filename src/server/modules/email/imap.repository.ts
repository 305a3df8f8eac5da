import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { mailboxes, mailboxImapSettings, mailboxImapState } from './email.table.js';
import type { MailboxRow } from './mailboxes.repository.js';

export type ImapSettingsRow = typeof mailboxImapSettings.$inferSelect;
export type ImapSettingsInsert = typeof mailboxImapSettings.$inferInsert;
export type ImapStateRow = typeof mailboxImapState.$inferSelect;

export async function findSettings(
  tx: Executor,
  orgId: string,
  mailboxId: string,
): Promise<ImapSettingsRow | undefined> {
  const [row] = await tx
    .select()
    .from(mailboxImapSettings)
    .where(and(eq(mailboxImapSettings.orgId, orgId), eq(mailboxImapSettings.mailboxId, mailboxId)));
  return row;
}

export function settingsOf(tx: Executor, orgId: string, mailboxIds: readonly string[]) {
  if (mailboxIds.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(mailboxImapSettings)
    .where(
      and(eq(mailboxImapSettings.orgId, orgId), inArray(mailboxImapSettings.mailboxId, [...mailboxIds])),
    );
}

/** Inserts or replaces a mailbox's settings; every admin change counts up `version`. */
export async function saveSettings(tx: Executor, values: ImapSettingsInsert): Promise<ImapSettingsRow> {
  const { id: _id, orgId: _orgId, mailboxId: _mailboxId, ...changes } = values;
  const [row] = await tx
    .insert(mailboxImapSettings)
    .values(values)
    .onConflictDoUpdate({
      target: mailboxImapSettings.mailboxId,
      set: { ...changes, version: sql`${mailboxImapSettings.version} + 1`, updatedAt: sql`now()` },
    })
    .returning();
  return row!;
}

/** A refresh token the provider rotated; no new `version`, so the poller keeps running. */
export async function storeRefreshToken(tx: Executor, id: string, sealed: string): Promise<void> {
  await tx
    .update(mailboxImapSettings)
    .set({ refreshTokenSealed: sealed })
    .where(eq(mailboxImapSettings.id, id));
}

/**
 * Every live `imap` mailbox with its settings, across organisations (the pollers' work list;
 * a system transaction).
 */
export function activeImapMailboxes(
  tx: Executor,
): Promise<Array<{ mailbox: MailboxRow; settings: ImapSettingsRow }>> {
  return tx
    .select({ mailbox: mailboxes, settings: mailboxImapSettings })
    .from(mailboxes)
    .innerJoin(mailboxImapSettings, eq(mailboxImapSettings.mailboxId, mailboxes.id))
    .where(and(eq(mailboxes.inboundMethod, 'imap'), isNull(mailboxes.deletedAt)));
}

export async function readState(
  tx: Executor,
  orgId: string,
  mailboxId: string,
  folder: string,
): Promise<ImapStateRow | undefined> {
  const [row] = await tx
    .select()
    .from(mailboxImapState)
    .where(
      and(
        eq(mailboxImapState.orgId, orgId),
        eq(mailboxImapState.mailboxId, mailboxId),
        eq(mailboxImapState.folder, folder),
      ),
    );
  return row;
}

export async function saveState(
  tx: Executor,
  values: { orgId: string; mailboxId: string; folder: string; uidValidity: number; lastUid: number },
): Promise<void> {
  await tx
    .insert(mailboxImapState)
    .values(values)
    .onConflictDoUpdate({
      target: [mailboxImapState.mailboxId, mailboxImapState.folder],
      set: { uidValidity: values.uidValidity, lastUid: values.lastUid, updatedAt: sql`now()` },
    });
}

export function statesOf(tx: Executor, orgId: string, mailboxIds: readonly string[]) {
  if (mailboxIds.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(mailboxImapState)
    .where(and(eq(mailboxImapState.orgId, orgId), inArray(mailboxImapState.mailboxId, [...mailboxIds])));
}
