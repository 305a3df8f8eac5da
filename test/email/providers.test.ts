import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTables } from '../../src/server/modules/email/index.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { CapturingSmtp } from '../support/smtp-capture.js';
import { until } from '../support/wait.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';

/*
 * The inbound door as Mailgun, SendGrid and Postmark call it: their documented payloads
 * (test/fixtures/email/providers/, contracts in its README) posted over HTTP to a listening
 * server, through the one pipeline, with real PostgreSQL/PGlite and a real SMTP server for
 * the acknowledgements.
 */

const SECRET = 'test-reply-secret-0123456789abcdef0123';
const MAILBOX = 'support@helpdesk.example';
const MAX_BYTES = 300_000;
const FIXTURES = new URL('../fixtures/email/providers/', import.meta.url);

interface FormFixture {
  fields: Record<string, string>;
  files: Array<{ field: string; filename: string; contentType: string; base64: string }>;
}
type Json = Record<string, unknown>;

interface Ticket {
  id: string;
  title: string;
  description: string;
  channel: string;
  requester: { id: string; name: string; email?: string } | null;
  messages: Array<{
    id: string;
    body: string;
    isInternal: boolean;
    attachments: Array<{ id: string; fileName: string }>;
    email?: { messageId: string; html: string | null } | null;
  }>;
}

const smtp = new CapturingSmtp();
let server: TestApp;
let world: TicketWorld;
let hooks: { id: string; secret: string };
let base: string;
const api = apiClient(() => server.app);

const load = <T>(name: string): T => JSON.parse(fs.readFileSync(new URL(name, FIXTURES), 'utf8')) as T;
const clone = <T>(value: T): T => structuredClone(value);

/** What a provider's HTTP client sends for credentials in the webhook URL (https://user:secret@host/…). */
const basic = (secret: string) => `Basic ${Buffer.from(`inbound:${secret}`).toString('base64')}`;

