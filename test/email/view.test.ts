import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INLINE_RAW_MAX_BYTES } from '../../src/server/modules/email/inbound.service.js';
import { emailTables } from '../../src/server/modules/email/index.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

const run = randomUUID().slice(0, 8);
const domain = `view-${run}.test`;

let server: TestApp;
let world: TicketWorld;
let requesterEmail: string;
let hooks: { id: string; secret: string };
let ticket: { id: string; number: string };
const api = apiClient(() => server.app);

interface MessageEmail {
  messageId: string;
  from: string | null;
  decision?: string;
  quoted: string;
  html: string | null;
  hasRaw?: boolean;
}
interface Message {
  id: string;
  body: string;
  attachments: Array<{ id: string; fileName: string }>;
  email?: MessageEmail | null;
}

function inject(raw: string) {
  return server.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/email/${hooks.id}`,
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${hooks.secret}` },
    payload: raw,
  });
}

async function messagesAs(who: { auth: Record<string, string> }): Promise<Message[]> {
  const response = await api('GET', `/tickets/${ticket.id}`, who);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().messages;
}

const htmlId = () => `<html-${run}@customer.test>`;
// CRLF line ends and an 8-bit byte: the download must hand back these bytes exactly.
const htmlMail = () =>
  [
    `From: Rita Requester <${requesterEmail}>`,
    `To: hooks@${domain}`,
    `Subject: Re: [${ticket.number}] Printer on floor 3 is jammed`,
    `Message-ID: ${htmlId()}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/related; boundary="rel"',
    '',
    '--rel',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Here is a screenshot.',
    '',
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Here is a screenshot.<script>alert(1)</script> Grüße</p>',
    '<img src="x" onerror="alert(2)"><b onmouseover="alert(4)">bold</b>',
    '<a href="javascript:alert(3)">click</a>',
    '<img src="https://tracker.example/pixel.gif?u=1" width="1" height="1">',
    '<img src="cid:shot@customer.test" alt="screenshot">',
    '--alt--',
    '--rel',
    'Content-Type: image/png; name="shot.png"',
    'Content-Transfer-Encoding: base64',
    'Content-ID: <shot@customer.test>',
    'Content-Disposition: inline; filename="shot.png"',
    '',
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
    '--rel--',
    '',
  ].join('\r\n');

const gmailId = () => `<gmail-${run}@customer.test>`;
const gmailMail = () =>
  [
    `From: Rita Requester <${requesterEmail}>`,
    `To: hooks@${domain}`,
    `Subject: Re: [${ticket.number}] Printer on floor 3 is jammed`,
    `Message-ID: ${gmailId()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'It works again, thanks!',
    '',
    'Rita',
    '',
    `On Mon, 3 Mar 2025 at 10:15, Support <hooks@${domain}> wrote:`,
    '> Please switch it off and on again.',
    '>',
    '> Best, Support',
    '',
  ].join('\r\n');

beforeAll(async () => {
  server = await startTestApp({ MAIL_REPLY_SECRET: 'test-reply-secret-0123456789abcdef0123' });
  world = await ticketWorld(server.app);
  requesterEmail = (world.requester as unknown as { email: string }).email;
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: `hooks@${domain}`,
    name: 'Hooks',
    inboundMethod: 'api',
  });
  expect(created.statusCode, created.body).toBe(201);
  hooks = { id: created.json().id, secret: created.json().inboundSecret };
  ticket = await openTicket(server.app, world.requester);
  // On a team, so an agent of another team cannot see it.
  const moved = await api('PATCH', `/tickets/${ticket.id}`, world.agent, { teamId: world.teamId });
  expect(moved.statusCode, moved.body).toBe(200);
  for (const raw of [htmlMail(), gmailMail()]) {
    const response = await inject(raw);
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toMatchObject({ status: 'replied', ticketId: ticket.id });
  }
  const reply = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, { body: 'Glad to hear.' });
  expect(reply.statusCode, reply.body).toBe(201);
});
afterAll(async () => {
  await server?.close();
});

