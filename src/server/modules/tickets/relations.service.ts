import type { z } from 'zod';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { recordTicketChanges, type TicketsContext, viewerOf, visibleTicket } from './tickets.context.js';
import { isAgent, requirePermission } from './tickets.policy.js';
import { userRef, userRefs } from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { TimeEntryBody } from './tickets.schema.js';
import type { TicketsService } from './tickets.service.js';
import { NO_MATCHES } from './views.counts.js';

const SPLIT_TITLE_LENGTH = 120;

/** Use cases between tickets and around them: merge, split, links, followers, time. */
export class RelationsService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
  ) {}

  /**
   * Merges `sourceId` into `targetId`: the source's messages, attachments and timeline move
   * to the target, its requester and followers follow the target, and the source is closed
   * pointing at the target. Both rows are locked in id order, so two crossed merges cannot
   * deadlock.
   */
  async merge(actor: Actor, sourceId: string, targetId: string) {
    requirePermission(actor, 'ticket:reply', 'Merging tickets');
    if (sourceId === targetId) throw new AppError('UNPROCESSABLE', 'A ticket cannot be merged into itself');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const [firstId, secondId] = [sourceId, targetId].sort() as [string, string];
      const first = await visibleTicket(tx, viewer, firstId, { lock: true });
      const second = await visibleTicket(tx, viewer, secondId, { lock: true });
      const source = first.id === sourceId ? first : second;
      const target = first.id === targetId ? first : second;
      for (const [role, ticket] of [
        ['source', source],
        ['target', target],
      ] as const) {
        if (ticket.mergedIntoId)
          throw new AppError('UNPROCESSABLE', `The ${role} ticket was already merged into another ticket`);
        if (ticket.status === 'closed')
          throw new AppError('UNPROCESSABLE', `The ${role} ticket is closed`, {
            details: { [role]: ticket.number },
          });
      }
      const before = await this.context.viewCounts.matching(tx, actor.orgId, [source.id, target.id]);
      const moved = await repo.moveConversation(tx, source.id, target.id);
      const followers = [source.requesterId, ...(await repo.followerIds(tx, source.id))].filter(
        (userId) => userId !== target.requesterId,
      );
      await repo.addFollowers(tx, actor.orgId, target.id, [...new Set(followers)]);
      const now = new Date();
      const closedSource = await repo.updateTicket(tx, actor.orgId, source.id, {
        status: 'closed',
        closedAt: now,
        resolvedAt: source.resolvedAt ?? now,
        mergedIntoId: target.id,
        lastActivityAt: now,
      });
      const touchedTarget = await repo.updateTicket(tx, actor.orgId, target.id, { lastActivityAt: now });
      await recordTicketChanges(this.context, tx, actor, [
        {
          ticket: touchedTarget,
          change: {
            type: 'merged',
            data: { sourceId: source.id, sourceNumber: source.number, ...moved },
          },
        },
        {
          ticket: closedSource,
          change: {
            type: 'merged_into',
            changes: { status: { from: source.status, to: 'closed' } },
            data: { targetId: target.id, targetNumber: target.number },
          },
        },
      ]);
      await this.context.viewCounts.settle(tx, actor.orgId, [source.id, target.id], before);
      return this.tickets.detail(tx, viewer, touchedTarget);
    });
  }

  /**
   * Splits a message out into a new ticket (a wrong e-mail match, a second question): the
   * new ticket starts from the message, the message stays where it was, marked with the new
   * ticket, and the two tickets are linked.
   */
  async split(actor: Actor, ticketId: string, messageId: string, title: string | undefined) {
    requirePermission(actor, 'ticket:reply', 'Splitting a ticket');
    const number = await this.tickets.nextNumber(actor.orgId);
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
      const message = await repo.findMessage(tx, actor.orgId, ticket.id, messageId);
      if (!message) throw notFound('Message');
      if (message.isInternal)
        throw new AppError('UNPROCESSABLE', 'Internal notes cannot be split into tickets');
      if (message.splitToTicketId)
        throw new AppError('UNPROCESSABLE', 'The message was already split out', {
          details: { ticketId: message.splitToTicketId },
        });
      const author = message.authorId ? await directory.user(tx, actor.orgId, message.authorId) : undefined;
      const requesterId = !message.byAgent && author?.isActive ? author.id : ticket.requesterId;
      const created = await repo.insertTicket(tx, {
        orgId: actor.orgId,
        number,
        title: title ?? titleFrom(message.body),
        description: message.body,
        priority: ticket.priority,
        categoryId: ticket.categoryId,
        teamId: ticket.teamId,
        requesterId,
        createdById: actor.userId,
        channel: message.channel,
      });
      await repo.markMessageSplit(tx, message.id, created.id);
      await repo.insertLink(tx, actor.orgId, ticket.id, created.id, actor.userId);
      await recordTicketChanges(this.context, tx, actor, [
        {
          ticket: created,
          change: {
            type: 'created',
            data: {
              channel: created.channel,
              number: created.number,
              splitFrom: { ticketId: ticket.id, number: ticket.number, messageId },
            },
          },
        },
        {
          ticket,
          change: {
            type: 'message_split',
            data: { messageId, ticketId: created.id, number: created.number },
          },
        },
      ]);
      await this.context.viewCounts.settle(tx, actor.orgId, [created.id], NO_MATCHES);
      return this.tickets.detail(tx, viewer, created);
    });
  }

  async link(actor: Actor, ticketId: string, relatedId: string) {
    requirePermission(actor, 'ticket:reply', 'Linking tickets');
    if (ticketId === relatedId) throw new AppError('UNPROCESSABLE', 'A ticket cannot be linked to itself');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      const related = await visibleTicket(tx, viewer, relatedId);
      if (await repo.insertLink(tx, actor.orgId, ticket.id, related.id, actor.userId)) {
        await recordTicketChanges(this.context, tx, actor, [
          {
            ticket,
            change: {
              type: 'linked',
              isInternal: true,
              data: { ticketId: related.id, number: related.number },
            },
          },
          {
            ticket: related,
            change: {
              type: 'linked',
              isInternal: true,
              data: { ticketId: ticket.id, number: ticket.number },
            },
          },
        ]);
      }
      return repo.linkedTickets(tx, ticket.id);
    });
  }

  async unlink(actor: Actor, ticketId: string, relatedId: string) {
    requirePermission(actor, 'ticket:reply', 'Unlinking tickets');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      if (!(await repo.deleteLink(tx, ticket.id, relatedId))) throw notFound('Link');
      const related = await repo.findTicket(tx, actor.orgId, relatedId);
      await recordTicketChanges(this.context, tx, actor, [
        { ticket, change: { type: 'unlinked', isInternal: true, data: { ticketId: relatedId } } },
        ...(related
          ? [
              {
                ticket: related,
                change: { type: 'unlinked' as const, isInternal: true, data: { ticketId: ticket.id } },
              },
            ]
          : []),
      ]);
      return repo.linkedTickets(tx, ticket.id);
    });
  }

  /** Followers (CC) see the ticket and its public conversation; agents manage them. */
  async followers(actor: Actor, ticketId: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      return this.followerList(tx, actor.orgId, ticket.id);
    });
  }

  async follow(actor: Actor, ticketId: string, userId: string) {
    requirePermission(actor, 'ticket:reply', 'Adding followers');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      const user = await directory.user(tx, actor.orgId, userId);
      if (!user?.isActive)
        throw new AppError('UNPROCESSABLE', 'Unknown follower', {
          details: { userId: 'no active user with this id' },
        });
      if (userId === ticket.requesterId)
        throw new AppError('UNPROCESSABLE', 'The requester follows their ticket already');
      if ((await repo.addFollowers(tx, actor.orgId, ticket.id, [userId])).length > 0) {
        await recordTicketChanges(this.context, tx, actor, [
          { ticket, change: { type: 'follower_added', data: { userId, name: user.name } } },
        ]);
      }
      return this.followerList(tx, actor.orgId, ticket.id);
    });
  }

  /** Removes a follower: agents may remove anyone, a follower may remove themselves. */
  async unfollow(actor: Actor, ticketId: string, userId: string) {
    if (userId !== actor.userId) requirePermission(actor, 'ticket:reply', 'Removing followers');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      if (!(await repo.removeFollower(tx, ticket.id, userId))) throw notFound('Follower');
      await recordTicketChanges(this.context, tx, actor, [
        { ticket, change: { type: 'follower_removed', data: { userId } } },
      ]);
      return this.followerList(tx, actor.orgId, ticket.id);
    });
  }

  async logTime(actor: Actor, ticketId: string, input: z.output<typeof TimeEntryBody>) {
    requirePermission(actor, 'ticket:reply', 'Logging time');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      const entry = await repo.insertTimeEntry(tx, {
        orgId: actor.orgId,
        ticketId: ticket.id,
        userId: actor.userId,
        minutes: input.minutes,
        note: input.note,
      });
      await recordTicketChanges(this.context, tx, actor, [
        {
          ticket,
          change: {
            type: 'time_logged',
            isInternal: true,
            data: { entryId: entry.id, minutes: entry.minutes },
          },
        },
      ]);
      return this.timeSheet(tx, actor, ticket.id);
    });
  }

  async time(actor: Actor, ticketId: string) {
    if (!isAgent(actor)) throw new AppError('FORBIDDEN', 'Time tracking is for agents');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      return this.timeSheet(tx, actor, ticket.id);
    });
  }

  private async timeSheet(tx: Parameters<typeof repo.listTimeEntries>[0], actor: Actor, ticketId: string) {
    const entries = await repo.listTimeEntries(tx, ticketId);
    const users = await directory.users(
      tx,
      actor.orgId,
      entries.map((entry) => entry.userId),
    );
    const perUser = new Map<string, number>();
    for (const entry of entries) perUser.set(entry.userId, (perUser.get(entry.userId) ?? 0) + entry.minutes);
    return {
      data: entries.map((entry) => ({
        id: entry.id,
        user: userRef(users, entry.userId),
        minutes: entry.minutes,
        note: entry.note,
        createdAt: entry.createdAt.toISOString(),
      })),
      totalMinutes: entries.reduce((sum, entry) => sum + entry.minutes, 0),
      byUser: [...perUser].map(([userId, minutes]) => ({ user: userRef(users, userId), minutes })),
    };
  }

  private async followerList(tx: Parameters<typeof repo.followerIds>[0], orgId: string, ticketId: string) {
    const ids = await repo.followerIds(tx, ticketId);
    return userRefs(await directory.users(tx, orgId, ids), ids);
  }
}

/** A title from the first line of a message. */
export function titleFrom(body: string): string {
  const line =
    body
      .split('\n')
      .find((candidate) => candidate.trim().length > 0)
      ?.trim() ?? 'Split ticket';
  return line.length > SPLIT_TITLE_LENGTH ? `${line.slice(0, SPLIT_TITLE_LENGTH - 1)}…` : line;
}