async function post(
  body: RequestInit['body'],
  headers: Record<string, string>,
  { path = '', query = '' } = {},
) {
  const response = await fetch(`${base}/api/v1/inbound/email/${hooks.id}${path}${query}`, {
    method: 'POST',
    headers,
    body,
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

/** Mailgun: multipart/form-data when the mail has files, urlencoded otherwise. */
function sendMailgun(payload: FormFixture, options: { secret?: string; path?: string } = {}) {
  const headers = { authorization: basic(options.secret ?? hooks.secret) };
  if (payload.files.length === 0)
    return post(new URLSearchParams(payload.fields), headers, { path: options.path ?? '' });
  const form = new FormData();
  for (const [name, value] of Object.entries(payload.fields)) form.append(name, value);
  for (const file of payload.files)
    form.append(
      file.field,
      new Blob([Buffer.from(file.base64, 'base64')], { type: file.contentType }),
      file.filename,
    );
  return post(form, headers, { path: options.path ?? '' });
}

/** SendGrid: multipart/form-data, each field in the charset its `charsets` names. */
function sendSendGrid(payload: FormFixture, options: { secret?: string } = {}) {
  const charsets = JSON.parse(payload.fields.charsets ?? '{}') as Record<string, string>;
  const boundary = `xYzZY${randomUUID().replaceAll('-', '')}`;
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(payload.fields)) {
    const latin1 = /^iso-8859-1$/i.test(charsets[name] ?? '');
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n`),
      Buffer.from(value, latin1 ? 'latin1' : 'utf8'),
      Buffer.from('\r\n'),
    );
  }
  for (const file of payload.files)
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
      ),
      Buffer.from(file.base64, 'base64'),
      Buffer.from('\r\n'),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return post(
    Buffer.concat(parts),
    { 'content-type': `multipart/form-data; boundary=${boundary}` },
    { query: `?secret=${encodeURIComponent(options.secret ?? hooks.secret)}` },
  );
}

/** Postmark: JSON. */
function sendPostmark(payload: Json, options: { secret?: string } = {}) {
  return post(JSON.stringify(payload), {
    'content-type': 'application/json',
    authorization: basic(options.secret ?? hooks.secret),
  });
}

interface Variant {
  messageId: string;
  inReplyTo?: string;
  headers?: Record<string, string>;
  subject: string;
  text: string;
  from?: { name: string; address: string };
}

/** A follow-up mail the way Mailgun would post it: no files, so urlencoded. */
function mailgunVariant(first: FormFixture, variant: Variant): FormFixture {
  const payload = clone(first);
  const fields = payload.fields;
  const from = variant.from ? `${variant.from.name} <${variant.from.address}>` : fields.from!;
  const extra = {
    ...(variant.inReplyTo ? { 'In-Reply-To': variant.inReplyTo, References: variant.inReplyTo } : {}),
    ...variant.headers,
  };
  const headers = (JSON.parse(fields['message-headers']!) as Array<[string, string]>)
    .filter(([name]) => name !== 'Content-Type')
    .map(([name, value]): [string, string] => {
      if (name === 'Message-Id') return [name, variant.messageId];
      if (name === 'Subject') return [name, variant.subject];
      if (name === 'From') return [name, from];
      return [name, value];
    });
  headers.push(...Object.entries(extra), ['Content-Type', 'text/plain; charset="UTF-8"']);
  for (const name of ['attachment-count', 'content-id-map', 'body-html', 'stripped-html'])
    delete fields[name];
  Object.assign(fields, extra, {
    'Message-Id': variant.messageId,
    Subject: variant.subject,
    subject: variant.subject,
    From: from,
    from,
    sender: variant.from?.address ?? fields.sender,
    'Content-Type': 'text/plain; charset="UTF-8"',
    'message-headers': JSON.stringify(headers),
    'body-plain': variant.text,
    'stripped-text': variant.text,
  });
  payload.files = [];
  return payload;
}

function sendgridVariant(first: FormFixture, variant: Variant): FormFixture {
  const payload = clone(first);
  const fields = payload.fields;
  const from = variant.from ? `${variant.from.name} <${variant.from.address}>` : fields.from!;
  const extra = {
    ...(variant.inReplyTo ? { 'In-Reply-To': variant.inReplyTo, References: variant.inReplyTo } : {}),
    ...variant.headers,
  };
  const lines = fields
    .headers!.split('\n')
    .filter((line) => line && !/^(Content-Type|Message-ID|Subject|From):/i.test(line));
  lines.push(
    `From: ${from}`,
    `Message-ID: ${variant.messageId}`,
    `Subject: ${variant.subject}`,
    ...Object.entries(extra).map(([name, value]) => `${name}: ${value}`),
    'Content-Type: text/plain; charset="UTF-8"',
    '',
  );
  for (const name of ['html', 'attachment-info', 'content-ids']) delete fields[name];
  Object.assign(fields, {
    headers: lines.join('\n'),
    from,
    subject: variant.subject,
    text: variant.text,
    attachments: '0',
    charsets: JSON.stringify({ to: 'UTF-8', subject: 'UTF-8', from: 'UTF-8', text: 'UTF-8' }),
  });
  payload.files = [];
  return payload;
}

function postmarkVariant(first: Json, variant: Variant): Json {
  const payload = clone(first);
  const extra = {
    ...(variant.inReplyTo ? { 'In-Reply-To': variant.inReplyTo, References: variant.inReplyTo } : {}),
    ...variant.headers,
  };
  const headers = (payload.Headers as Array<{ Name: string; Value: string }>).filter(
    (header) => header.Name !== 'Message-ID',
  );
  headers.push(
    { Name: 'Message-ID', Value: variant.messageId },
    ...Object.entries(extra).map(([Name, Value]) => ({ Name, Value })),
  );
  if (variant.from) {
    payload.From = variant.from.address;
    payload.FromName = variant.from.name;
    payload.FromFull = { Email: variant.from.address, Name: variant.from.name, MailboxHash: '' };
  }
  return Object.assign(payload, {
    MessageID: randomUUID(),
    Subject: variant.subject,
    TextBody: variant.text,
    HtmlBody: '',
    Headers: headers,
    Attachments: [],
  });
}

/** Rows the pipeline keeps of a received Message-ID. */
async function received(messageId: string) {
  return server.platform.database.transaction((tx) =>
    tx.select().from(emailTables.emailMessages).where(eq(emailTables.emailMessages.messageId, messageId)),
  );
}

/** Everything inbound mail writes: received mail, quarantine, tickets. */
async function written() {
  const [messages, held] = await server.platform.database.transaction((tx) =>
    Promise.all([
      tx.select({ n: count() }).from(emailTables.emailMessages),
      tx.select({ n: count() }).from(emailTables.emailQuarantine),
    ]),
  );
  const tickets = await api('GET', '/tickets?limit=1', world.admin);
  expect(tickets.statusCode, tickets.body).toBe(200);
  return { messages: messages[0]!.n, held: held[0]!.n, tickets: tickets.json().meta.total as number };
}

async function ticket(id: string): Promise<Ticket> {
  const response = await api('GET', `/tickets/${id}`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

beforeAll(async () => {
  const port = await smtp.listen();
  server = await startTestApp({
    SMTP_URL: `smtp://mailer:s3cret@127.0.0.1:${port}`,
    MAIL_REPLY_SECRET: SECRET,
    SMTP_LISTEN_MAX_BYTES: String(MAX_BYTES),
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: MAILBOX,
    name: 'Helpdesk',
    teamId: world.teamId,
    inboundMethod: 'api',
  });
  expect(created.statusCode, created.body).toBe(201);
  hooks = { id: created.json().id, secret: created.json().inboundSecret };
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await server?.close();
  await smtp.close();
});

