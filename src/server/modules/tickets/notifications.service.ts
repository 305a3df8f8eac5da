import { notFound } from '../../platform/http/app-error.js';
import type { Actor } from '../identity/index.js';
import * as repo from './notifications.repository.js';
import type { TicketsContext } from './tickets.context.js';

/** A user's in-app notifications (mentions today). */
export class NotificationsService {
  constructor(private readonly context: TicketsContext) {}

  async list(actor: Actor, query: { unread: boolean; before?: string | undefined; limit: number }) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const rows = await repo.listNotifications(tx, actor.orgId, actor.userId, {
        unreadOnly: query.unread,
        before: query.before,
        limit: query.limit + 1,
      });
      const page = rows.slice(0, query.limit);
      return {
        data: page.map((row) => ({
          id: row.id,
          kind: row.kind,
          ticketId: row.ticketId,
          messageId: row.messageId,
          actorId: row.actorId,
          data: row.data,
          readAt: row.readAt?.toISOString() ?? null,
          createdAt: row.createdAt.toISOString(),
        })),
        meta: {
          limit: query.limit,
          unread: await repo.countUnread(tx, actor.orgId, actor.userId),
          nextCursor: rows.length > query.limit ? (page.at(-1)?.id ?? null) : null,
        },
      };
    });
  }

  async markRead(actor: Actor, id: string | 'all'): Promise<{ marked: number }> {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const marked = await repo.markRead(tx, actor.orgId, actor.userId, id);
      if (id !== 'all' && marked === 0) {
        if (!(await repo.findNotification(tx, actor.orgId, actor.userId, id))) throw notFound('Notification');
      }
      return { marked };
    });
  }
}
