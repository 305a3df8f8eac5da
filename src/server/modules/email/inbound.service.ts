import { createHash, timingSafeEqual } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { newId } from '../../platform/db/columns.js';
import { type Database, type Executor, rowsStatement } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import type { MalwareScanner } from '../../platform/scan/index.js';
import type { FileStorage } from '../../platform/storage/storage.port.js';
import {
  type Actor,
  directory,
  ensureRequester,
  hasPermission,
  type KnownUser,
  senderStatement,
} from '../identity/index.js';
import type { EmailMessageView, MessageMail, TicketRow, TicketsModule } from '../tickets/index.js';
import { classifyEmail } from './email.classify.js';
import { realSender } from './email.groups.js';
import { messageIdsOf, type ParsedEmail, parseEmail, UnparseableEmail } from './email.parse.js';
import { replyText } from './email.reply.js';
import { sanitizeEmailHtml } from './email.sanitize.js';
import { threadingKeys } from './email.threading.js';
import * as repo from './inbound.repository.js';
import { RejectedMail, screenAttachments } from './inbound.screen.js';
import type { MailboxCache } from './mailboxes.cache.js';
import { listMailboxes, type MailboxRow } from './mailboxes.repository.js';
import { hashInboundSecret } from './mailboxes.service.js';
import type { ReplyTokens } from './outbound.tokens.js';

/** Where a mail came in. */
export interface InboundSource {
  via: 'api' | 'smtp' | 'imap';
  envelopeFrom?: string | undefined;
  envelopeTo?: string[] | undefined;
  /**
   * `sent`: read from the mailbox's sent folder (IMAP), i.e. mail staff sent from their own
   * client. It only ever becomes an agent's reply on a ticket; anything else is ignored.
   */
  folder?: 'inbox' | 'sent' | undefined;
}

/** What ingesting one mail did. */
export interface IngestResult {
  status: 'created' | 'replied' | 'noted' | 'duplicate' | 'ignored' | 'dropped' | 'quarantined';
  ticketId: string | null;
  ticketMessageId: string | null;
  messageId: string | null;
  decision: string;
  quarantineId?: string;
}

export interface InboundContext {
  database: Database;
  storage: FileStorage;
  store: EphemeralStore;
  /** Every file of a mail is scanned before anything of the mail is stored. */
  scanner: MalwareScanner;
  logger: Logger;
  tokens: ReplyTokens;
  tickets: Pick<TicketsModule, 'system' | 'tickets'>;
  maxAttachmentBytes: number;
  /** The organisation's mailboxes, cached: mail from one of our own addresses is ignored. */
  mailboxes: Pick<MailboxCache, 'all'>;
  /** Reads mail that metadata-only mailboxes left in the mailbox (IMAP). */
  mailboxReader?: { read(orgId: string, mailboxId: string, messageId: string): Promise<Buffer> };
  /** Mails per sender and mailbox in `rateWindowMs` before the rest waits in quarantine. */
  rateLimit?: { max: number; windowMs: number };
}

const DEFAULT_RATE = { max: 20, windowMs: 10 * 60_000 };
const METADATA_ONLY_BODY =
  'This mailbox keeps only the metadata of its mail. Open the original mail to read it from the mailbox.';
const MAX_ATTEMPTS = 3;

/**
 * Raw mail up to this size is kept in its `email_messages` row; larger mail (attachments)
 * in file storage. Most mail is a few kilobytes: a file per mail cost more CPU than the rest
 * of its ingest (decision 031).
 */
export const INLINE_RAW_MAX_BYTES = 64 * 1024;

/** The plan was made on a ticket that changed before the writing transaction locked it. */
class StalePlan extends Error {}

/** Another delivery of the same mail committed first; this one's transaction rolls back. */
class DuplicateDelivery extends Error {}

type Target =
  | { kind: 'ticket'; ticketId: string; decision: string; ticket: TicketRow }
  | { kind: 'new'; decision: string; followUpOf?: string };