interface Case {
  provider: string;
  fixture: string;
  send: (payload: unknown, options?: { secret?: string }) => ReturnType<typeof post>;
  variant: (first: unknown, variant: Variant) => unknown;
  messageId: string;
  requester: { name: string; address: string };
  subject: string;
  body: string;
  files: string[];
  inline: string;
  autoReplyHeaders: Record<string, string>;
}

const cases: Case[] = [
  {
    provider: 'Mailgun',
    fixture: 'mailgun-parsed.json',
    send: (payload, options) => sendMailgun(payload as FormFixture, options),
    variant: (first, variant) => mailgunVariant(first as FormFixture, variant),
    messageId: '<CAFx3Kq1-mailgun-new@mail.northwind.example>',
    requester: { name: 'Olivia Brandt', address: 'olivia.brandt@northwind.example' },
    subject: 'Laptop docking station not detected',
    body: 'since this morning my laptop does not detect the docking station on desk 4.12.',
    files: ['Dock firmware report.pdf', 'dock-photo.png'],
    inline: 'dock-photo.png',
    autoReplyHeaders: { 'Auto-Submitted': 'auto-replied' },
  },
  {
    provider: 'SendGrid',
    fixture: 'sendgrid-parsed.json',
    send: (payload, options) => sendSendGrid(payload as FormFixture, options),
    variant: (first, variant) => sendgridVariant(first as FormFixture, variant),
    messageId: '<20261114083105.GA4711-sendgrid-new@mail.fabrikam.example>',
    requester: { name: 'Renée François', address: 'renee.francois@fabrikam.example' },
    subject: 'VPN coupe toutes les heures à Lyon',
    body: 'le VPN coupe toutes les heures depuis le site de Lyon. Voir la capture.\n\nCordialement,\nRenée',
    files: ['vpn-client.png'],
    inline: 'vpn-client.png',
    autoReplyHeaders: { 'X-Autoreply': 'yes' },
  },
  {
    provider: 'Postmark',
    fixture: 'postmark.json',
    send: (payload, options) => sendPostmark(payload as Json, options),
    variant: (first, variant) => postmarkVariant(first as Json, variant),
    messageId: '<CAB3-postmark-new@mail.woodgrove.example>',
    requester: { name: 'Amara Okafor', address: 'amara.okafor@woodgrove.example' },
    subject: 'Cannot open the expense spreadsheet',
    body: 'Excel says the expense spreadsheet is corrupt.',
    files: ['error-shot.png', 'expenses-2026-11.pdf'],
    inline: 'error-shot.png',
    autoReplyHeaders: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
  },
];

