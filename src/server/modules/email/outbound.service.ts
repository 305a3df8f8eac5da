import type { Logger } from 'pino';
import { newId } from '../../platform/db/columns.js';
import { aheadOf, type Database, type Executor } from '../../platform/db/database.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { MailTransport } from '../../platform/mail/mail.port.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import {
  TicketCreated,
  type TicketEventPayload,
  TicketMessageCreated,
  type TicketRow,
  type TicketsModule,
} from '../tickets/index.js';
import type { MailKind } from './mail-templates.defaults.js';
import type { MailTemplatesService, RenderedMail } from './mail-templates.service.js';
import type { MailboxCache } from './mailboxes.cache.js';
import type { MailboxRow } from './mailboxes.repository.js';
import { actorValues, agentMailKind, agentNotification, recipientValues } from './outbound.notifications.js';
import * as repo from './outbound.repository.js';
import type { ReplyTokens } from './outbound.tokens.js';

/** RFC 5322 suggests trimming long References; keep the root and the latest ones. */
const MAX_REFERENCES = 20;
/** The kinds of mail a requester receives: with the mail received, a ticket's conversation. */
const CONVERSATION_KINDS: readonly MailKind[] = ['ack', 'reply', 'csat'];

export interface OutboundContext {
  database: Database;
  logger: Logger;
  mail: MailTransport;
  tokens: ReplyTokens;
  tickets: Pick<TicketsModule, 'system' | 'tickets'>;
  templates: MailTemplatesService;
  /** The mailbox each ticket's mail leaves from, cached per organisation. */
  mailboxes: Pick<MailboxCache, 'forTeam' | 'hasAny'>;
}

type Planned = Pick<repo.DeliveryRow, 'id' | 'status'>;

/** What planning an event's mail starts from: the ticket, its mailbox and its conversation's Message-IDs. */
interface Planning {
  ticket: TicketRow;
  mailbox: MailboxRow;
  thread: string[];
}

/**
 * Outbound mail: plans deliveries from ticket events (rendered once, threaded, stored) and
 * sends them through the mail port. Planning and sending are separate jobs, so a refused
 * send retries without planning again and a replayed event plans nothing new.
 */
export class OutboundMailService {
  constructor(private readonly context: OutboundContext) {}

  /**
   * The deliveries an event causes (none for most). Returns the ones still queued, which the
   * caller enqueues for sending: planning twice returns the same rows, so a crash between
   * commit and enqueue is recovered by the retry.
   */
  async plan(envelope: EventEnvelope, payload: TicketEventPayload): Promise<Planned[]> {
    const orgId = envelope.orgId;
    const ticketId = envelope.aggregateId;
    if (!orgId || !ticketId) return [];
    const isAck = envelope.event === TicketCreated.name;
    // An agent's reply the agent mailed to the requester themselves (inbound.service) is not sent again.
    const isReply =
      envelope.event === TicketMessageCreated.name &&
      payload.data.byAgent === true &&
      payload.data.mailedToRequester !== true &&
      !payload.isInternal;
    const notifies = agentMailKind(envelope, payload) !== undefined;
    if (!isAck && !isReply && !notifies) return [];
    if (!(await this.context.mailboxes.hasAny(this.context.database, orgId))) return [];
    // The ticket and its thread are read in the round trip of the transaction's BEGIN.
    let ticket: TicketRow | undefined;
    let thread: string[] = [];
    const ahead = [
      aheadOf(this.context.tickets.system.findStatement(orgId, ticketId), (row) => {
        ticket = row;
      }),
      aheadOf(repo.threadStatement(orgId, ticketId, CONVERSATION_KINDS), (ids) => {
        thread = ids;
      }),
    ];
    return this.context.database.withOrg(
      orgId,
      async (tx) => {
        if (!ticket) return [];
        const mailbox = await this.context.mailboxes.forTeam(tx, orgId, ticket.teamId);
        if (!mailbox) return [];
        const planned = { ticket, mailbox, thread };
        const rows: repo.DeliveryRow[] = [];
        if (isAck || isReply) {
          const row = await this.planForRequester(tx, envelope, payload, planned);
          if (row) rows.push(row);
          // Agents' mail threads behind the requester's, as it would read the thread again.
          if (row && row.status !== 'failed') planned.thread = [...thread, row.messageId];
        }
        if (notifies) rows.push(...(await this.planForAgents(tx, envelope, payload, planned)));
        return rows
          .filter((row) => row.status === 'queued')
          .map((row) => ({ id: row.id, status: row.status }));
      },
      { ahead },
    );
  }