/**
 * Inbound mail, whatever door it came through: parse, classify, dedupe by Message-ID,
 * thread onto a ticket or open one, through the tickets module. Nothing is lost: a mail
 * that cannot be ingested is kept in quarantine with its raw bytes.
 */
export class InboundMailService {
  constructor(private readonly context: InboundContext) {}

  /** Ingests one raw mail for a mailbox. Never throws for a bad mail; quarantines it. */
  async ingest(mailbox: MailboxRow, raw: Buffer, source: InboundSource): Promise<IngestResult> {
    let parsed: ParsedEmail;
    try {
      parsed = await parseEmail(raw, { maxAttachmentBytes: this.context.maxAttachmentBytes });
    } catch (error) {
      // The HTTP caller still holds the mail and learns it sent something else; SMTP and
      // IMAP mail is ours to keep.
      if (error instanceof UnparseableEmail && source.via === 'api')
        throw new AppError('BAD_REQUEST', 'The body is not an e-mail message (message/rfc822)');
      return this.quarantine(mailbox, raw, source, 'unparseable', error);
    }
    try {
      return await this.process(mailbox, raw, parsed, source, { release: false });
    } catch (error) {
      return this.quarantine(
        mailbox,
        raw,
        source,
        error instanceof RejectedMail ? error.reason : 'error',
        error,
      );
    }
  }

