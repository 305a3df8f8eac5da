import { realSender } from './email.groups.js';
import type { ParsedEmail } from './email.parse.js';

/** What kind of mail this is, which decides whether it may open or update a ticket. */
export interface EmailClassification {
  kind: 'normal' | 'auto_reply' | 'bounce' | 'spam';
  reason: string;
  /** For bounces: the recipient that could not be reached, when it can be found. */
  failedRecipient?: string;
}

const SPAM_SCORE_THRESHOLD = 5;

// Subjects auto-responders use. Loose form only together with X-Auto-Response-Suppress,
// since "out of office" inside a normal sentence is common; the strict prefix form alone.
const AUTO_REPLY_SUBJECT =
  /\b(?:auto(?:matic)?[\s-]*(?:reply|response|antwort)|automatische antwort|out of (?:the )?office|abwesenheitsnotiz|abwesend|r[ée]ponse automatique|absence|fuera de la oficina|respuesta autom[aá]tica|risposta automatica|afwezig|autosvar)\b/i;
const AUTO_REPLY_PREFIX =
  /^(?:automatic reply|auto-?reply|autoreply|auto response|out of (?:the )?office(?: reply| autoreply)?|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|respuesta autom[aá]tica)\s*:/i;
const BOUNCE_SENDER = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const BOUNCE_SUBJECT =
  /\b(?:undeliverable|undelivered mail|delivery status notification \(failure\)|delivery (?:has )?failed|mail delivery failed|returned mail|failure notice|nicht zustellbar|unzustellbar)\b/i;

/** Reads `Final-Recipient` (or `Original-Recipient`) from an RFC 3464 delivery status body. */
function recipientFromDeliveryStatus(status: string): string | undefined {
  for (const field of ['final-recipient', 'original-recipient']) {
    const match = new RegExp(`^${field}:\\s*(?:[\\w-]+\\s*;\\s*)?<?([^\\s<>;]+@[^\\s<>;]+)>?`, 'im').exec(
      status,
    );
    if (match) return match[1]!.toLowerCase();
  }
  return undefined;
}

/** Bounce bodies in prose: Postfix `<a@b>: host said`, Gmail "wasn't delivered to a@b", Exchange lists. */
function recipientFromBody(text: string, ownAddresses: Set<string>): string | undefined {
  const patterns = [
    /^\s*<([^\s<>]+@[^\s<>]+)>(?::|\s*$)/m,
    /(?:wasn't|was not|couldn't be|could not be) delivered to\s+<?([^\s<>]+@[^\s<>]+?)>?[\s.,]/i,
    /delivery to the following recipients? failed[^\n]*\n+\s*<?([^\s<>]+@[^\s<>]+?)>?\s/i,
    /^\s*([^\s<>@]+@[^\s<>@]+\.[a-z]{2,})\s*$/im,
  ];
  for (const pattern of patterns) {
    const address = pattern
      .exec(text)?.[1]
      ?.replace(/[.,;:]+$/, '')
      .toLowerCase();
    if (address && !ownAddresses.has(address)) return address;
  }
  return undefined;
}

function spamScore(headers: ParsedEmail['headers']): number | undefined {
  const score = headers['x-spam-score'] ?? /\bscore=(-?[\d.]+)/i.exec(headers['x-spam-status'] ?? '')?.[1];
  const value = score === undefined ? Number.NaN : Number.parseFloat(score);
  return Number.isNaN(value) ? undefined : value;
}

/**
 * Classifies a parsed email. Order matters: a bounce carries the original message's headers
 * and is often auto-submitted too, so it is checked first; spam wins over auto-reply so an
 * auto-reply from a spam run never reaches a ticket.
 */
export function classifyEmail(parsed: ParsedEmail): EmailClassification {
  const headers = parsed.headers;
  const contentType = (headers['content-type'] ?? '').toLowerCase();
  const sender = parsed.from?.address ?? '';
  const isReport = contentType.startsWith('multipart/report') && contentType.includes('delivery-status');
  if (
    isReport ||
    parsed.deliveryStatus !== null ||
    BOUNCE_SENDER.test(sender) ||
    headers['x-failed-recipients']
  ) {
    const isBounce =
      isReport ||
      parsed.deliveryStatus !== null ||
      headers['x-failed-recipients'] ||
      BOUNCE_SUBJECT.test(parsed.subject);
    if (isBounce || parsed.headers['auto-submitted']) {
      const own = new Set([sender, ...parsed.to.map((address) => address.address)]);
      const failedRecipient =
        recipientFromDeliveryStatus(parsed.deliveryStatus ?? '') ??
        headers['x-failed-recipients']?.split(',')[0]?.trim().toLowerCase() ??
        recipientFromBody(parsed.text, own);
      const reason = isReport ? 'delivery status report' : `bounce from ${sender || 'unknown sender'}`;
      return failedRecipient ? { kind: 'bounce', reason, failedRecipient } : { kind: 'bounce', reason };
    }
  }

  if ((headers['x-spam-flag'] ?? '').trim().toUpperCase().startsWith('YES')) {
    return { kind: 'spam', reason: 'X-Spam-Flag: YES' };
  }
  const score = spamScore(headers);
  if (score !== undefined && score > SPAM_SCORE_THRESHOLD)
    return { kind: 'spam', reason: `spam score ${score}` };

  const autoSubmitted = headers['auto-submitted']?.trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith('no')) {
    return { kind: 'auto_reply', reason: `Auto-Submitted: ${autoSubmitted}` };
  }
  const precedence = headers.precedence?.trim().toLowerCase();
  // Google Groups stamp Precedence: list on every relayed post, including customers' mail to a
  // group used as the support address, so a recovered human author overrides it.
  const isGroupPost = precedence === 'list' && realSender(parsed).via === 'group';
  if (precedence && ['bulk', 'junk', 'list', 'auto_reply'].includes(precedence) && !isGroupPost) {
    return { kind: 'auto_reply', reason: `Precedence: ${precedence}` };
  }
  if (headers['x-autoreply'] || headers['x-autorespond']) {
    return { kind: 'auto_reply', reason: headers['x-autoreply'] ? 'X-Autoreply' : 'X-Autorespond' };
  }
  // Outlook sets X-Auto-Response-Suppress on plenty of normal mail; only the subject tells.
  if (headers['x-auto-response-suppress'] && AUTO_REPLY_SUBJECT.test(parsed.subject)) {
    return { kind: 'auto_reply', reason: 'X-Auto-Response-Suppress with auto-reply subject' };
  }
  if (AUTO_REPLY_PREFIX.test(parsed.subject)) return { kind: 'auto_reply', reason: 'auto-reply subject' };
  return { kind: 'normal', reason: 'no automation markers' };
}
