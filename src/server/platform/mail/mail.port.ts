/**
 * The outgoing-mail port. Two drivers: SMTP (nodemailer, pooled) and a log driver for the
 * embedded default, which writes each message to the logger and keeps nothing ("log/outbox
 * only until SMTP is set"). Callers keep their own delivery records; the port only sends.
 */

/** An address with an optional display name. */
export interface MailAddress {
  name?: string;
  address: string;
}

export interface MailAttachment {
  filename: string;
  contentType?: string;
  content: Buffer | string;
}

/** One message, fully rendered: the port adds nothing but transport headers. */
export interface OutgoingMail {
  from: MailAddress;
  to: MailAddress[];
  cc?: MailAddress[];
  replyTo?: MailAddress;
  subject: string;
  text: string;
  html?: string;
  /** Threading headers; `Message-ID` is ours (`<uuid@domain>`), so retries resend the same one. */
  headers: {
    'Message-ID': string;
    'In-Reply-To'?: string;
    References?: string;
  } & Record<string, string>;
  attachments?: MailAttachment[];
}

export interface SentMail {
  messageId: string;
  /** The server's final answer (e.g. `250 2.0.0 Ok: queued as …`), or `logged`. */
  response: string;
}

export interface MailTransport {
  readonly driver: 'smtp' | 'log';
  /** Sends one message; throws with the server's answer when it is refused. */
  send(message: OutgoingMail): Promise<SentMail>;
  close(): Promise<void>;
}
