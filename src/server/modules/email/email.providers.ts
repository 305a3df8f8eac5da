import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { lazyImport } from '../../platform/lazy-import.js';

/**
 * Inbound-parse webhooks of mail providers, turned back into one MIME message each, so that
 * they enter the one inbound pipeline (`InboundMailService.ingest`) like raw mail does:
 * threading, dedupe, loop protection, quarantine and the stored `.eml` behave the same.
 */

export const INBOUND_PROVIDERS = ['mailgun', 'sendgrid', 'postmark'] as const;
export type InboundProvider = (typeof INBOUND_PROVIDERS)[number];

/** One file of a posted form. */
export interface ProviderFile {
  field: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * A posted form (multipart or urlencoded). Field values are kept as bytes: SendGrid sends
 * bodies in the charset it names in `charsets`, and the raw variants carry 8-bit MIME.
 */
export interface ProviderForm {
  fields: Map<string, Buffer>;
  files: ProviderFile[];
}

export type ProviderPayload = { type: 'form'; form: ProviderForm } | { type: 'json'; body: unknown };

/** The message rebuilt from a payload, with the SMTP envelope the provider reported. */
export interface ProviderMail {
  provider: InboundProvider;
  raw: Buffer;
  envelopeFrom: string | undefined;
  envelopeTo: string[] | undefined;
}

/** Headers the composer writes from the payload's own fields, or that describe the old body. */
const COMPOSED_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'in-reply-to',
  'references',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'content-id',
  'content-description',
  'x-switchboard-provider',
]);
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]{1,200}$/;

type Addresses = string | Array<{ name: string; address: string }>;

interface Draft {
  from: Addresses;
  to: Addresses | undefined;
  cc: Addresses | undefined;
  replyTo: string | undefined;
  subject: string;
  date: string | undefined;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string | undefined;
  text: string | undefined;
  html: string | undefined;
  /** Every other original header, in order. */
  headers: Array<[string, string]>;
  attachments: Array<{ filename: string; contentType: string; content: Buffer; cid: string | undefined }>;
}

/** Which provider posted this, from the payload's shape; undefined when it is none of them. */
export function detectProvider(payload: ProviderPayload): InboundProvider | undefined {
  if (payload.type === 'json') {
    const body = payload.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    return ['FromFull', 'MessageID', 'TextBody', 'HtmlBody', 'StrippedTextReply'].some((key) => key in body)
      ? 'postmark'
      : undefined;
  }
  const has = (name: string) => payload.form.fields.has(name);
  if (has('body-mime') || has('message-headers') || has('body-plain')) return 'mailgun';
  if (has('token') && has('signature') && has('timestamp')) return 'mailgun';
  if (has('email') || has('headers') || has('envelope') || has('charsets') || has('attachment-info'))
    return 'sendgrid';
  return undefined;
}

/**
 * The MIME message a provider's payload describes. A payload that is none of the known
 * shapes (or not the one `requested`), bad JSON in a field, or one without a sender answers
 * 422 (`AppError`) and nothing is written.
 */
export async function mailFromProvider(
  payload: ProviderPayload,
  requested?: InboundProvider,
): Promise<ProviderMail> {
  const provider = requested ?? detectProvider(payload);
  if (!provider)
    throw new AppError(
      'UNPROCESSABLE',
      'The body is neither raw MIME nor an inbound payload of Mailgun, SendGrid or Postmark',
    );
  if (provider === 'postmark') {
    if (payload.type !== 'json') throw unprocessable('Postmark posts its inbound webhook as JSON', 'body');
    return fromPostmark(payload.body);
  }
  if (payload.type !== 'form')
    throw unprocessable(`${provider === 'mailgun' ? 'Mailgun' : 'SendGrid'} posts a form, not JSON`, 'body');
  return provider === 'mailgun' ? fromMailgun(payload.form) : fromSendGrid(payload.form);
}

/*
 * Mailgun Routes, forward() action (documentation.mailgun.com/docs/mailgun/user-manual/
 * receive-forward-store/receive-http): urlencoded, or multipart/form-data when the mail has
 * attachments. Parsed: `recipient`, `sender` (MAIL FROM), `from`, `subject`, `body-plain`,
 * `stripped-text`, `stripped-signature`, `body-html`, `stripped-html`, `attachment-count`,
 * files `attachment-1..N`, `content-id-map` (JSON, "<cid>" → "attachment-N"),
 * `message-headers` (JSON list of [name, value], in order), `timestamp`, `token`,
 * `signature`; every header is also sent as a field of its own name (`Message-Id`, …).
 * Raw MIME (the route URL ends in "mime"): `recipient`, `sender`, `from`, `subject`,
 * `body-mime`, `timestamp`, `token`, `signature`. Fields are UTF-8.
 */
