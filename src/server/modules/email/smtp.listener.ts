import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';
import type { Database } from '../../platform/db/database.js';
import type { InboundMailService } from './inbound.service.js';
import type { MailboxCache } from './mailboxes.cache.js';
import type { MailboxRow } from './mailboxes.repository.js';

/** An SMTP reply with a code, as smtp-server expects a refusal. */
function refusal(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** `support+t-token@acme.test` → `support@acme.test`: tags carry reply tokens, not mailboxes. */
function mailboxAddressOf(address: string): string {
  const lower = address.trim().toLowerCase();
  const at = lower.lastIndexOf('@');
  if (at < 0) return lower;
  return `${lower.slice(0, at).split('+')[0]}${lower.slice(at)}`;
}

/**
 * The built-in inbound SMTP server (API role): no authentication, RCPT accepted only for the
 * address of a live mailbox (any organisation), else 550. After DATA each recipient mailbox
 * ingests the message on its own; one that fails quarantines the mail, and the answer is still
 * 250 because the mail is stored. Only when even the quarantine cannot be written (the
 * database is down) the answer is 451, so the sender retries.
 */
export class SmtpListener {
  private readonly recipients = new Map<string, MailboxRow[]>();
  private readonly server: SMTPServer;

  constructor(
    private readonly options: {
      host: string;
      port: number;
      maxBytes: number;
      database: Database;
      inbound: InboundMailService;
      /** Recipient checks read mailboxes by address through it. */
      mailboxes: Pick<MailboxCache, 'at'>;
      logger: Logger;
    },
  ) {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      size: options.maxBytes,
      logger: false,
      banner: 'Switchboard inbound mail',
      onRcptTo: (address, session, callback) => {
        this.accept(address, session).then(
          () => callback(),
          (error: Error) => callback(error),
        );
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          if ((stream as { sizeExceeded?: boolean }).sizeExceeded)
            return callback(refusal(552, '5.3.4 Message too big'));
          this.deliver(Buffer.concat(chunks), session).then(
            () => callback(),
            (error: Error) => callback(error),
          );
        });
      },
      onClose: (session) => {
        this.recipients.delete(session.id);
      },
    });
    this.server.on('error', (error) => options.logger.error({ err: error }, 'SMTP listener error'));
  }

  private async accept(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    const wanted = mailboxAddressOf(address.address);
    const found = await this.options.mailboxes.at(this.options.database, wanted);
    if (found.length === 0) throw refusal(550, '5.1.1 No such mailbox here');
    const list = this.recipients.get(session.id) ?? [];
    for (const mailbox of found) if (!list.some((known) => known.id === mailbox.id)) list.push(mailbox);
    this.recipients.set(session.id, list);
  }

  private async deliver(raw: Buffer, session: SMTPServerSession): Promise<void> {
    const mailboxes = this.recipients.get(session.id) ?? [];
    // RSET/next transaction starts with no recipients.
    this.recipients.delete(session.id);
    const envelopeFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
    const envelopeTo = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
    let failed: unknown;
    for (const mailbox of mailboxes) {
      try {
        // Quarantines what it cannot ingest; throws only when even that failed.
        await this.options.inbound.ingest(mailbox, raw, { via: 'smtp', envelopeFrom, envelopeTo });
      } catch (error) {
        failed = error;
        this.options.logger.error({ err: error, mailboxId: mailbox.id }, 'inbound SMTP mail not stored');
      }
    }
    if (failed) throw refusal(451, '4.3.0 Temporary failure, try again later');
  }

  /** Listens; resolves with the bound port. */
  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.server.address() as AddressInfo).port;
    this.options.logger.info({ host: this.options.host, port }, 'SMTP listener started');
    return port;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
