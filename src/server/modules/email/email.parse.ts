import type { AddressObject, Attachment, HeaderValue, ParsedMail, StructuredHeader } from 'mailparser';
import { lazyImport } from '../../platform/lazy-import.js';
import { safeFileName } from '../../platform/scan/file-names.js';
import { sanitizeEmailHtml } from './email.sanitize.js';

/** mailparser and what it pulls in (iconv tables, an HTML-to-text converter): loaded with the first mail. */
const mailparser = lazyImport(() => import('mailparser'));

/** The one file-name sanitizer of uploads and mail (re-exported for the parser's tests and tools). */
export { safeFileName };

/** A mailbox: lower-cased address plus display name (empty string when none). */
export interface EmailAddress {
  address: string;
  name: string;
}

/** One attachment or inline part, with a name that is safe to use as a file name. */
export interface EmailAttachment {
  name: string;
  contentType: string;
  size: number;
  /** Content-ID without angle brackets, for parts referenced as `cid:` from the HTML. */
  contentId: string | null;
  inline: boolean;
  content: Buffer;
}

/** The headers the inbound pipeline decides on, lower-case names, unfolded values. */
export const KEPT_HEADERS = [
  'list-id',
  'x-original-sender',
  'x-original-from',
  'auto-submitted',
  'precedence',
  'x-autoreply',
  'x-autorespond',
  'x-auto-response-suppress',
  'x-spam-flag',
  'x-spam-score',
  'x-spam-status',
  'x-failed-recipients',
  'delivered-to',
  'return-path',
  'content-type',
] as const;

/** A parsed email reduced to what the helpdesk uses. */
export interface ParsedEmail {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  subject: string;
  from: EmailAddress | null;
  replyTo: EmailAddress[];
  to: EmailAddress[];
  cc: EmailAddress[];
  date: Date | null;
  headers: Partial<Record<(typeof KEPT_HEADERS)[number], string>>;
  text: string;
  html: string | null;
  /** Body of a `message/delivery-status` part (bounces), kept out of `attachments`. */
  deliveryStatus: string | null;
  attachments: EmailAttachment[];
  problems: string[];
}

/** Options for {@link parseEmail}. */
export interface ParseOptions {
  /** Attachments larger than this are dropped with a problem. Default 25 MB. */
  maxAttachmentBytes?: number;
  /** Content-ID → URL for inline images; by default `cid:` links to existing parts are kept. */
  inlineImages?: Map<string, string>;
}

/** Thrown only when the input is not an email at all; malformed mail is parsed best-effort. */
export class UnparseableEmail extends Error {
  override readonly name = 'UnparseableEmail';
}

const DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
const MESSAGE_ID = /<[^<>\s]+>/g;
const DELIVERY_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const EXTENSIONS: Record<string, string> = {
  'message/rfc822': 'eml',
  'text/rfc822-headers': 'txt',
  'text/plain': 'txt',
  'text/html': 'html',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'application/pdf': 'pdf',
};

/** All `<id>` tokens of a header; a bare id without brackets is wrapped, as senders get this wrong. */
export function messageIdsOf(value: string | string[] | undefined): string[] {
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return values.flatMap((item) => {
    const bracketed = item.match(MESSAGE_ID);
    if (bracketed) return [...bracketed];
    return item
      .split(/[\s,]+/)
      .filter((token) => token.includes('@'))
      .map((token) => `<${token.replace(/^<|>$/g, '')}>`);
  });
}

function addressesOf(value: AddressObject | AddressObject[] | undefined): EmailAddress[] {
  const objects = value === undefined ? [] : Array.isArray(value) ? value : [value];
  const flat = objects.flatMap((object) => object.value.flatMap((entry) => [entry, ...(entry.group ?? [])]));
  return flat
    .filter((entry) => entry.address?.includes('@'))
    .map((entry) => ({ address: entry.address!.trim().toLowerCase(), name: entry.name.trim() }));
}

function rawHeader(mail: ParsedMail, key: string): string[] {
  return mail.headerLines
    .filter((line) => line.key === key)
    .map((line) =>
      line.line
        .slice(line.line.indexOf(':') + 1)
        .replace(/\r?\n[ \t]+/g, ' ')
        .trim(),
    );
}

function isStructured(value: HeaderValue | undefined): value is StructuredHeader {
  return typeof value === 'object' && value !== null && 'value' in value && 'params' in value;
}

function headerText(key: string, value: HeaderValue | undefined, mail: ParsedMail): string | undefined {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(', ');
  if (isStructured(value)) {
    const reportType = value.params['report-type'];
    return reportType ? `${value.value}; report-type=${reportType}` : value.value;
  }
  // Structured list headers and address objects: the raw line is what the rules match on.
  const raw = rawHeader(mail, key);
  return raw.length > 0 ? raw.join(', ') : undefined;
}

function keptHeaders(mail: ParsedMail): ParsedEmail['headers'] {
  const headers: ParsedEmail['headers'] = {};
  for (const key of KEPT_HEADERS) {
    const value = headerText(key, mail.headers.get(key), mail);
    if (value !== undefined && value !== '') headers[key] = value;
  }
  return headers;
}