async function fromMailgun(form: ProviderForm): Promise<ProviderMail> {
  const field = (name: string) => textOf(form, name);
  const envelope = {
    envelopeFrom: field('sender') || undefined,
    envelopeTo: splitList(field('recipient')),
  };
  const mime = form.fields.get('body-mime');
  if (mime) return { provider: 'mailgun', raw: mime, ...envelope };
  const headers = jsonField(form, 'message-headers', z.array(z.tuple([z.string(), z.coerce.string()])), []);
  const header = (name: string) => headerOf(headers, name) ?? (field(name) || undefined);
  const cidOf = invert(jsonField(form, 'content-id-map', z.record(z.string(), z.string()), {}));
  // Mailgun's spam filter answers in its own headers; the classifier reads X-Spam-Flag.
  if (/^yes$/i.test(headerOf(headers, 'X-Mailgun-Sflag') ?? '') && !headerOf(headers, 'X-Spam-Flag'))
    headers.push(['X-Spam-Flag', 'YES']);
  const draft: Draft = {
    from: requireSender(field('from') || header('From')),
    to: header('To') ?? (field('recipient') || undefined),
    cc: header('Cc'),
    replyTo: header('Reply-To'),
    subject: field('subject') || header('Subject') || '',
    date: header('Date'),
    messageId: header('Message-Id'),
    inReplyTo: header('In-Reply-To'),
    references: header('References'),
    text: field('body-plain') || undefined,
    html: field('body-html') || undefined,
    headers,
    attachments: form.files
      .filter((file) => /^attachment-\d+$/.test(file.field))
      .map((file) => ({ ...file, cid: cidOf.get(file.field) })),
  };
  return { provider: 'mailgun', raw: await compose(draft, 'mailgun'), ...envelope };
}

/*
 * SendGrid Inbound Parse (twilio.com/docs/sendgrid/for-developers/parsing-email/
 * inbound-email), multipart/form-data. Parsed: `headers` (the raw header block), `to`,
 * `from`, `cc`, `subject`, `text`, `html`, `envelope` (JSON {to: [...], from}), `dkim`,
 * `SPF`, `sender_ip`, `charsets` (JSON: the charset of each field), `spam_score`,
 * `spam_report`, `attachments` (count), `attachment-info` (JSON: per file `filename`,
 * `name`, `type`, `content-id`), `content-ids` (JSON, cid → "attachmentN"), files
 * `attachment1..N`. With "POST the raw, full MIME message": `email` holds the whole MIME
 * instead of the headers, bodies and files.
 */
async function fromSendGrid(form: ProviderForm): Promise<ProviderMail> {
  const charsets = jsonField(form, 'charsets', z.record(z.string(), z.string()), {});
  const field = (name: string) => textOf(form, name, charsets[name]);
  const envelopeJson = jsonField(
    form,
    'envelope',
    z.object({ from: z.string().nullish(), to: z.array(z.string()).nullish() }),
    {},
  );
  const envelope = {
    envelopeFrom: envelopeJson.from || undefined,
    envelopeTo: envelopeJson.to?.length ? envelopeJson.to : undefined,
  };
  const mime = form.fields.get('email');
  if (mime) return { provider: 'sendgrid', raw: mime, ...envelope };
  const headers = parseHeaderBlock(field('headers'));
  const header = (name: string) => headerOf(headers, name);
  const info = jsonField(
    form,
    'attachment-info',
    z.record(
      z.string(),
      z.object({
        filename: z.string().nullish(),
        type: z.string().nullish(),
        'content-id': z.string().nullish(),
      }),
    ),
    {},
  );
  const cidOf = invert(jsonField(form, 'content-ids', z.record(z.string(), z.string()), {}));
  const score = field('spam_score').trim();
  if (score && Number.isFinite(Number(score))) {
    // SendGrid's own SpamAssassin run: its score is the one that counts for this delivery.
    removeHeaders(headers, ['X-Spam-Score', 'X-Spam-Report']);
    headers.push(['X-Spam-Score', score]);
    const report = field('spam_report').trim();
    if (report) headers.push(['X-Spam-Report', report.slice(0, 2000)]);
  }
  const draft: Draft = {
    from: requireSender(field('from') || header('From')),
    to: field('to') || header('To'),
    cc: field('cc') || header('Cc'),
    replyTo: header('Reply-To'),
    subject: field('subject') || header('Subject') || '',
    date: header('Date'),
    messageId: header('Message-ID'),
    inReplyTo: header('In-Reply-To'),
    references: header('References'),
    text: field('text') || undefined,
    html: field('html') || undefined,
    headers,
    attachments: form.files
      .filter((file) => /^attachment\d+$/.test(file.field))
      .map((file) => {
        const described = info[file.field];
        return {
          filename: described?.filename || file.filename,
          contentType: described?.type || file.contentType,
          content: file.content,
          cid: described?.['content-id'] || cidOf.get(file.field),
        };
      }),
  };
  return { provider: 'sendgrid', raw: await compose(draft, 'sendgrid'), ...envelope };
}