  private async process(
    mailbox: MailboxRow,
    raw: Buffer,
    parsed: ParsedEmail,
    source: InboundSource,
    options: { release: boolean },
  ): Promise<IngestResult> {
    const orgId = mailbox.orgId;
    const classification = classifyEmail(parsed);
    if (classification.kind === 'spam' && !options.release)
      return this.quarantine(mailbox, raw, source, 'spam', classification.reason);
    const sender = mailbox.googleGroup ? realSender(parsed) : (parsed.from ?? { address: '', name: '' });
    const senderAddress = (sender.address || source.envelopeFrom || '').toLowerCase();
    if (!senderAddress) throw new Error('The mail has no sender address (From)');
    // Mail without a Message-ID gets one from its bytes, so the same mail delivered twice is one.
    const messageId =
      parsed.messageId ??
      `<${createHash('sha256').update(raw).digest('hex').slice(0, 40)}@switchboard.invalid>`;
    const keys = threadingKeys(parsed, { replyDomain: domainOf(mailbox.address) });
    const candidates = threadCandidates(parsed, keys, classification.kind);
    const isNormal = classification.kind !== 'auto_reply' && classification.kind !== 'bounce';
    // One round trip answers "seen before?", "which tickets does it refer to?" and "who is
    // the sender?", and takes the number of the ticket a mail that names none will open.
    const database = this.context.database;
    const lookUp = repo.knownMessageIdsStatement(orgId, [
      messageId,
      ...candidates.map((candidate) => candidate.id),
    ]);
    const reads = [
      rowsStatement<repo.KnownMessageId>(lookUp),
      senderStatement(orgId, senderAddress),
    ] as const;
    const surelyNew =
      isNormal &&
      source.folder !== 'sent' &&
      candidates.length === 0 &&
      !keys.replyToken &&
      !keys.subjectTicketNumber;
    let [known, senderUser, numbers] = surelyNew
      ? await database.withOrgBatch(
          orgId,
          [
            ...reads,
            this.context.tickets.tickets.numbersStatement(orgId, 1, {
              unless: repo.knownMessageIdCondition(orgId, messageId),
            }),
          ],
          { asyncCommit: true },
        )
      : [...(await database.withOrgBatch(orgId, reads)), []];
    const first = known.find((row) => row.messageId === messageId);
    if (first?.source === 'received') return duplicateOf(first);
    if (first?.source === 'sent') return ignored(messageId, 'our own outgoing mail');
    const ours = (await this.context.mailboxes.all(database, orgId)).flatMap((row) => [
      row.address,
      row.outboundFromAddress,
    ]);
    if (ours.includes(senderAddress)) return ignored(messageId, `sent from our own mailbox ${senderAddress}`);
    if (!options.release && (await this.overRate(mailbox, senderAddress)))
      return this.quarantine(
        mailbox,
        raw,
        source,
        'rate_limited',
        `more than the limit from ${senderAddress}`,
      );

    // A metadata-only mailbox keeps headers and threading, not the body, files or raw mail:
    // agents read the original from the mailbox (IMAP), where it stays.
    const metadataOnly = mailbox.metadataOnly && source.via === 'imap';
    const html = metadataOnly ? null : parsed.html;
    // Inline (cid:) parts matter only to the HTML view, which shows them from the stored files.
    // Malware keeps the whole mail out (RejectedMail), before anything of it is stored; a
    // release from quarantine scans again.
    const files = await screenAttachments(
      this.context.scanner,
      metadataOnly
        ? []
        : parsed.attachments.filter(
            (attachment) => html !== null || !attachment.inline || !attachment.contentId,
          ),
    );
    // The original goes into its email_messages row when small, written with the rest in
    // one commit, and into file storage otherwise (decision 031).
    const rawContent = !metadataOnly && raw.length <= INLINE_RAW_MAX_BYTES ? raw : null;
    const rawStorageKey = metadataOnly || rawContent ? null : `email/${orgId}/${newId()}.eml`;
    // Put without a content type: every raw mail is message/rfc822, which is what serving it
    // says, and the local driver then writes one file instead of two.
    if (rawStorageKey) await this.context.storage.put(rawStorageKey, raw);
    const parts = metadataOnly ? { reply: METADATA_ONLY_BODY, quoted: '' } : replyText(parsed.text);
    const body = parts.reply.trim() || parsed.text.trim();
    const attachments = files.map((attachment) => ({
      fileName: attachment.name,
      contentType: attachment.contentType,
      content: attachment.content,
      contentId: attachment.inline ? attachment.contentId : null,
    }));
    const mail: EmailMessageView = {
      messageId,
      quoted: parts.quoted,
      // Sanitized once more with the stored parts' URLs: parsing kept only known cid: links.
      html: html === null ? null : (inlineImages) => sanitizeEmailHtml(html, { inlineImages }),
    };
    const system = this.context.tickets.system;
    const lookUpAgain = () => database.withOrgStatement<repo.KnownMessageId>(orgId, lookUp);

    for (let attempt = 1; ; attempt++) {
      // Where the mail goes and whether that needs a new ticket (whose number is taken in a
      // transaction of its own, see TicketsService.nextNumber; a number not used by a plan
      // that turned stale is used by the next). A mail that names no ticket we know, by
      // header, token or subject, is a new ticket without another round trip.
      if (attempt > 1) known = await lookUpAgain();
      const owners = ownersOf(known);
      const target =
        candidates.some((candidate) => owners.has(candidate.id)) ||
        keys.replyToken ||
        keys.subjectTicketNumber
          ? await this.context.database.withOrg(orgId, (tx) =>
              this.thread(tx, orgId, candidates, owners, keys, senderUser),
            )
          : NEW_TICKET;
      const planned = target.kind === 'ticket' ? target.ticket : undefined;
      const needsTicket = isNormal && (!planned || isFinished(planned, mailbox));
      const plan = { needsTicket, followUpOf: planned && needsTicket ? planned : undefined };
      if (plan.needsTicket && numbers.length === 0)
        numbers = [await this.context.tickets.tickets.nextNumber(orgId)];
      try {
        return await this.context.database.withOrg(
          orgId,
          async (tx) => {
            const ticket =
              target.kind === 'ticket'
                ? await system.find(tx, orgId, target.ticketId, { lock: true })
                : undefined;
            // The Message-ID is claimed last, with the outcome, in one insert. A copy of this
            // mail that another delivery is ingesting right now (the lookup above could not see
            // it yet) waits on the unique index, finds the row once that commits, and rolls
            // back what it wrote (DuplicateDelivery): a gap in the ticket numbers, never a
            // second ticket.
            const record = async (result: Omit<IngestResult, 'messageId'>) => {
              const claimed = await repo.claimMessage(tx, {
                orgId,
                messageId,
                direction: 'in',
                mailboxId: mailbox.id,
                fromAddress: senderAddress,
                subject: parsed.subject.slice(0, 1000),
                decision: result.decision,
                kind: classification.kind,
                rawStorageKey,
                rawContent,
                contentInMailbox: metadataOnly,
                ticketId: result.ticketId,
                ticketMessageId: result.ticketMessageId,
              });
              if (!claimed) throw new DuplicateDelivery();
              this.context.logger.info(
                { mailboxId: mailbox.id, messageId, via: source.via, ...result },
                'inbound mail ingested',
              );
              return { ...result, messageId };
            };

            if (!isNormal) {
              if (!ticket)
                return record({
                  status: 'dropped',
                  ticketId: null,
                  ticketMessageId: null,
                  decision: `${classification.kind === 'bounce' ? 'bounce' : 'auto-reply'} matched no ticket: dropped`,
                });
              const note = await system.email.addNote(tx, ticket, {
                body: noteText(
                  classification,
                  metadataOnly ? { ...parsed, text: METADATA_ONLY_BODY } : parsed,
                  senderAddress,
                ),
                mail,
                data: {
                  email: classification.kind,
                  ...(classification.failedRecipient
                    ? { failedRecipient: classification.failedRecipient }
                    : {}),
                },
              });
              return record({
                status: 'noted',
                ticketId: ticket.id,
                ticketMessageId: note.id,
                decision: target.decision,
              });
            }

            if (source.folder === 'sent') {
              if (!ticket || !senderUser || senderUser.role === 'requester')
                return record({
                  status: 'ignored',
                  ticketId: null,
                  ticketMessageId: null,
                  decision: 'ignored: sent mail that is no agent reply to a ticket',
                });
            }
            const author = await ensureRequester(tx, orgId, senderAddress, sender.name, senderUser);
            const finished = !ticket || isFinished(ticket, mailbox);
            if (finished !== plan.needsTicket || (ticket && finished && plan.followUpOf?.id !== ticket.id))
              throw new StalePlan();
            if (ticket && !finished) {
              // Staff who answer from their own mail client (reply-all, e.g. on a Google Group)
              // already reached the requester: the reply is recorded, not mailed a second time.
              const delivered =
                author.role !== 'requester' && (await this.addressedToRequester(tx, ticket, parsed));
              const added = await system.email.addMessage(tx, ticket, {
                author,
                body,
                attachments,
                mail,
                ...(delivered ? { data: { mailedToRequester: true } } : {}),
              });
              return record({
                status: 'replied',
                ticketId: ticket.id,
                ticketMessageId: added.message.id,
                decision: delivered
                  ? `${target.decision}; sent to the requester by the agent`
                  : target.decision,
              });
            }
            const created = await system.email.createTicket(tx, {
              orgId,
              number: numbers[0]!,
              requester: author,
              teamId: mailbox.teamId,
              title: parsed.subject,
              description: body,
              attachments,
              followUpOf: ticket,
              data: { mailboxId: mailbox.id, messageId },
              mail,
            });
            return record({
              status: 'created',
              ticketId: created.ticket.id,
              ticketMessageId: created.messageId,
              decision: ticket
                ? `${target.decision}; ticket ${ticket.status}: new follow-up ticket`
                : target.decision,
            });
          },
          system.changing(orgId, target.kind === 'ticket' ? target.ticketId : undefined),
        );
      } catch (error) {
        if (error instanceof DuplicateDelivery) {
          // The same lookup as before writing now finds the delivery that committed first.
          const first = (await lookUpAgain()).find(
            (row) => row.messageId === messageId && row.source === 'received',
          );
          if (first?.source === 'received') return duplicateOf(first);
          throw error;
        }
        if (!(error instanceof StalePlan) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * The ticket a mail belongs to, checked in this order: In-Reply-To and References against
   * every Message-ID of the organisation (sent or received); a valid reply token; a ticket
   * number in the subject, only when the sender takes part in that ticket; else a new ticket.
   */
  private async thread(
    tx: Executor,
    orgId: string,
    candidates: readonly ThreadCandidate[],
    owners: ReadonlyMap<string, string>,
    keys: ReturnType<typeof threadingKeys>,
    sender: KnownUser | null,
  ): Promise<Target> {
    const system = this.context.tickets.system;
    for (const candidate of candidates) {
      const ticketId = owners.get(candidate.id);
      const ticket = ticketId ? await system.find(tx, orgId, ticketId) : undefined;
      if (ticket)
        return {
          kind: 'ticket',
          ticketId: ticket.id,
          ticket,
          decision: `matched ${candidate.header} ${candidate.id}`,
        };
    }
    if (keys.replyToken) {
      const ticketId = this.context.tokens.verify(orgId, keys.replyToken);
      const ticket = ticketId ? await system.find(tx, orgId, ticketId) : undefined;
      if (ticket) return { kind: 'ticket', ticketId: ticket.id, ticket, decision: 'reply token' };
    }
    if (keys.subjectTicketNumber) {
      const ticket = await system.email.findByNumber(tx, orgId, keys.subjectTicketNumber);
      if (ticket && sender && (await system.email.isParticipant(tx, ticket, sender.id)))
        return {
          kind: 'ticket',
          ticketId: ticket.id,
          ticket,
          decision: `subject number ${ticket.number}, sender is a participant`,
        };
      return {
        kind: 'new',
        decision: `new ticket (subject number ${keys.subjectTicketNumber} ignored: sender is not a participant)`,
      };
    }
    return NEW_TICKET;
  }

  /** Whether the ticket's requester is among the mail's To and Cc. */
  private async addressedToRequester(tx: Executor, ticket: TicketRow, parsed: ParsedEmail): Promise<boolean> {
    const requester = (await directory.users(tx, ticket.orgId, [ticket.requesterId])).get(ticket.requesterId);
    const recipients = [...parsed.to, ...parsed.cc].map((address) => address.address.toLowerCase());
    return requester !== undefined && recipients.includes(requester.email.toLowerCase());
  }

  private async overRate(mailbox: MailboxRow, sender: string): Promise<boolean> {
    const { max, windowMs } = this.context.rateLimit ?? DEFAULT_RATE;
    const count = await this.context.store.increment(`email:inbound:${mailbox.id}:${sender}`, windowMs);
    return count > max;
  }

  /** Keeps a mail that could not be ingested, with its raw bytes. */
  private async quarantine(
    mailbox: MailboxRow,
    raw: Buffer,
    source: InboundSource,
    reason: string,
    error: unknown,
  ): Promise<IngestResult> {
    const message = error instanceof Error ? error.message : String(error);
    const rawStorageKey = `email/${mailbox.orgId}/quarantine/${newId()}.eml`;
    await this.context.storage.put(rawStorageKey, raw);
    const row = await this.context.database.withOrg(mailbox.orgId, (tx) =>
      repo.insertQuarantine(tx, {
        orgId: mailbox.orgId,
        mailboxId: mailbox.id,
        reason,
        error: message.slice(0, 4000),
        rawStorageKey,
        via: source.via,
        envelopeFrom: source.envelopeFrom ?? null,
      }),
    );
    const level =
      reason === 'error' || reason === 'unparseable' || reason === 'scan_failed' ? 'error' : 'warn';
    this.context.logger[level](
      {
        mailboxId: mailbox.id,
        quarantineId: row.id,
        reason,
        err: error instanceof Error ? error : undefined,
      },
      'inbound mail quarantined',
    );
    return {
      status: 'quarantined',
      ticketId: null,
      ticketMessageId: null,
      messageId: null,
      decision: `quarantined: ${reason}`,
      quarantineId: row.id,
    };
  }

  /**
   * What was kept of received mail, by Message-ID, for the ticket view (the tickets module's
   * mail source): one statement for a whole conversation.
   */
  async receivedMail(tx: Executor, orgId: string, messageIds: readonly string[]) {
    const rows = await repo.receivedMessages(tx, orgId, messageIds);
    return new Map<string, MessageMail>(
      rows.map((row) => [
        row.messageId,
        {
          messageId: row.messageId,
          from: row.fromAddress,
          decision: row.decision,
          rawStorageKey: row.rawStorageKey,
          rawInDatabase: row.rawInDatabase,
          inMailbox: row.contentInMailbox,
        },
      ]),
    );
  }

  /** The original of a received mail kept in the database (the tickets module's raw download). */
  readStoredRaw(tx: Executor, orgId: string, messageId: string): Promise<Buffer | undefined> {
    return repo.rawContentOf(tx, orgId, messageId);
  }

  /**
   * The original of a mail a metadata-only mailbox did not keep, read from the mailbox now
   * (the tickets module's raw download); nothing of it is stored.
   */
  async readFromMailbox(orgId: string, messageId: string): Promise<Buffer> {
    const row = await this.context.database.withOrg(orgId, (tx) => repo.findMessage(tx, orgId, messageId));
    if (!row?.contentInMailbox || !row.mailboxId || !this.context.mailboxReader)
      throw notFound('Original mail');
    return this.context.mailboxReader.read(orgId, row.mailboxId, messageId);
  }

  /** Quarantined mail of the admin's organisation, newest first. */
  async listQuarantine(actor: Actor, status?: repo.QuarantineRow['status']) {
    requireSettings(actor);
    const rows = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.listQuarantine(tx, actor.orgId, status),
    );
    return { data: rows.map(presentQuarantine) };
  }

  /**
   * Ingests a held mail again, as released by an admin: spam and rate checks are skipped.
   * Still failing answers 422 with the error, and the mail stays held.
   */
  async retryQuarantine(actor: Actor, id: string) {
    requireSettings(actor);
    const { row, mailbox } = await this.heldMail(actor, id);
    const raw = await readAll(await this.context.storage.get(row.rawStorageKey));
    let result: IngestResult;
    try {
      const parsed = await parseEmail(raw, { maxAttachmentBytes: this.context.maxAttachmentBytes });
      result = await this.process(
        mailbox,
        raw,
        parsed,
        { via: (row.via ?? 'api') as InboundSource['via'] },
        { release: true },
      );
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.context.database.withOrg(actor.orgId, (tx) =>
        repo.updateQuarantine(tx, row.id, { error: message }),
      );
      throw new AppError('UNPROCESSABLE', 'The mail still cannot be ingested', {
        details: { error: message },
      });
    }
    await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.updateQuarantine(tx, row.id, { status: 'retried', resolvedAt: new Date() }),
    );
    return { ...result, quarantineId: row.id };
  }

  async discardQuarantine(actor: Actor, id: string) {
    requireSettings(actor);
    const { row } = await this.heldMail(actor, id);
    const updated = { ...row, status: 'discarded' as const, resolvedAt: new Date() };
    await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.updateQuarantine(tx, row.id, { status: updated.status, resolvedAt: updated.resolvedAt }),
    );
    return presentQuarantine(updated);
  }

  private async heldMail(actor: Actor, id: string) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const row = await repo.findQuarantine(tx, actor.orgId, id);
      if (!row) throw notFound('Quarantined mail');
      if (row.status !== 'held')
        throw new AppError('CONFLICT', `The mail was already ${row.status}`, {
          details: { status: row.status },
        });
      const mailbox = (await listMailboxes(tx, actor.orgId)).find(
        (candidate) => candidate.id === row.mailboxId,
      );
      if (!mailbox) throw new AppError('CONFLICT', 'The mailbox of this mail was deleted');
      return { row, mailbox };
    });
  }
}

