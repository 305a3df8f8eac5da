import { Readable } from 'node:stream';
import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import { canTransition } from './ticket-status.js';
import {
  changingTicket,
  presentContext,
  recordTicketChanges,
  type TicketsContext,
  type TimelineChange,
  viewerOf,
  visibleTicket,
} from './tickets.context.js';
import { isAgent, requirePermission } from './tickets.policy.js';
import { presentMessage } from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { MessageBody } from './tickets.schema.js';
import { assertNoCollision } from './tickets.service.js';

// An e-mail address written as "@alice@example.com", not preceded by a word character.
const MENTION = /(?<![\w.@])@([A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})/g;

/** E-mail addresses mentioned in a text as `@address`. */
export function mentionedEmails(body: string): string[] {
  return [...new Set([...body.matchAll(MENTION)].map((match) => match[1]!.toLowerCase()))];
}

export interface MessageOptions {
  /** Where the message came from (web, email, …); the API's default is `web`. */
  channel?: repo.MessageRow['channel'];
  /** What a message that came by mail keeps besides its body. */
  mail?: Pick<repo.MessageRow, 'emailMessageId' | 'quotedText' | 'html'>;
  /** More data for the message's event (the email module marks replies the requester already has). */
  eventData?: Record<string, unknown>;
}

/** `<CAF+x=1@mail.gmail.com>` → `CAF_x_1@mail.gmail.com.eml`: safe in any header and file system. */
export function rawMailFileName(messageId: string): string {
  const base = messageId
    .replace(/^<|>$/g, '')
    .replace(/[^A-Za-z0-9._@-]+/g, '_')
    .replace(/^[._]+/, '')
    .slice(0, 150);
  return `${base || 'message'}.eml`;
}

/** Public replies and internal notes. */
export class MessagesService {
  constructor(
    private readonly context: TicketsContext,
    /** Lifetime of a pre-signed download URL, when the storage hands them out. */
    private readonly downloadUrlTtlSeconds = 900,
  ) {}

  /**
   * The original .eml of a message that came by mail (agents who may see the ticket): a
   * short-lived URL straight to the storage when it offers one, else a stream of the bytes.
   */
  /**
   * The original .eml of a message that came by mail, or with `messageId` null of the mail
   * that opened the ticket (which has no message of its own unless it brought files).
   */
  async rawMail(
    actor: Actor,
    ticketId: string,
    messageId: string | null,
  ): Promise<{ url: string } | { url: null; fileName: string; stream: Readable }> {
    requirePermission(actor, 'ticket:reply', 'Downloading the original mail');
    const found = await this.context.database.withOrg<
      | { fileName: string; inMailbox: string }
      | { fileName: string; storageKey: string }
      | { fileName: string; bytes: Buffer }
    >(actor.orgId, async (tx) => {
      const viewer = await viewerOf(this.context, tx, actor);
      const ticket = await visibleTicket(tx, viewer, ticketId);
      const mailId =
        messageId === null
          ? await repo.openingMailId(tx, actor.orgId, ticket.id)
          : (await repo.findMessage(tx, actor.orgId, ticket.id, messageId))?.emailMessageId;
      const record = mailId
        ? (await this.context.mail?.receivedMail(tx, actor.orgId, [mailId]))?.get(mailId)
        : undefined;
      if (record?.inMailbox)
        return { inMailbox: record.messageId, fileName: rawMailFileName(record.messageId) };
      if (record?.rawInDatabase) {
        const bytes = await this.context.mail!.readStoredRaw(tx, actor.orgId, record.messageId);
        if (bytes) return { bytes, fileName: rawMailFileName(record.messageId) };
      }
      if (!record?.rawStorageKey) throw notFound('Original mail');
      return { storageKey: record.rawStorageKey, fileName: rawMailFileName(record.messageId) };
    });
    const { fileName } = found;
    if ('inMailbox' in found) {
      // A metadata-only mailbox: read from the mailbox, handed on, never stored.
      const bytes = await this.context.mail!.readFromMailbox(actor.orgId, found.inMailbox);
      return { url: null, fileName, stream: Readable.from([bytes]) };
    }
    if ('bytes' in found) return { url: null, fileName, stream: Readable.from([found.bytes]) };
    const { storageKey } = found;
    const url = await this.context.storage.downloadUrl(storageKey, {
      expiresInSeconds: this.downloadUrlTtlSeconds,
      fileName,
      contentType: 'message/rfc822',
    });
    if (url !== null) return { url };
    return { url, fileName, stream: await this.context.storage.get(storageKey) };
  }