function parseFailure(error: unknown): string {
  return `MIME parse failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** Problems mailparser hides: it tolerates these silently, but an agent should know. */
function structuralProblems(raw: string, mail: ParsedMail): string[] {
  const problems: string[] = [];
  const contentType = mail.headers.get('content-type');
  const boundary = isStructured(contentType) ? contentType.params.boundary : undefined;
  if (boundary && !raw.includes(`--${boundary}`)) problems.push('multipart boundary not found');
  const base64Bodies = raw.split(/\r?\n\r?\n/).filter((chunk, index, chunks) => {
    const previous = chunks[index - 1] ?? '';
    return /content-transfer-encoding:\s*base64/i.test(previous) && chunk.trim() !== '';
  });
  const invalid = base64Bodies.some((chunk) => {
    const body = chunk.split(/\r?\n--/)[0]!.replace(/\s+/g, '');
    return body !== '' && !/^[A-Za-z0-9+/]*={0,2}$/.test(body);
  });
  if (invalid) problems.push('invalid base64 content');
  if (rawHeader(mail, 'message-id').length > 1) problems.push('multiple Message-ID headers');
  return problems;
}

/**
 * Parses a raw RFC 5322 message. Never throws for malformed mail: what could not be
 * understood is reported in `problems` and the rest is returned best-effort.
 *
 * @throws {UnparseableEmail} when the input is empty or has no header section at all
 */
export async function parseEmail(raw: Buffer | string, options: ParseOptions = {}): Promise<ParsedEmail> {
  const buffer = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  const head = buffer.subarray(0, 4096).toString('latin1');
  if (buffer.toString('latin1').trim() === '' || !/^[\x21-\x39\x3b-\x7e]+:/m.test(head)) {
    throw new UnparseableEmail('input is empty or has no email headers');
  }
  const problems: string[] = [];
  const { simpleParser } = await mailparser();
  // keepCidLinks: mailparser would inline every cid: image as a data URL in the HTML.
  const parserOptions = { keepCidLinks: true, keepDeliveryStatus: true };
  let mail: ParsedMail;
  try {
    mail = await simpleParser(buffer, parserOptions);
  } catch (error) {
    problems.push(parseFailure(error));
    // Retry on the header section alone so sender, subject and threading survive a broken body.
    const split = head.search(/\r?\n\r?\n/);
    const headerPart = split === -1 ? buffer : buffer.subarray(0, split);
    try {
      mail = await simpleParser(Buffer.concat([headerPart, Buffer.from('\r\n\r\n')]), parserOptions);
    } catch {
      throw new UnparseableEmail('headers could not be parsed');
    }
    if (split !== -1) mail.text = buffer.subarray(split).toString('utf8').trim();
  }
  if (mail.headerLines.length === 0) throw new UnparseableEmail('no email headers found');
  const structural = structuralProblems(buffer.toString('latin1'), mail);
  problems.push(...structural);
  if (structural.includes('multipart boundary not found') && !mail.text && !mail.html) {
    // mailparser finds no parts at all; the raw body is the closest thing to what was written.
    const split = buffer.indexOf('\r\n\r\n') === -1 ? buffer.indexOf('\n\n') : buffer.indexOf('\r\n\r\n');
    if (split !== -1) mail.text = buffer.subarray(split).toString('utf8').trim();
  }

  const from = addressesOf(mail.from)[0] ?? null;
  if (!mail.headers.has('from')) problems.push('missing From');
  else if (!from) problems.push('invalid From');

  const dateLines = rawHeader(mail, 'date');
  // mailparser substitutes the current time for an unreadable Date, which would fake a send time.
  const dateReadable =
    dateLines.length > 0 && !Number.isNaN(Date.parse(dateLines[0]!.replace(/\([^)]*\)/g, '')));
  const date = dateReadable && mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;
  if (dateLines.length === 0) problems.push('missing date');
  else if (!date) problems.push('invalid date');

  const messageId = messageIdsOf(mail.messageId)[0] ?? null;
  if (!messageId) problems.push('missing Message-ID');

  const maxBytes = options.maxAttachmentBytes ?? DEFAULT_MAX_ATTACHMENT_BYTES;
  const attachments: EmailAttachment[] = [];
  let deliveryStatus: string | null = null;
  mail.attachments.forEach((part: Attachment, index) => {
    if (DELIVERY_STATUS_TYPES.has(part.contentType)) {
      deliveryStatus = (deliveryStatus ?? '') + part.content.toString('utf8');
      return;
    }
    const fallback = `attachment-${index + 1}.${EXTENSIONS[part.contentType] ?? 'bin'}`;
    const name = safeFileName(part.filename, fallback);
    if (part.size > maxBytes) {
      problems.push(`attachment over limit dropped: ${name} (${part.size} bytes)`);
      return;
    }
    const contentId = part.cid ?? part.contentId?.replace(/^<|>$/g, '') ?? null;
    const inline = part.contentDisposition === 'inline' || part.related === true;
    attachments.push({
      name,
      contentType: part.contentType,
      size: part.size,
      contentId,
      inline,
      content: part.content,
    });
  });

  const inlineImages =
    options.inlineImages ??
    new Map(
      attachments.flatMap((part) => (part.contentId ? [[part.contentId, `cid:${part.contentId}`]] : [])),
    );
  const html = typeof mail.html === 'string' ? sanitizeEmailHtml(mail.html, { inlineImages }) : null;
  if (mail.textConversionError) problems.push(`HTML to text failed: ${mail.textConversionError.message}`);

  return {
    messageId,
    inReplyTo: messageIdsOf(mail.inReplyTo)[0] ?? null,
    references: messageIdsOf(mail.references),
    subject: (mail.subject ?? '').replace(/\s+/g, ' ').trim(),
    from,
    replyTo: addressesOf(mail.replyTo),
    to: addressesOf(mail.to),
    cc: addressesOf(mail.cc),
    date,
    headers: keptHeaders(mail),
    text: (mail.text ?? '').replace(/\r\n/g, '\n'),
    html,
    deliveryStatus,
    attachments,
    problems,
  };
}