  /** The acknowledgement of a new ticket, or an agent's public reply, to the requester. */
  private async planForRequester(
    tx: Executor,
    envelope: EventEnvelope,
    payload: TicketEventPayload,
    { ticket, mailbox, thread }: Planning,
  ) {
    const orgId = ticket.orgId;
    const requester = (await directory.users(tx, orgId, [ticket.requesterId])).get(ticket.requesterId);
    if (!requester?.isActive) return undefined;
    const values = this.context.templates.ticketValues(ticket, requester);
    let ticketMessageId: string | null = null;
    const kind = envelope.event === TicketCreated.name ? 'ack' : 'reply';
    if (kind === 'reply') {
      ticketMessageId = String(payload.data.messageId ?? '');
      const message = ticketMessageId
        ? await this.context.tickets.system.message(tx, orgId, ticket.id, ticketMessageId)
        : undefined;
      // Internal notes never leave, whatever the event said.
      if (!message || message.isInternal || !message.byAgent) return undefined;
      Object.assign(values, await actorValues(tx, orgId, message.authorId), { 'message.body': message.body });
    }
    return this.store(tx, {
      ticket,
      mailbox,
      thread,
      kind,
      causeEventId: envelope.id,
      ticketMessageId,
      to: requester.email.toLowerCase(),
      mail: await this.context.templates.render(tx, orgId, kind, values),
    });
  }

  /** Assignment, mention and escalation mail, one per agent (never to requesters). */
  private async planForAgents(
    tx: Executor,
    envelope: EventEnvelope,
    payload: TicketEventPayload,
    { ticket, mailbox, thread }: Planning,
  ): Promise<repo.DeliveryRow[]> {
    const notification = await agentNotification(tx, this.context.tickets, envelope, payload, ticket);
    if (!notification) return [];
    const requester = (await directory.users(tx, ticket.orgId, [ticket.requesterId])).get(ticket.requesterId);
    const base = {
      ...this.context.templates.ticketValues(ticket, requester ?? { name: '', email: '' }),
      ...notification.values,
    };
    const rows: repo.DeliveryRow[] = [];
    for (const recipient of notification.recipients) {
      const values = { ...base, ...recipientValues(recipient) };
      rows.push(
        await this.store(tx, {
          ticket,
          mailbox,
          thread,
          kind: notification.kind,
          causeEventId: envelope.id,
          ticketMessageId: notification.ticketMessageId,
          to: recipient.email.toLowerCase(),
          mail: await this.context.templates.render(tx, ticket.orgId, notification.kind, values),
        }),
      );
    }
    return rows;
  }

  /**
   * Sends a planned delivery as stored. Records the server's answer; a failure is recorded
   * and rethrown so the jobs port retries it, and marks the delivery failed on the last try.
   */
  async send(orgId: string, deliveryId: string, attempt: { number: number; last: boolean }): Promise<void> {
    const { database, mail } = this.context;
    const [delivery] = await database.withOrgStatement<repo.DeliveryToSend>(
      orgId,
      repo.deliveryToSendStatement(orgId, deliveryId),
    );
    if (!delivery || delivery.status === 'sent') return;
    try {
      const sent = await mail.send({
        from: { address: delivery.fromAddress, ...(delivery.fromName ? { name: delivery.fromName } : {}) },
        to: [{ address: delivery.to }],
        ...(delivery.replyTo ? { replyTo: { address: delivery.replyTo } } : {}),
        subject: delivery.subject,
        text: delivery.bodyText,
        ...(delivery.bodyHtml ? { html: delivery.bodyHtml } : {}),
        headers: {
          'Message-ID': delivery.messageId,
          ...(delivery.inReplyTo ? { 'In-Reply-To': delivery.inReplyTo } : {}),
          ...(delivery.references ? { References: delivery.references } : {}),
          'Auto-Submitted': 'auto-generated',
        },
      });
      await database.withOrgStatement(
        orgId,
        repo.deliveryOutcomeStatement(orgId, deliveryId, {
          status: 'sent',
          attempts: attempt.number,
          smtpResponse: sent.response,
          lastError: null,
          sentAt: new Date(),
        }),
      );
    } catch (error) {
      const smtp = error as { message?: string; response?: string };
      await database.withOrgStatement(
        orgId,
        repo.deliveryOutcomeStatement(orgId, deliveryId, {
          attempts: attempt.number,
          lastError: smtp.message ?? String(error),
          smtpResponse: smtp.response ?? null,
          ...(attempt.last ? { status: 'failed' as const } : {}),
        }),
      );
      throw error;
    }
  }