const PostmarkAddress = z.object({ Email: z.string(), Name: z.string().nullish() });
/*
 * Postmark inbound webhook (postmarkapp.com/developer/webhooks/inbound-webhook), JSON:
 * `From`, `FromName`, `FromFull` {Email, Name, MailboxHash}, `To`/`ToFull`, `Cc`/`CcFull`,
 * `Bcc`/`BccFull`, `OriginalRecipient`, `ReplyTo`, `Subject`, `Date`, `MailboxHash`,
 * `MessageID` (Postmark's own id; the mail's Message-ID is in `Headers`), `MessageStream`,
 * `TextBody`, `HtmlBody`, `StrippedTextReply`, `Tag`, `Headers` [{Name, Value}] and
 * `Attachments` [{Name, Content (base64), ContentType, ContentLength, ContentID}].
 */
const PostmarkPayload = z.object({
  From: z.string().nullish(),
  FromFull: PostmarkAddress.nullish(),
  To: z.string().nullish(),
  ToFull: z.array(PostmarkAddress).nullish(),
  Cc: z.string().nullish(),
  CcFull: z.array(PostmarkAddress).nullish(),
  OriginalRecipient: z.string().nullish(),
  ReplyTo: z.string().nullish(),
  Subject: z.string().nullish(),
  Date: z.string().nullish(),
  MessageID: z.string().nullish(),
  TextBody: z.string().nullish(),
  HtmlBody: z.string().nullish(),
  Headers: z.array(z.object({ Name: z.string(), Value: z.string() })).nullish(),
  Attachments: z
    .array(
      z.object({
        Name: z.string().nullish(),
        Content: z.string().regex(/^[A-Za-z0-9+/=\s]*$/, 'must be base64'),
        ContentType: z.string().nullish(),
        ContentID: z.string().nullish(),
      }),
    )
    .nullish(),
});

async function fromPostmark(body: unknown): Promise<ProviderMail> {
  const parsed = PostmarkPayload.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw unprocessable(`Invalid Postmark payload: ${issue.message}`, issue.path.join('.'));
  }
  const mail = parsed.data;
  const headers: Array<[string, string]> = (mail.Headers ?? []).map((row) => [row.Name, row.Value]);
  const header = (name: string) => headerOf(headers, name);
  const addresses = (
    full: Array<z.infer<typeof PostmarkAddress>> | null | undefined,
    plain?: string | null,
  ) =>
    full?.length
      ? full.map((entry) => ({ name: entry.Name ?? '', address: entry.Email }))
      : plain || undefined;
  const draft: Draft = {
    from: mail.FromFull?.Email ? addresses([mail.FromFull])! : requireSender(mail.From || header('From')),
    to: addresses(mail.ToFull, mail.To) ?? header('To'),
    cc: addresses(mail.CcFull, mail.Cc) ?? header('Cc'),
    replyTo: mail.ReplyTo || header('Reply-To'),
    subject: mail.Subject || header('Subject') || '',
    date: mail.Date || header('Date'),
    // Postmark's own id is stable across its retries: it stands in for a missing Message-ID.
    messageId:
      header('Message-ID') ??
      (mail.MessageID
        ? `<postmark-${mail.MessageID.replace(/[^\w.-]/g, '')}@switchboard.invalid>`
        : undefined),
    inReplyTo: header('In-Reply-To'),
    references: header('References'),
    text: mail.TextBody || undefined,
    html: mail.HtmlBody || undefined,
    headers,
    attachments: (mail.Attachments ?? []).map((file, index) => ({
      filename: file.Name || `attachment-${index + 1}`,
      contentType: file.ContentType || 'application/octet-stream',
      content: Buffer.from(file.Content, 'base64'),
      cid: file.ContentID ? file.ContentID.replace(/^cid:/i, '') : undefined,
    })),
  };
  return {
    provider: 'postmark',
    raw: await compose(draft, 'postmark'),
    envelopeFrom: header('Return-Path')?.replace(/^<|>$/g, '') || undefined,
    envelopeTo: mail.OriginalRecipient ? [mail.OriginalRecipient] : undefined,
  };
}

