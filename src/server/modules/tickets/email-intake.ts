import { createHash } from 'node:crypto';
import { newId } from '../../platform/db/columns.js';
import type { Executor } from '../../platform/db/database.js';
import { type Actor, ROLE_PERMISSIONS, type Role } from '../identity/index.js';
import { attachmentUrl, safeContentType, safeFileName } from './attachments.service.js';
import { MessagesService } from './messages.service.js';
import { type ChangeOrigin, recordTicketChanges, type TicketsContext } from './tickets.context.js';
import * as repo from './tickets.repository.js';
import { MAX_TEXT, MAX_TITLE } from './tickets.schema.js';
import { NO_MATCHES } from './views.counts.js';

/** A file that came with a mail. */
export interface EmailAttachmentInput {
  fileName: string;
  contentType: string;
  content: Buffer;
  /** Content-ID of an inline part the mail's HTML shows as `cid:` (without angle brackets). */
  contentId?: string | null;
}

/** What a mail shows besides its reply text, kept on the message it becomes. */
export interface EmailMessageView {
  /** The mail's Message-ID: the key of its record in the email module (sender, raw .eml). */
  messageId: string;
  /** The history and signature cut from the reply text. */
  quoted: string;
  /**
   * The mail's sanitized HTML, given the download URL of each stored part by Content-ID (the
   * URLs exist only once the parts are stored); null for plain-text mail.
   */
  html: ((inlineImages: Map<string, string>) => string) | null;
}

// Past these the view keeps nothing (HTML, since cutting it breaks the markup) or the start
// (quoted text); the raw .eml still has everything.
const MAX_HTML = 1_000_000;
const MAX_QUOTED = 200_000;

/** The user a mail came from (found or created by the identity module). */
export interface EmailAuthor {
  id: string;
  role: Role;
}

/**
 * What inbound mail does to tickets, in the caller's transaction: open a ticket, add a
 * reply, add an internal note. Built on the same plans and recording as a person's change,
 * so the timeline, outbox events, SLA hooks and view counts all follow.
 */
export class EmailIntake {
  private readonly messages: MessagesService;

  constructor(private readonly context: TicketsContext) {
    this.messages = new MessagesService(context);
  }

  findByNumber(tx: Executor, orgId: string, number: string) {
    return repo.findTicketByNumber(tx, orgId, number.toUpperCase());
  }

  /** Requester, assignee, follower, or anyone who wrote on the ticket. */
  async isParticipant(tx: Executor, ticket: repo.TicketRow, userId: string): Promise<boolean> {
    if (ticket.requesterId === userId || ticket.assigneeId === userId) return true;
    if (await repo.isFollower(tx, ticket.id, userId)) return true;
    return repo.hasWrittenOn(tx, ticket.id, userId);
  }

  /**
   * Opens a ticket on the channel `email` (the number is taken beforehand, outside this
   * transaction, see TicketsService.nextNumber). A follow-up of a closed ticket is linked to
   * it. Attachments go on a first message of the requester's, since a description has none.
   */
  async createTicket(
    tx: Executor,
    input: {
      orgId: string;
      number: string;
      requester: EmailAuthor;
      teamId: string | null;
      title: string;
      description: string;
      attachments: readonly EmailAttachmentInput[];
      followUpOf?: repo.TicketRow | undefined;
      data: Record<string, unknown>;
      mail?: EmailMessageView | undefined;
    },
  ): Promise<{ ticket: repo.TicketRow; messageId: string | null }> {
    const { orgId } = input;
    const routed =
      input.teamId && this.context.router
        ? await this.context.router.route(tx, {
            orgId,
            teamId: input.teamId,
            categoryId: null,
            priority: 'medium',
          })
        : null;
    const ticket = await repo.insertTicket(tx, {
      orgId,
      number: input.number,
      title: input.title.trim().slice(0, MAX_TITLE) || '(no subject)',
      description: input.description.slice(0, MAX_TEXT),
      priority: 'medium',
      tags: [],
      teamId: input.teamId,
      assigneeId: routed?.assigneeId ?? null,
      requesterId: input.requester.id,
      createdById: input.requester.id,
      channel: 'email',
      customFields: {},
    });
    const origin: ChangeOrigin = { orgId, userId: input.requester.id };
    await recordTicketChanges(this.context, tx, origin, [
      {
        ticket,
        change: { type: 'created', data: { channel: 'email', number: ticket.number, ...input.data } },
      },
      ...(routed
        ? [
            {
              ticket,
              change: {
                type: 'assigned' as const,
                changes: { assigneeId: { from: null, to: routed.assigneeId } },
                data: { automatic: true, mode: routed.mode },
              },
            },
          ]
        : []),
    ]);
    await this.context.viewCounts.settle(tx, orgId, [ticket.id], NO_MATCHES);
    const followUp = input.followUpOf;
    if (followUp && (await repo.insertLink(tx, orgId, ticket.id, followUp.id, null))) {
      await recordTicketChanges(this.context, tx, { orgId, userId: null }, [
        {
          ticket,
          change: {
            type: 'linked',
            isInternal: true,
            data: { ticketId: followUp.id, number: followUp.number, followUp: true },
          },
        },
        {
          ticket: followUp,
          change: {
            type: 'linked',
            isInternal: true,
            data: { ticketId: ticket.id, number: ticket.number, followUp: true },
          },
        },
      ]);
    }
    if (input.attachments.length === 0) return { ticket, messageId: null };
    const added = await this.addMessage(tx, ticket, {
      author: input.requester,
      body: '(attachments of the e-mail)',
      attachments: input.attachments,
      mail: input.mail,
    });
    return { ticket: added.ticket, messageId: added.message.id };
  }

