import type { Logger } from 'pino';
import type { MailTransport, OutgoingMail, SentMail } from './mail.port.js';

/**
 * The embedded default when no SMTP server is configured: logs who would have received what
 * and keeps nothing. The delivery records of the caller still show every message.
 */
export class LogMailTransport implements MailTransport {
  readonly driver = 'log' as const;

  constructor(private readonly logger: Logger) {}

  async send(message: OutgoingMail): Promise<SentMail> {
    const messageId = message.headers['Message-ID'];
    this.logger.info(
      {
        mail: {
          messageId,
          from: message.from.address,
          to: message.to.map((recipient) => recipient.address),
          subject: message.subject,
          inReplyTo: message.headers['In-Reply-To'],
        },
      },
      'mail not sent (no SMTP configured); logged only',
    );
    return { messageId, response: 'logged' };
  }

  async close(): Promise<void> {
    // Nothing is held open.
  }
}
