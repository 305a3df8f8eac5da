import type { Logger } from 'pino';
import { newId } from '../../platform/db/columns.js';
import type { Database, Executor } from '../../platform/db/database.js';
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
import type { MailboxRow } from './mailboxes.repository.js';
import { mailboxForTeam } from './mailboxes.repository.js';
import * as repo from './outbound.repository.js';
import type { ReplyTokens } from './outbound.tokens.js';

/** RFC 5322 suggests trimming long References; keep the root and the latest ones. */
const MAX_REFERENCES = 20;

export interface OutboundContext {
  database: Database;
  logger: Logger;
  mail: MailTransport;
  tokens: ReplyTokens;
  publicUrl: string;
  tickets: Pick<TicketsModule, 'system' | 'tickets'>;
}

type Planned = Pick<repo.DeliveryRow, 'id' | 'status'>;

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
    const isReply =
      envelope.event === TicketMessageCreated.name && payload.data.byAgent === true && !payload.isInternal;
    if (!isAck && !isReply) return [];
    return this.context.database.withOrg(orgId, async (tx) => {
      const ticket = await this.context.tickets.system.find(tx, orgId, ticketId);
      if (!ticket) return [];
      const mailbox = await mailboxForTeam(tx, orgId, ticket.teamId);
      if (!mailbox) return [];
      const requester = (await directory.users(tx, orgId, [ticket.requesterId])).get(ticket.requesterId);
      if (!requester?.isActive) return [];
      let body: string;
      let ticketMessageId: string | null = null;
      if (isAck) {
        body = acknowledgement(ticket, this.context.publicUrl);
      } else {
        ticketMessageId = String(payload.data.messageId ?? '');
        const message = ticketMessageId
          ? await this.context.tickets.system.message(tx, orgId, ticket.id, ticketMessageId)
          : undefined;
        // Internal notes never leave, whatever the event said.
        if (!message || message.isInternal || !message.byAgent) return [];
        body = message.body;
      }
      const row = await this.render(tx, {
        ticket,
        mailbox,
        kind: isAck ? 'ack' : 'reply',
        causeEventId: envelope.id,
        ticketMessageId,
        to: requester.email.toLowerCase(),
        body,
      });
      return row.status === 'queued' ? [{ id: row.id, status: row.status }] : [];
    });
  }

  /**
   * Sends a planned delivery as stored. Records the server's answer; a failure is recorded
   * and rethrown so the jobs port retries it, and marks the delivery failed on the last try.
   */
  async send(orgId: string, deliveryId: string, attempt: { number: number; last: boolean }): Promise<void> {
    const { database, mail } = this.context;
    const delivery = await database.withOrg(orgId, (tx) => repo.findDelivery(tx, orgId, deliveryId));
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
      await database.withOrg(orgId, (tx) =>
        repo.updateDelivery(tx, orgId, deliveryId, {
          status: 'sent',
          attempts: attempt.number,
          smtpResponse: sent.response,
          lastError: null,
          sentAt: new Date(),
        }),
      );
    } catch (error) {
      const smtp = error as { message?: string; response?: string };
      await database.withOrg(orgId, (tx) =>
        repo.updateDelivery(tx, orgId, deliveryId, {
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
   * caller's transaction, threaded and from the same mailbox as the ticket's other mail.
   * Undefined when the organisation has no mailbox or the requester is gone. Planning the same
   * (kind, cause) twice returns the first row; the caller enqueues `email.send` for it while queued.
   */
  async planTicketMail(
    tx: Executor,
    ticket: TicketRow,
    input: { kind: repo.DeliveryRow['kind']; causeEventId: string; body: string; html?: string },
  ): Promise<repo.DeliveryRow | undefined> {
    const mailbox = await mailboxForTeam(tx, ticket.orgId, ticket.teamId);
    if (!mailbox) return undefined;
    const requester = (await directory.users(tx, ticket.orgId, [ticket.requesterId])).get(ticket.requesterId);
    if (!requester?.isActive) return undefined;
    return this.render(tx, {
      ticket,
      mailbox,
      kind: input.kind,
      causeEventId: input.causeEventId,
      ticketMessageId: null,
      to: requester.email.toLowerCase(),
      body: input.body,
      html: input.html ?? null,
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

  private async render(
    tx: Executor,
    input: {
      ticket: TicketRow;
      mailbox: MailboxRow;
      kind: repo.DeliveryRow['kind'];
      causeEventId: string;
      ticketMessageId: string | null;
      to: string;
      body: string;
      html?: string | null;
    },
  ) {
    const { ticket, mailbox } = input;
    const [local, domain] = splitAddress(mailbox.address);
    const thread = await repo.threadMessageIds(tx, ticket.orgId, ticket.id);
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
      subject: `[${ticket.number}] ${ticket.title}`,
      bodyText: input.body,
      bodyHtml: input.html ?? null,
    });
  }
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
}

function acknowledgement(ticket: TicketRow, publicUrl: string): string {
  return [
    'Hello,',
    '',
    `We have received your request and opened ticket ${ticket.number}: "${ticket.title}".`,
    'Reply to this e-mail to add to it; keep the ticket number in the subject.',
    '',
    `Follow it at ${publicUrl}/tickets/${ticket.id}`,
  ].join('\n');
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