  async add(
    actor: Actor,
    ticketId: string,
    input: z.output<typeof MessageBody>,
    internal: boolean,
    options: MessageOptions = {},
  ) {
    const agent = isAgent(actor);
    if (internal) requirePermission(actor, 'ticket:note', 'Writing an internal note');
    else if (agent) requirePermission(actor, 'ticket:reply', 'Replying');
    return this.context.database.withOrg(
      actor.orgId,
      async (tx) => {
        const viewer = await viewerOf(this.context, tx, actor);
        const ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
        await assertNoCollision(tx, actor, ticket, input);
        const result = await this.write(tx, actor, ticket, input, internal, options);
        const attachments = await repo.attachmentsOfMessages(tx, [result.message.id]);
        const context = await presentContext(this.context, tx, viewer, { messages: [result.message] });
        return presentMessage(result.message, attachments, context);
      },
      changingTicket(this.context, actor.orgId, ticketId),
    );
  }

  /**
   * Writes a message on a locked ticket and applies what a message does to a ticket: the
   * first public agent reply sets first_response_at and opens a new ticket; a requester's
   * reply reopens a resolved ticket and brings a pending one back to open.
   */
  async write(
    tx: Executor,
    actor: Actor,
    ticket: repo.TicketRow,
    input: z.output<typeof MessageBody>,
    internal: boolean,
    options: MessageOptions = {},
  ) {
    const agent = isAgent(actor);
    if (ticket.status === 'closed' && !internal)
      throw new AppError('UNPROCESSABLE', 'The ticket is closed; open a new ticket to follow up', {
        details: { status: ticket.status },
      });
    const mentions = await this.resolveMentions(tx, actor.orgId, input.body, input.mentions, internal);
    // Before the message exists: a view may search message text (q) as well as the fields
    // a reply changes, so every message can move a ticket in or out of a view.
    const before = await this.context.viewCounts.matching(tx, actor.orgId, [ticket.id]);
    const now = new Date();
    const message = await repo.insertMessage(tx, {
      orgId: actor.orgId,
      ticketId: ticket.id,
      authorId: actor.userId,
      isInternal: internal,
      byAgent: agent,
      body: input.body,
      channel: options.channel ?? 'web',
      mentions,
      createdAt: now,
      ...options.mail,
    });
    const attached = await repo.attachToMessage(tx, actor.orgId, actor.userId, input.attachmentIds, {
      ticketId: ticket.id,
      messageId: message.id,
    });
    if (attached !== new Set(input.attachmentIds).size)
      throw new AppError('UNPROCESSABLE', 'Unknown attachments', {
        details: { attachmentIds: 'each must be an unattached upload of yours' },
      });

    const next: Partial<repo.TicketInsert> = {};
    const changes: TimelineChange[] = [
      {
        type: internal ? 'note_added' : 'comment_added',
        isInternal: internal,
        data: { messageId: message.id, mentions, byAgent: agent, ...options.eventData },
      },
    ];
    if (!internal) {
      next.lastActivityAt = now;
      let status = ticket.status;
      if (agent) {
        if (!ticket.firstResponseAt && actor.userId !== ticket.requesterId) next.firstResponseAt = now;
        if (ticket.status === 'new') status = 'open';
      } else if (ticket.status === 'pending_user' || ticket.status === 'resolved') {
        status = 'open';
      }
      if (status !== ticket.status && canTransition(ticket.status, status)) {
        next.status = status;
        next.resolvedAt = null;
        changes.push({
          type: 'status_changed',
          changes: { status: { from: ticket.status, to: status } },
          data: { reason: agent ? 'agent_replied' : 'requester_replied' },
        });
      }
    }
    const updated =
      Object.keys(next).length > 0 ? await repo.updateTicket(tx, actor.orgId, ticket.id, next) : ticket;
    await recordTicketChanges(
      this.context,
      tx,
      actor,
      changes.map((change) => ({ ticket: updated, change })),
    );
    await this.context.viewCounts.settle(tx, actor.orgId, [ticket.id], before);
    return { message, ticket: updated };
  }

  /**
   * Mentioned users: the explicit ids (unknown ones are a 422) and `@email` tokens that
   * name a user (others are just text). Requesters are never notified of internal notes.
   */
  private async resolveMentions(
    tx: Executor,
    orgId: string,
    body: string,
    explicit: readonly string[],
    internal: boolean,
  ): Promise<string[]> {
    const byId = await directory.users(tx, orgId, explicit);
    const unknown = explicit.filter((id) => !byId.get(id)?.isActive);
    if (unknown.length > 0)
      throw new AppError('UNPROCESSABLE', 'Unknown mentioned users', { details: { mentions: unknown } });
    const byEmail = await directory.usersByEmail(tx, orgId, mentionedEmails(body));
    const users = [...byId.values(), ...byEmail].filter((user) => user.isActive);
    if (internal) {
      const requesters = explicit.filter((id) => byId.get(id)?.role === 'requester');
      if (requesters.length > 0)
        throw new AppError('UNPROCESSABLE', 'Requesters cannot be mentioned in internal notes', {
          details: { mentions: requesters },
        });
    }
    return [
      ...new Set(users.filter((user) => !internal || user.role !== 'requester').map((user) => user.id)),
    ];
  }
}
