import { and, eq } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { emailTemplates } from './email.table.js';
import type { MailKind, MailTemplate } from './mail-templates.defaults.js';

export type EmailTemplateRow = typeof emailTemplates.$inferSelect;

export function listTemplates(tx: Executor, orgId: string): Promise<EmailTemplateRow[]> {
  return tx.select().from(emailTemplates).where(eq(emailTemplates.orgId, orgId));
}

export async function findTemplate(
  tx: Executor,
  orgId: string,
  kind: MailKind,
): Promise<EmailTemplateRow | undefined> {
  const [row] = await tx
    .select()
    .from(emailTemplates)
    .where(and(eq(emailTemplates.orgId, orgId), eq(emailTemplates.kind, kind)));
  return row;
}

/** Inserts or replaces the organisation's template of a kind. */
export async function upsertTemplate(
  tx: Executor,
  orgId: string,
  kind: MailKind,
  template: MailTemplate,
): Promise<EmailTemplateRow> {
  const [row] = await tx
    .insert(emailTemplates)
    .values({ orgId, kind, ...template })
    .onConflictDoUpdate({
      target: [emailTemplates.orgId, emailTemplates.kind],
      set: { ...template, updatedAt: new Date() },
    })
    .returning();
  return row!;
}

/** Removes the organisation's template of a kind; true when there was one. */
export async function deleteTemplate(tx: Executor, orgId: string, kind: MailKind): Promise<boolean> {
  const rows = await tx
    .delete(emailTemplates)
    .where(and(eq(emailTemplates.orgId, orgId), eq(emailTemplates.kind, kind)))
    .returning({ id: emailTemplates.id });
  return rows.length > 0;
}