describe.each(cases)('$provider inbound webhook', (test) => {
  const first = () => load<unknown>(test.fixture);
  let ticketId: string;

  it('opens a ticket with the requester, subject, body and files of the mail, and acknowledges it', async () => {
    const response = await test.send(first());
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'created',
      messageId: test.messageId,
      decision: 'new ticket',
    });
    ticketId = response.json().ticketId;
    const created = await ticket(ticketId);
    expect(created).toMatchObject({
      title: test.subject,
      channel: 'email',
      requester: { name: test.requester.name },
    });
    expect(created.description).toContain(test.body);
    const [message] = created.messages;
    expect(message!.attachments.map((file) => file.fileName).sort()).toEqual(test.files);
    // The inline image is referenced from the HTML view through its stored file.
    const inline = message!.attachments.find((file) => file.fileName === test.inline)!;
    expect(message!.email!.html).toContain(`/api/v1/attachments/${inline.id}`);
    const users = await api(
      'GET',
      `/admin/users?q=${encodeURIComponent(test.requester.address)}`,
      world.admin,
    );
    expect(users.json().data).toMatchObject([{ email: test.requester.address, role: 'requester' }]);
    // The rebuilt message is kept as the raw .eml, like mail that came in raw.
    const raw = await api('GET', `/tickets/${ticketId}/messages/${message!.id}/raw`, world.agent);
    expect(raw.statusCode).toBe(200);
    expect(raw.headers['content-type']).toContain('message/rfc822');
    expect(raw.body).toContain(`Message-ID: ${test.messageId}`);
    const [ack] = await until(async () => {
      const mails = await smtp.to(test.requester.address);
      return mails.length > 0 ? mails : undefined;
    });
    expect(ack!.subject).toContain(test.subject);
  });

  it('threads a reply onto the ticket through In-Reply-To', async () => {
    const reply = test.variant(first(), {
      messageId: `<reply-${randomUUID()}@mail.example>`,
      inReplyTo: test.messageId,
      subject: `Re: ${test.subject}`,
      text: 'It works again after a restart.\n\nOn Tuesday the helpdesk wrote:\n> We are looking into it.',
    });
    const response = await test.send(reply);
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'replied',
      ticketId,
      decision: `matched In-Reply-To ${test.messageId}`,
    });
    const after = await ticket(ticketId);
    expect(after.messages.map((message) => message.body)).toContain('It works again after a restart.');
  });

  it('opens no ticket, so sends no acknowledgement, for an auto-reply', async () => {
    const before = await written();
    const sender = { name: 'Out of Office', address: `ooo-${randomUUID().slice(0, 8)}@partner.example` };
    const autoReply = test.variant(first(), {
      messageId: `<ooo-${randomUUID()}@partner.example>`,
      headers: test.autoReplyHeaders,
      subject: `Automatic reply: ${test.subject}`,
      text: 'I am out of the office until Monday.',
      from: sender,
    });
    const response = await test.send(autoReply);
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({ status: 'dropped', ticketId: null });
    const [row] = await received(response.json().messageId);
    expect(row).toMatchObject({ kind: 'auto_reply', fromAddress: sender.address, ticketId: null });
    expect((await written()).tickets).toBe(before.tickets);
    const users = await api('GET', `/admin/users?q=${encodeURIComponent(sender.address)}`, world.admin);
    expect(users.json().data).toEqual([]);
  });

  it('keeps one message when the same payload is posted twice', async () => {
    const again = await test.send(first());
    expect(again.status, again.text).toBe(200);
    expect(again.json()).toMatchObject({ status: 'duplicate', ticketId, messageId: test.messageId });
    expect(await received(test.messageId)).toHaveLength(1);
    expect((await ticket(ticketId)).messages.filter((message) => !message.isInternal)).toHaveLength(2);
  });

  it('answers 401 for a wrong or missing secret and writes nothing', async () => {
    const before = await written();
    const wrong = await test.send(first(), { secret: 'not-the-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ statusCode: 401, code: 'UNAUTHENTICATED' });
    const missing = await post(JSON.stringify(first()), { 'content-type': 'application/json' });
    expect(missing.status).toBe(401);
    expect(await written()).toEqual(before);
  });
});

describe('raw MIME variants', () => {
  it('takes Mailgun body-mime, posted to the URL that ends in "mime"', async () => {
    const response = await sendMailgun(load('mailgun-mime.json'), { path: '/mime' });
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'created',
      messageId: '<CAGm7xQ-mailgun-mime@mail.contoso.example>',
    });
    const created = await ticket(response.json().ticketId);
    expect(created).toMatchObject({
      title: 'Drucker im 3. Stock druckt nur Hieroglyphen',
      requester: { name: 'Jürgen Müller' },
    });
    expect(created.description).toContain('Viele Grüße');
    const [row] = await received('<CAGm7xQ-mailgun-mime@mail.contoso.example>');
    expect(row!.fromAddress).toBe('juergen.mueller@contoso.example');
  });

  it('takes SendGrid "POST the raw, full MIME message" (the email field)', async () => {
    const response = await sendSendGrid(load('sendgrid-raw.json'));
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({
      status: 'created',
      messageId: '<CAJ9-sendgrid-raw@mail.tailspin.example>',
    });
    const created = await ticket(response.json().ticketId);
    expect(created).toMatchObject({
      title: 'Shared drive quota exceeded',
      requester: { name: 'Kenji Watanabe' },
    });
    expect(created.messages[0]!.attachments.map((file) => file.fileName)).toEqual(['usage.csv']);
  });
});

describe('what providers report about spam', () => {
  it('holds a SendGrid mail whose spam_score is above 5 in quarantine as spam', async () => {
    const payload = sendgridVariant(load('sendgrid-parsed.json'), {
      messageId: `<spam-${randomUUID()}@bulk.example>`,
      subject: 'You have won',
      text: 'Claim your prize now.',
      from: { name: 'Prize Desk', address: 'prizes@bulk.example' },
    });
    payload.fields.spam_score = '8.7';
    const response = await sendSendGrid(payload);
    expect(response.status, response.text).toBe(200);
    expect(response.json()).toMatchObject({ status: 'quarantined', decision: 'quarantined: spam' });
  });
});