  /**
   * Plans a mail to a ticket's requester for another module (satisfaction surveys), in the
   * caller's transaction, threaded and from the same mailbox as the ticket's other mail,
   * rendered with the organisation's template of `kind` (`values` adds to `ticket.*`, `requester.*`).
   * Undefined when the organisation has no mailbox or the requester is gone. Planning the same
   * (kind, cause) twice returns the first row; the caller enqueues `email.send` for it while queued.
   */
  async planTicketMail(
    tx: Executor,
    ticket: TicketRow,
    input: { kind: MailKind; causeEventId: string; values: Record<string, string> },
  ): Promise<repo.DeliveryRow | undefined> {
    const mailbox = await this.context.mailboxes.forTeam(tx, ticket.orgId, ticket.teamId);
    if (!mailbox) return undefined;
    const requester = (await directory.users(tx, ticket.orgId, [ticket.requesterId])).get(ticket.requesterId);
    if (!requester?.isActive) return undefined;
    const values = { ...this.context.templates.ticketValues(ticket, requester), ...input.values };
    return this.store(tx, {
      ticket,
      mailbox,
      kind: input.kind,
      causeEventId: input.causeEventId,
      ticketMessageId: null,
      to: requester.email.toLowerCase(),
      mail: await this.context.templates.render(tx, ticket.orgId, input.kind, values),
    });
  }

  /** The delivery log of a ticket the caller (an agent) may see. */
  async listForTicket(actor: Actor, ticketId: string) {
    if (!hasPermission(actor, 'ticket:reply'))
      throw new AppError('FORBIDDEN', 'The delivery log is for agents (ticket:reply)');
    // Answers 404 for tickets the caller may not see, like every ticket route.
    const [visible] = await this.context.tickets.tickets.summaries(actor, [ticketId]);
    if (!visible) throw notFound('Ticket');
    const rows = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.listDeliveries(tx, actor.orgId, ticketId),
    );
    return { data: rows.map(presentDelivery) };
  }

  /**
   * Stores a rendered mail, threaded on the ticket's conversation: the mail a requester gets
   * and the mail received. Agent notifications are left out of it, so no mail names another
   * recipient's notification in In-Reply-To or References.
   */
  private async store(
    tx: Executor,
    input: {
      ticket: TicketRow;
      mailbox: MailboxRow;
      /** The conversation's Message-IDs when already read (`threadStatement`); read here otherwise. */
      thread?: string[];
      kind: MailKind;
      causeEventId: string;
      ticketMessageId: string | null;
      to: string;
      mail: RenderedMail;
    },
  ) {
    const { ticket, mailbox, mail } = input;
    const [local, domain] = splitAddress(mailbox.address);
    const thread =
      input.thread ?? (await repo.threadMessageIds(tx, ticket.orgId, ticket.id, CONVERSATION_KINDS));
    const references =
      thread.length > MAX_REFERENCES ? [thread[0]!, ...thread.slice(-(MAX_REFERENCES - 1))] : thread;
    return repo.insertDelivery(tx, {
      orgId: ticket.orgId,
      ticketId: ticket.id,
      mailboxId: mailbox.id,
      kind: input.kind,
      causeEventId: input.causeEventId,
      ticketMessageId: input.ticketMessageId,
      messageId: `<${newId()}@${domain}>`,
      inReplyTo: thread.at(-1) ?? null,
      references: references.length > 0 ? references.join(' ') : null,
      fromName: mailbox.outboundFromName ?? mailbox.name,
      fromAddress: mailbox.outboundFromAddress ?? mailbox.address,
      replyTo: `${local}+t-${this.context.tokens.issue(ticket.orgId, ticket.id)}@${domain}`,
      to: input.to,
      subject: mail.subject,
      bodyText: mail.text,
      bodyHtml: mail.html,
    });
  }
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
}

export function presentDelivery(row: repo.DeliveryRow) {
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    to: row.to,
    subject: row.subject,
    messageId: row.messageId,
    inReplyTo: row.inReplyTo,
    attempts: row.attempts,
    lastError: row.lastError,
    smtpResponse: row.smtpResponse,
    queuedAt: row.queuedAt.toISOString(),
    sentAt: row.sentAt?.toISOString() ?? null,
  };
}