describe('reading mail in a ticket', () => {
  it('shows sanitized HTML without scripts, handlers, javascript: links or trackers', async () => {
    const messages = await messagesAs(world.agent);
    const message = messages.find((candidate) => candidate.email?.messageId === htmlId())!;
    expect(message.body).toBe('Here is a screenshot.');
    const html = message.email!.html!;
    expect(html).toContain('Here is a screenshot.');
    expect(html).toContain('<b>bold</b>');
    expect(html).toContain('Grüße');
    for (const forbidden of ['<script', 'alert(', 'onerror', 'onmouseover', 'javascript:', 'tracker.example'])
      expect(html).not.toContain(forbidden);
    // The inline image is one of the message's files, shown through the download route.
    const shot = message.attachments.find((attachment) => attachment.fileName === 'shot.png')!;
    expect(html).toContain(`src="/api/v1/attachments/${shot.id}"`);
    expect(html).not.toContain('cid:');
    const image = await api('GET', `/attachments/${shot.id}`, world.requester);
    expect(image.statusCode).toBe(200);
  });

  it('keeps the quoted history and signature of a Gmail reply out of the body', async () => {
    const messages = await messagesAs(world.agent);
    const message = messages.find((candidate) => candidate.email?.messageId === gmailId())!;
    expect(message.body).toBe('It works again, thanks!\n\nRita');
    expect(message.email).toMatchObject({ html: null, from: requesterEmail, hasRaw: true });
    expect(message.email!.quoted).toContain('wrote:');
    expect(message.email!.quoted).toContain('> Please switch it off and on again.');
    expect(message.body).not.toContain('switch it off');
  });

  it('tells agents why a mail landed here, and the requester only the view of their own mail', async () => {
    const agents = await messagesAs(world.agent);
    const mail = agents.find((candidate) => candidate.email?.messageId === htmlId())!;
    expect(mail.email!.decision).toBe(`subject number ${ticket.number}, sender is a participant`);
    expect(agents.find((candidate) => candidate.body === 'Glad to hear.')!.email).toBeNull();

    const requesters = await messagesAs(world.requester);
    const own = requesters.find((candidate) => candidate.email?.messageId === gmailId())!;
    expect(own.email!.quoted).toContain('> Please switch it off and on again.');
    expect(own.email).not.toHaveProperty('decision');
    expect(own.email).not.toHaveProperty('hasRaw');
    const html = requesters.find((candidate) => candidate.email?.messageId === htmlId())!;
    expect(html.email!.html).toContain('Here is a screenshot.');
  });

  it('reads the mail records of a whole conversation in one lookup', async () => {
    const lookup = vi.spyOn(server.domain.email.inbound, 'receivedMail');
    try {
      await messagesAs(world.agent);
      expect(lookup).toHaveBeenCalledTimes(1);
      expect([...lookup.mock.calls[0]![2]].sort()).toEqual([gmailId(), htmlId()].sort());
    } finally {
      lookup.mockRestore();
    }
  });

  it('downloads the original .eml byte for byte, for agents who may see the ticket only', async () => {
    const message = (await messagesAs(world.agent)).find(
      (candidate) => candidate.email?.messageId === htmlId(),
    )!;
    const url = `/tickets/${ticket.id}/messages/${message.id}/raw`;
    const response = await api('GET', url, world.agent);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('message/rfc822');
    expect(response.headers['content-disposition']).toBe(
      `attachment; filename="html-${run}@customer.test.eml"`,
    );
    expect(response.rawPayload.equals(Buffer.from(htmlMail()))).toBe(true);

    expect((await api('GET', url, world.requester)).statusCode).toBe(403);
    expect((await api('GET', url, world.outsider)).statusCode).toBe(404);
    const web = (await messagesAs(world.agent)).find((candidate) => candidate.body === 'Glad to hear.')!;
    expect((await api('GET', `/tickets/${ticket.id}/messages/${web.id}/raw`, world.agent)).statusCode).toBe(
      404,
    );
    const other = await openTicket(server.app, world.requester2);
    expect(
      (await api('GET', `/tickets/${other.id}/messages/${message.id}/raw`, world.agent)).statusCode,
    ).toBe(404);
  });

  it('downloads the mail that opened a ticket, which has no message of its own', async () => {
    const openingId = `<opening-${run}@customer.test>`;
    const opening = [
      `From: Rita Requester <${requesterEmail}>`,
      `To: hooks@${domain}`,
      'Subject: Badge reader at the back door',
      `Message-ID: ${openingId}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'It beeps but the door stays shut.',
      '',
    ].join('\r\n');
    const response = await inject(opening);
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toMatchObject({ status: 'created', ticketMessageId: null });
    const ticketId = response.json().ticketId;
    // On a team, so an agent of another team cannot see it.
    const moved = await api('PATCH', `/tickets/${ticketId}`, world.agent, { teamId: world.teamId });
    expect(moved.statusCode, moved.body).toBe(200);

    const url = `/tickets/${ticketId}/mail/raw`;
    const download = await api('GET', url, world.agent);
    expect(download.statusCode, download.body).toBe(200);
    expect(download.headers['content-type']).toBe('message/rfc822');
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="opening-${run}@customer.test.eml"`,
    );
    expect(download.rawPayload.equals(Buffer.from(opening))).toBe(true);
    expect((await api('GET', url, world.requester)).statusCode).toBe(403);
    expect((await api('GET', url, world.outsider)).statusCode).toBe(404);
    // A ticket opened on the web came by no mail.
    expect((await api('GET', `/tickets/${ticket.id}/mail/raw`, world.agent)).statusCode).toBe(404);
  });

  it('keeps a mail larger than the inline limit as a file, and downloads it the same way', async () => {
    const largeId = `<large-${run}@customer.test>`;
    const line = 'The log of the failing backup job follows, line after line.';
    const large = [
      `From: Rita Requester <${requesterEmail}>`,
      `To: hooks@${domain}`,
      'Subject: Backup log',
      `Message-ID: ${largeId}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      ...Array.from({ length: Math.ceil(INLINE_RAW_MAX_BYTES / line.length) + 10 }, () => line),
      '',
    ].join('\r\n');
    expect(Buffer.byteLength(large)).toBeGreaterThan(INLINE_RAW_MAX_BYTES);
    const response = await inject(large);
    expect(response.statusCode, response.body).toBe(202);
    const [row] = await server.platform.database.transaction((tx) =>
      tx.select().from(emailTables.emailMessages).where(eq(emailTables.emailMessages.messageId, largeId)),
    );
    expect(row!.rawContent).toBeNull();
    expect(row!.rawStorageKey).toMatch(/^email\/.+\.eml$/);
    expect((await server.platform.storage.stat(row!.rawStorageKey!))?.size).toBe(Buffer.byteLength(large));

    const download = await api('GET', `/tickets/${response.json().ticketId}/mail/raw`, world.agent);
    expect(download.statusCode, download.body).toBe(200);
    expect(download.headers['content-type']).toBe('message/rfc822');
    expect(download.rawPayload.equals(Buffer.from(large))).toBe(true);
  });
});