  /**
   * A public reply by the mail's author on a locked ticket (an agent's reply when the author
   * is an agent). The ticket must not be closed.
   */
  async addMessage(
    tx: Executor,
    ticket: repo.TicketRow,
    input: {
      author: EmailAuthor;
      body: string;
      attachments: readonly EmailAttachmentInput[];
      mail?: EmailMessageView | undefined;
      /** More data for the `message.created` event. */
      data?: Record<string, unknown>;
    },
  ) {
    const actor: Actor = {
      userId: input.author.id,
      orgId: ticket.orgId,
      role: input.author.role,
      permissions: ROLE_PERMISSIONS[input.author.role],
    };
    const stored = await this.storeAttachments(tx, ticket.orgId, input.author.id, input.attachments);
    return this.messages.write(
      tx,
      actor,
      ticket,
      {
        body: input.body.slice(0, MAX_TEXT) || '(empty message)',
        mentions: [],
        attachmentIds: stored.map((attachment) => attachment.id),
      },
      false,
      {
        channel: 'email',
        ...(input.mail ? { mail: mailColumns(input.mail, stored) } : {}),
        ...(input.data ? { eventData: input.data } : {}),
      },
    );
  }

  /** An internal note without an author (bounces, auto-replies), on a locked ticket. */
  async addNote(
    tx: Executor,
    ticket: repo.TicketRow,
    input: { body: string; data: Record<string, unknown>; mail?: EmailMessageView | undefined },
  ) {
    const before = await this.context.viewCounts.matching(tx, ticket.orgId, [ticket.id]);
    const message = await repo.insertMessage(tx, {
      orgId: ticket.orgId,
      ticketId: ticket.id,
      authorId: null,
      isInternal: true,
      byAgent: false,
      body: input.body.slice(0, MAX_TEXT),
      channel: 'email',
      mentions: [],
      createdAt: new Date(),
      ...(input.mail ? mailColumns(input.mail, []) : {}),
    });
    await recordTicketChanges(this.context, tx, { orgId: ticket.orgId, userId: null }, [
      {
        ticket,
        change: {
          type: 'note_added',
          isInternal: true,
          data: { messageId: message.id, mentions: [], byAgent: false, ...input.data },
        },
      },
    ]);
    await this.context.viewCounts.settle(tx, ticket.orgId, [ticket.id], before);
    return message;
  }

  /**
   * Stores files and their rows as unattached uploads of `uploaderId`, which the message
   * then claims. A rolled-back transaction leaves the files behind (logged by nobody): the
   * mail is quarantined with its raw bytes, which hold them anyway.
   */
  private async storeAttachments(
    tx: Executor,
    orgId: string,
    uploaderId: string,
    attachments: readonly EmailAttachmentInput[],
  ): Promise<Array<{ id: string; contentId: string | null }>> {
    const stored: Array<{ id: string; contentId: string | null }> = [];
    for (const attachment of attachments) {
      if (attachment.content.length === 0) continue;
      const id = newId();
      const storageKey = `attachments/${orgId}/${id}`;
      const contentType = safeContentType(attachment.contentType);
      await this.context.storage.put(storageKey, attachment.content, { contentType });
      await repo.insertAttachment(tx, {
        id,
        orgId,
        uploaderId,
        fileName: safeFileName(attachment.fileName),
        contentType,
        sizeBytes: attachment.content.length,
        sha256: createHash('sha256').update(attachment.content).digest('hex'),
        storageKey,
      });
      stored.push({ id, contentId: attachment.contentId ?? null });
    }
    return stored;
  }
}

/** The columns of a message that came by mail; inline images point at its stored parts. */
function mailColumns(
  mail: EmailMessageView,
  stored: ReadonlyArray<{ id: string; contentId: string | null }>,
): Pick<repo.MessageRow, 'emailMessageId' | 'quotedText' | 'html'> {
  const inlineImages = new Map(
    stored.flatMap((part) => (part.contentId ? [[part.contentId, attachmentUrl(part.id)] as const] : [])),
  );
  const html = mail.html?.(inlineImages) ?? null;
  return {
    emailMessageId: mail.messageId,
    quotedText: mail.quoted.slice(0, MAX_QUOTED) || null,
    html: html && html.length <= MAX_HTML ? html : null,
  };
}
