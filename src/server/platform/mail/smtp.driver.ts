import nodemailer from 'nodemailer';
import type { MailAddress, MailTransport, OutgoingMail, SentMail } from './mail.port.js';

/** Where the SMTP server is: a URL (`smtp://` or `smtps://` with credentials) or parts. */
export type SmtpSettings =
  | { url: string }
  | { host: string; port: number; secure: boolean; user?: string | undefined; password?: string | undefined };

const createPooledTransport = (options: { pool: true } & Record<string, unknown>) =>
  nodemailer.createTransport(options);

const addressOf = (mail: MailAddress) =>
  mail.name ? { name: mail.name, address: mail.address } : mail.address;

/** SMTP through a pooled nodemailer transport: a few long-lived connections, not one per mail. */
export class SmtpMailTransport implements MailTransport {
  readonly driver = 'smtp' as const;
  private readonly transporter: ReturnType<typeof createPooledTransport>;

  constructor(settings: SmtpSettings) {
    // `url` is parsed by the pool itself (host, port, secure, auth from smtp[s]://user:pass@host:port).
    // As many connections as a worker runs send jobs at once (JOB_CONCURRENCY's default), each
    // kept for 1,000 mails rather than nodemailer's 100 before it reconnects.
    const base = { pool: true as const, maxConnections: 5, maxMessages: 1_000, connectionTimeout: 15_000 };
    const options =
      'url' in settings
        ? { ...base, url: settings.url }
        : {
            ...base,
            host: settings.host,
            port: settings.port,
            secure: settings.secure,
            ...(settings.user ? { auth: { user: settings.user, pass: settings.password ?? '' } } : {}),
          };
    this.transporter = createPooledTransport(options);
  }

  async send(message: OutgoingMail): Promise<SentMail> {
    const { 'Message-ID': messageId, ...headers } = message.headers;
    const info = await this.transporter.sendMail({
      from: addressOf(message.from),
      to: message.to.map(addressOf),
      ...(message.cc?.length ? { cc: message.cc.map(addressOf) } : {}),
      ...(message.replyTo ? { replyTo: addressOf(message.replyTo) } : {}),
      subject: message.subject,
      text: message.text,
      ...(message.html ? { html: message.html } : {}),
      messageId,
      headers: Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined)),
      ...(message.attachments?.length ? { attachments: message.attachments } : {}),
    });
    return { messageId: info.messageId ?? messageId, response: info.response };
  }

  async close(): Promise<void> {
    this.transporter.close();
  }
}
