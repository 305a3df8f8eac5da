import type { ParsedEmail } from './email.parse.js';

/** Everything that can tie an inbound message to an existing ticket, strongest first. */
export interface ThreadingKeys {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  /** Token from a plus address `support+t-<token>@replyDomain` we put in Reply-To. */
  replyToken: string | null;
  /** `TKT-YYYYMMDD-NNNNN` found in the subject. */
  subjectTicketNumber: string | null;
}

/** Options for {@link threadingKeys}. */
export interface ThreadingOptions {
  /** Only plus addresses at this domain carry our token; others are the customer's own tags. */
  replyDomain?: string;
}

const REPLY_TOKEN = /^[^+@\s]+\+t-([a-z0-9_-]{6,64})@([^@\s]+)$/i;
const TICKET_NUMBER = /\bTKT-(\d{8})-(\d{5})\b/i;

/**
 * Extracts the threading keys of a parsed message. The reply token is looked for in To, Cc
 * and Delivered-To because forwarding setups often leave only Delivered-To with our address.
 */
export function threadingKeys(parsed: ParsedEmail, options: ThreadingOptions = {}): ThreadingKeys {
  const deliveredTo = (parsed.headers['delivered-to'] ?? '').split(/[\s,]+/).filter(Boolean);
  const candidates = [...parsed.to.map((a) => a.address), ...parsed.cc.map((a) => a.address), ...deliveredTo];
  const domain = options.replyDomain?.toLowerCase();
  let replyToken: string | null = null;
  for (const candidate of candidates) {
    const match = REPLY_TOKEN.exec(candidate.replace(/^<|>$/g, '').toLowerCase());
    if (match && (!domain || match[2] === domain)) {
      replyToken = match[1]!;
      break;
    }
  }
  const ticket = TICKET_NUMBER.exec(parsed.subject);
  return {
    messageId: parsed.messageId,
    inReplyTo: parsed.inReplyTo,
    references: parsed.references,
    replyToken,
    subjectTicketNumber: ticket ? `TKT-${ticket[1]}-${ticket[2]}` : null,
  };
}