describe('payloads that are none of the shapes', () => {
  const bad: Array<[string, () => ReturnType<typeof post>, number, string]> = [
    [
      'JSON that is no Postmark payload',
      () =>
        post(JSON.stringify({ hello: 'world' }), {
          'content-type': 'application/json',
          authorization: basic(hooks.secret),
        }),
      422,
      'UNPROCESSABLE',
    ],
    [
      'malformed JSON',
      () =>
        post('{"From": "a@b.example", ', {
          'content-type': 'application/json',
          authorization: basic(hooks.secret),
        }),
      400,
      'BAD_REQUEST',
    ],
    [
      'a Postmark payload without From',
      () => {
        const payload = load<Json>('postmark.json');
        delete payload.From;
        delete payload.FromFull;
        payload.Headers = [];
        return sendPostmark(payload);
      },
      422,
      'UNPROCESSABLE',
    ],
    [
      'a Postmark attachment that is not base64',
      () => {
        const payload = load<Json>('postmark.json');
        (payload.Attachments as Json[])[0]!.Content = '<<not base64>>';
        return sendPostmark(payload);
      },
      422,
      'UNPROCESSABLE',
    ],
    [
      'a Mailgun form whose message-headers is not JSON',
      () => {
        const payload = mailgunVariant(load('mailgun-parsed.json'), {
          messageId: '<bad-headers@mail.example>',
          subject: 'x',
          text: 'x',
        });
        payload.fields['message-headers'] = '[["From", "x@y.example"';
        return sendMailgun(payload);
      },
      422,
      'UNPROCESSABLE',
    ],
    [
      'a SendGrid form without from',
      () => {
        const payload = load<FormFixture>('sendgrid-parsed.json');
        delete payload.fields.from;
        payload.fields.headers = 'Subject: no sender\n';
        return sendSendGrid(payload);
      },
      422,
      'UNPROCESSABLE',
    ],
    [
      'a form of no provider',
      () =>
        post(new URLSearchParams({ name: 'Mallory', comment: 'hi' }), { authorization: basic(hooks.secret) }),
      422,
      'UNPROCESSABLE',
    ],
    [
      'a form sent as ?provider=postmark',
      () =>
        post(
          new URLSearchParams(load<FormFixture>('mailgun-mime.json').fields),
          { authorization: basic(hooks.secret) },
          { query: '?provider=postmark' },
        ),
      422,
      'UNPROCESSABLE',
    ],
    [
      'an empty SendGrid raw email field',
      () => {
        const payload = load<FormFixture>('sendgrid-raw.json');
        payload.fields.email = ' ';
        return sendSendGrid(payload);
      },
      400,
      'BAD_REQUEST',
    ],
  ];

  it.each(bad)('answers %s with the common error and writes nothing', async (_name, send, status, code) => {
    const before = await written();
    const response = await send();
    expect(response.status, response.text).toBe(status);
    expect(response.json()).toMatchObject({
      statusCode: status,
      code,
      path: `/api/v1/inbound/email/${hooks.id}`,
    });
    expect(response.json().requestId).toBeTruthy();
    expect(await written()).toEqual(before);
  });
});

describe('the size of a post', () => {
  const withFiles = (sizes: number[]): FormFixture => {
    const payload = load<FormFixture>('mailgun-parsed.json');
    payload.files = sizes.map((size, index) => ({
      field: `attachment-${index + 1}`,
      filename: `part-${index + 1}.bin`,
      contentType: 'application/octet-stream',
      base64: Buffer.alloc(size, index + 1).toString('base64'),
    }));
    payload.fields['attachment-count'] = String(sizes.length);
    return payload;
  };
  const cases: Array<[string, FormFixture]> = [
    ['one file over the limit', withFiles([MAX_BYTES + 1])],
    ['files that are over the limit together', withFiles([MAX_BYTES / 2, MAX_BYTES / 2])],
    ['more than 100 files', withFiles(Array(101).fill(10))],
  ];

  it.each(cases)('answers 413 for %s and writes nothing', async (_name, payload) => {
    const before = await written();
    const response = await sendMailgun(payload);
    expect(response.status, response.text).toBe(413);
    expect(response.json()).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(await written()).toEqual(before);
  });

  it('answers 413 for a Postmark body over the limit', async () => {
    const payload = load<Json>('postmark.json');
    (payload.Attachments as Json[])[1]!.Content = Buffer.alloc(MAX_BYTES).toString('base64');
    const response = await sendPostmark(payload);
    expect(response.status, response.text).toBe(413);
  });
});
