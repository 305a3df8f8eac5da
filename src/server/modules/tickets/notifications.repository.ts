import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../platform/db/database.js';
import { notifications } from './tickets.table.js';

export type NotificationRow = typeof notifications.$inferSelect;

/** Inserts notifications; one per user, kind and message, so a replayed event adds none. */
export async function insertNotifications(
  tx: Executor,
  rows: ReadonlyArray<typeof notifications.$inferInsert>,
) {
  if (rows.length === 0) return 0;
  const inserted = await tx
    .insert(notifications)
    .values([...rows])
    .onConflictDoNothing()
    .returning({ id: notifications.id });
  return inserted.length;
}

export async function listNotifications(
  tx: Executor,
  orgId: string,
  userId: string,
  options: { unreadOnly: boolean; before?: string | undefined; limit: number },
) {
  return tx
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.orgId, orgId),
        eq(notifications.userId, userId),
        options.unreadOnly ? isNull(notifications.readAt) : undefined,
        options.before ? lt(notifications.id, options.before) : undefined,
      ),
    )
    .orderBy(desc(notifications.id))
    .limit(options.limit);
}

export async function countUnread(tx: Executor, orgId: string, userId: string): Promise<number> {
  const [row] = await tx
    .select({ count: sql<number>`count(*)::int` })
    .from(notifications)
    .where(
      and(eq(notifications.orgId, orgId), eq(notifications.userId, userId), isNull(notifications.readAt)),
    );
  return row?.count ?? 0;
}

export async function markRead(tx: Executor, orgId: string, userId: string, id: string | 'all') {
  const rows = await tx
    .update(notifications)
    .set({ readAt: new Date() })
    .where(
      and(
        eq(notifications.orgId, orgId),
        eq(notifications.userId, userId),
        isNull(notifications.readAt),
        id === 'all' ? undefined : eq(notifications.id, id),
      ),
    )
    .returning({ id: notifications.id });
  return rows.length;
}

export async function findNotification(tx: Executor, orgId: string, userId: string, id: string) {
  const [row] = await tx
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.orgId, orgId), eq(notifications.userId, userId), eq(notifications.id, id)));
  return row;
}