function requireSettings(actor: Actor): void {
  if (!hasPermission(actor, 'admin:settings'))
    throw new AppError('FORBIDDEN', 'Managing quarantined mail needs admin:settings');
}

/** A closed ticket, or a resolved one when the mailbox does not reopen: a reply starts anew. */
function isFinished(ticket: TicketRow, mailbox: MailboxRow): boolean {
  return ticket.status === 'closed' || (ticket.status === 'resolved' && !mailbox.reopenResolved);
}

/** A Message-ID that may name the mail's ticket, and the header it came from. */
interface ThreadCandidate {
  id: string;
  header: string;
}

const NEW_TICKET: Target = { kind: 'new', decision: 'new ticket' };

/** In-Reply-To first, then References newest first; a bounce's original mail last. */
function threadCandidates(
  parsed: ParsedEmail,
  keys: ReturnType<typeof threadingKeys>,
  kind: string,
): ThreadCandidate[] {
  // Bounces carry the original's headers in a part of their own.
  const bounced = kind === 'bounce' ? originalMessageIds(parsed) : [];
  return [
    ...(keys.inReplyTo ? [{ id: keys.inReplyTo, header: 'In-Reply-To' }] : []),
    ...[...keys.references].reverse().map((id) => ({ id, header: 'References' })),
    ...bounced.map((id) => ({ id, header: 'the bounced message' })),
  ];
}

