import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server on a random loopback port that keeps every message it accepts, for
 * tests of outbound mail. Authentication is optional; when a client authenticates, only
 * `mailer` / `s3cret` is accepted. Addresses in `refused` get 550 at RCPT TO.
 */
export class CapturingSmtp {
  readonly received: Array<{ to: string[]; raw: Buffer }> = [];
  readonly refused = new Set<string>();
  private readonly server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth: (auth, _session, callback) =>
      auth.username === 'mailer' && auth.password === 's3cret'
        ? callback(null, { user: auth.username })
        : callback(new Error('bad credentials')),
    onRcptTo: (address, _session, callback) => {
      if (!this.refused.has(address.address.toLowerCase())) return callback();
      // The answer carries quotes, as real ones do, so recording it must keep them intact.
      const error = Object.assign(new Error(`5.1.1 <${address.address}>: Recipient's mailbox unavailable`), {
        responseCode: 550,
      });
      return callback(error);
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        this.received.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()),
          raw: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Parsed messages sent to `address` (whose subject names `ticketNumber`, if given), oldest first. */
  async to(address: string, ticketNumber?: string): Promise<ParsedMail[]> {
    const raw = this.received.filter((mail) => mail.to.includes(address.toLowerCase()));
    const parsed = await Promise.all(raw.map((mail) => simpleParser(mail.raw)));
    return ticketNumber ? parsed.filter((mail) => mail.subject?.includes(ticketNumber)) : parsed;
  }

  /** Parsed messages whose subject names `ticketNumber`, oldest first. */
  async about(ticketNumber: string): Promise<ParsedMail[]> {
    const mails = await Promise.all(this.received.map((mail) => simpleParser(mail.raw)));
    return mails.filter((mail) => mail.subject?.includes(ticketNumber));
  }
}