/** Builds the MIME message; a mail without a Message-ID gets one from its content, so a retry is a duplicate. */
/** nodemailer's MIME builder, loaded with the first provider webhook. */
const mailComposer = lazyImport(() => import('nodemailer/lib/mail-composer'));

async function compose(draft: Draft, provider: InboundProvider): Promise<Buffer> {
  const kept = draft.headers
    .filter(
      ([name, value]) => HEADER_NAME.test(name) && !COMPOSED_HEADERS.has(name.toLowerCase()) && value.trim(),
    )
    .map(([key, value]) => {
      const line = value.replace(/[\r\n]+[ \t]*/g, ' ').trim();
      // Plain ASCII goes out as it came, folded; anything else is MIME-encoded by the composer.
      return /^[\x20-\x7e\t]*$/.test(line)
        ? { key, value: { prepared: true, foldLines: true, value: line } }
        : { key, value: line };
    });
  const attachments = draft.attachments.map((file) => ({
    filename: file.filename,
    contentType: file.contentType,
    content: file.content,
    ...(file.cid ? { cid: file.cid.replace(/^<|>$/g, ''), contentDisposition: 'inline' as const } : {}),
  }));
  const { default: MailComposer } = await mailComposer();
  const composer = new MailComposer({
    from: draft.from,
    subject: draft.subject,
    messageId: draft.messageId ?? contentMessageId(draft),
    ...(draft.to ? { to: draft.to } : {}),
    ...(draft.cc ? { cc: draft.cc } : {}),
    ...(draft.replyTo ? { replyTo: draft.replyTo } : {}),
    ...(draft.date ? { date: draft.date } : {}),
    ...(draft.inReplyTo ? { inReplyTo: draft.inReplyTo } : {}),
    ...(draft.references ? { references: draft.references } : {}),
    ...(draft.text !== undefined ? { text: draft.text } : {}),
    ...(draft.html !== undefined ? { html: draft.html } : {}),
    headers: [...kept, { key: 'X-Switchboard-Provider', value: provider }],
    attachments,
    // Nothing in a payload may make the composer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

function contentMessageId(draft: Draft): string {
  const hash = createHash('sha256');
  for (const part of [draft.from, draft.to, draft.subject, draft.date, draft.text, draft.html])
    hash.update(`${typeof part === 'string' || part === undefined ? (part ?? '') : JSON.stringify(part)}\0`);
  for (const file of draft.attachments) hash.update(file.content);
  return `<${hash.digest('hex').slice(0, 40)}@switchboard.invalid>`;
}

function requireSender(from: string | undefined | null): string {
  if (!from?.trim()) throw unprocessable('The payload has no sender (From)', 'from');
  return from;
}

function unprocessable(message: string, field: string): AppError {
  return new AppError('UNPROCESSABLE', message, { details: { field } });
}

/** A field's text, decoded from the charset the provider names (UTF-8 when none or unknown). */
function textOf(form: ProviderForm, name: string, charset = 'utf-8'): string {
  const bytes = form.fields.get(name);
  if (!bytes) return '';
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch (error) {
    // An unknown charset label: UTF-8 is what the providers send unless they say otherwise.
    if (!(error instanceof RangeError)) throw error;
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function jsonField<T>(form: ProviderForm, name: string, schema: z.ZodType<T>, fallback: T): T {
  const text = textOf(form, name).trim();
  if (!text) return fallback;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw unprocessable(`The field ${name} is not valid JSON: ${(error as Error).message}`, name);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw unprocessable(`The field ${name} has an unexpected shape`, name);
  return parsed.data;
}

function headerOf(headers: Array<[string, string]>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  return headers.find(([key]) => key.toLowerCase() === wanted)?.[1];
}

function removeHeaders(headers: Array<[string, string]>, names: string[]): void {
  const unwanted = new Set(names.map((name) => name.toLowerCase()));
  for (let index = headers.length - 1; index >= 0; index--)
    if (unwanted.has(headers[index]![0].toLowerCase())) headers.splice(index, 1);
}

/** An RFC 5322 header block, unfolded, in order, up to the first empty line. */
export function parseHeaderBlock(block: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (const line of block.split(/\r?\n/)) {
    if (line === '') break;
    const last = headers.at(-1);
    if (/^[ \t]/.test(line) && last) last[1] += ` ${line.trim()}`;
    else {
      const colon = line.indexOf(':');
      if (colon > 0) headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
    }
  }
  return headers;
}

function invert(map: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(map).map(([cid, field]) => [field, cid.replace(/^<|>$/g, '')]));
}

function splitList(value: string): string[] | undefined {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length ? items : undefined;
}