/** The ticket of each known Message-ID; a received mail's ticket wins over a sent one's. */
function ownersOf(known: readonly repo.KnownMessageId[]): Map<string, string> {
  const owners = new Map<string, string>();
  for (const source of ['sent', 'received'] as const)
    for (const row of known)
      if (row.source === source && row.ticketId) owners.set(row.messageId, row.ticketId);
  return owners;
}

function duplicateOf(
  first: Pick<repo.EmailMessageRow, 'ticketId' | 'ticketMessageId' | 'messageId' | 'direction' | 'decision'>,
): IngestResult {
  return {
    status: 'duplicate',
    ticketId: first.ticketId,
    ticketMessageId: first.ticketMessageId,
    messageId: first.messageId,
    decision: first.direction === 'out' ? 'our own outgoing mail' : first.decision,
  };
}

function ignored(messageId: string, why: string): IngestResult {
  return { status: 'ignored', ticketId: null, ticketMessageId: null, messageId, decision: `ignored: ${why}` };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

const MESSAGE_ID_HEADER = /^message-id:\s*(.+)$/gim;

/** Message-IDs of the original mail quoted in a bounce (headers part, attached mail or body). */
function originalMessageIds(parsed: ParsedEmail): string[] {
  const texts = [
    parsed.text,
    ...parsed.attachments
      .filter((part) => part.contentType === 'message/rfc822' || part.contentType === 'text/rfc822-headers')
      .map((part) => part.content.toString('utf8')),
  ];
  return texts.flatMap((text) =>
    [...text.matchAll(MESSAGE_ID_HEADER)].flatMap((match) => messageIdsOf(match[1]!)),
  );
}

function noteText(
  classification: ReturnType<typeof classifyEmail>,
  parsed: ParsedEmail,
  sender: string,
): string {
  if (classification.kind === 'bounce')
    return [
      `Mail delivery failed${classification.failedRecipient ? ` to ${classification.failedRecipient}` : ''}.`,
      `Reported by ${sender}: ${parsed.subject || '(no subject)'} (${classification.reason})`,
    ].join('\n');
  return [`Automatic reply from ${sender}: ${parsed.subject || '(no subject)'}`, '', parsed.text.trim()].join(
    '\n',
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

export function presentQuarantine(row: repo.QuarantineRow) {
  return {
    id: row.id,
    mailboxId: row.mailboxId,
    reason: row.reason,
    error: row.error,
    via: row.via,
    envelopeFrom: row.envelopeFrom,
    status: row.status,
    receivedAt: row.receivedAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
  };
}

/**
 * The HTTP door's authentication: the mailbox (any organisation) whose inbound secret this
 * is. An unknown mailbox and a wrong secret look the same (401).
 */
export async function authenticateInbound(
  database: Database,
  mailboxId: string,
  secret: string | undefined,
): Promise<MailboxRow> {
  const mailbox = await database.transaction((tx) => repo.mailboxById(tx, mailboxId));
  const given = Buffer.from(hashInboundSecret(secret ?? ''));
  const expected = Buffer.from(mailbox?.inboundSecretHash ?? '');
  if (!mailbox || !secret || given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new AppError('UNAUTHENTICATED', 'Unknown mailbox or wrong inbound secret');
  return mailbox;
}
