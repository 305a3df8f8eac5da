import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { eq } from 'drizzle-orm';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTables } from '../../src/server/modules/email/index.js';
import { identityTables } from '../../src/server/modules/identity/index.js';
import { ticketTables } from '../../src/server/modules/tickets/index.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { freePort } from '../support/process.js';
import { until } from '../support/wait.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';

const SECRET = 'test-reply-secret-0123456789abcdef0123';
const MAX_BYTES = 200_000;
const run = randomUUID().slice(0, 8);
const domain = `inbound-${run}.test`;
const support = `support@${domain}`;
const sales = `sales@${domain}`;
const carol = `carol-${run}@customer.test`;
const stranger = `mallory-${run}@elsewhere.test`;

let server: TestApp;
let world: TicketWorld;
let smtpPort: number;
let hooks: { id: string; secret: string };
let groupsMailboxId: string;
const api = apiClient(() => server.app);

interface Ticket {
  id: string;
  number: string;
  title: string;
  status: string;
  channel: string;
  team: { id: string } | null;
  requester: { id: string; email?: string; name: string } | null;
  messages: Array<{ id: string; body: string; isInternal: boolean; byAgent: boolean }>;
  links: Array<{ id?: string; ticketId?: string }>;
}

function send(mail: SendMailOptions) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  return transport.sendMail(mail).finally(() => transport.close());
}

/** The stored record of a received Message-ID. */
async function received(messageId: string) {
  const rows = await server.platform.database.transaction((tx) =>
    tx.select().from(emailTables.emailMessages).where(eq(emailTables.emailMessages.messageId, messageId)),
  );
  return rows;
}

async function ticket(id: string): Promise<Ticket> {
  const response = await api('GET', `/tickets/${id}`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

function inject(mailboxId: string, raw: string | Buffer, secret: string | undefined) {
  return server.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/email/${mailboxId}`,
    headers: { 'content-type': 'message/rfc822', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
    payload: raw,
  });
}

beforeAll(async () => {
  smtpPort = await freePort();
  server = await startTestApp({
    SMTP_LISTEN_PORT: String(smtpPort),
    SMTP_LISTEN_MAX_BYTES: String(MAX_BYTES),
    MAIL_REPLY_SECRET: SECRET,
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const mailbox = async (payload: Record<string, unknown>) => {
    const response = await api('POST', '/admin/mailboxes', world.admin, payload);
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  };
  await mailbox({ address: support, name: 'Support', teamId: world.teamId, inboundMethod: 'smtp' });
  await mailbox({ address: sales, name: 'Sales', inboundMethod: 'smtp' });
  const created = await mailbox({ address: `hooks@${domain}`, name: 'Hooks', inboundMethod: 'api' });
  hooks = { id: created.id, secret: created.inboundSecret };
  groupsMailboxId = (
    await mailbox({ address: `groups@${domain}`, name: 'Groups', inboundMethod: 'smtp', googleGroup: true })
  ).id;
});
afterAll(async () => {
  await server?.close();
});

describe('inbound mail over SMTP', () => {
  let first: Ticket;

  it('opens a ticket for a new sender, with a new requester, the mailbox team and the subject', async () => {
    await send({
      from: `"Carol Customer" <${carol}>`,
      to: support,
      subject: 'Printer on fire',
      text: 'It is really on fire.',
      messageId: `<m1-${run}@customer.test>`,
    });
    const [row] = await received(`<m1-${run}@customer.test>`);
    expect(row).toMatchObject({ direction: 'in', decision: 'new ticket', kind: 'normal' });
    // A small mail's original is kept in its row, not as a file.
    expect(row!.rawStorageKey).toBeNull();
    expect(row!.rawContent?.toString('utf8')).toContain('It is really on fire.');
    first = await ticket(row!.ticketId!);
    expect(first).toMatchObject({ title: 'Printer on fire', channel: 'email', team: { id: world.teamId } });
    expect(first.requester).toMatchObject({ name: 'Carol Customer' });
    const users = await api('GET', `/admin/users?q=${encodeURIComponent(carol)}`, world.admin);
    expect(users.json().data).toMatchObject([{ email: carol, role: 'requester' }]);
  });

  it('threads a reply by In-Reply-To', async () => {
    await send({
      from: carol,
      to: support,
      subject: 'Re: Printer on fire',
      text: 'Still burning.\n\nOn Monday Carol wrote:\n> It is really on fire.',
      messageId: `<m2-${run}@customer.test>`,
      inReplyTo: `<m1-${run}@customer.test>`,
    });
    const [row] = await received(`<m2-${run}@customer.test>`);
    expect(row!.decision).toBe(`matched In-Reply-To <m1-${run}@customer.test>`);
    expect(row!.ticketId).toBe(first.id);
    const after = await ticket(first.id);
    expect(after.messages.map((message) => message.body)).toContain('Still burning.');
  });

  it('threads a reply through the reply token of the Reply-To address', async () => {
    const token = server.domain.email.tokens.issue(world.admin.orgId, first.id);
    await send({
      from: carol,
      to: `support+t-${token}@${domain}`,
      subject: 'something else entirely',
      text: 'By token.',
      messageId: `<m3-${run}@customer.test>`,
    });
    const [row] = await received(`<m3-${run}@customer.test>`);
    expect(row).toMatchObject({ decision: 'reply token', ticketId: first.id });
  });

  it('threads a subject number only when the sender takes part in the ticket', async () => {
    await send({
      from: stranger,
      to: support,
      subject: `About [${first.number}]`,
      text: 'I am not on this ticket.',
      messageId: `<s1-${run}@elsewhere.test>`,
    });
    const [strangers] = await received(`<s1-${run}@elsewhere.test>`);
    expect(strangers!.ticketId).not.toBe(first.id);
    expect(strangers!.decision).toContain('not a participant');
    await send({
      from: carol,
      to: support,
      subject: `Re: [${first.number}] Printer on fire`,
      text: 'By number.',
      messageId: `<s2-${run}@customer.test>`,
    });
    const [carols] = await received(`<s2-${run}@customer.test>`);
    expect(carols).toMatchObject({ ticketId: first.id });
    expect(carols!.decision).toContain('subject number');
  });

  it('keeps one message for a mail delivered twice and to two mailboxes', async () => {
    const mail = {
      from: carol,
      subject: 'Twice',
      text: 'Once only, please.',
      messageId: `<dup-${run}@customer.test>`,
    };
    await send({ ...mail, to: [support, sales] });
    await send({ ...mail, to: support });
    const rows = await received(`<dup-${run}@customer.test>`);
    expect(rows).toHaveLength(1);
    const created = await ticket(rows[0]!.ticketId!);
    expect(created.messages).toHaveLength(0);
  });

  it('drops an auto-reply that matches nothing, and notes one that matches, without acknowledging', async () => {
    await send({
      from: carol,
      to: support,
      subject: 'Automatic reply: Hello',
      text: 'I am out of office.',
      headers: { 'Auto-Submitted': 'auto-replied' },
      messageId: `<ooo1-${run}@customer.test>`,
    });
    const [dropped] = await received(`<ooo1-${run}@customer.test>`);
    expect(dropped).toMatchObject({ kind: 'auto_reply', ticketId: null });
    expect(dropped!.decision).toContain('dropped');

    const before = await api('GET', `/tickets/${first.id}/email-deliveries`, world.agent);
    await send({
      from: carol,
      to: support,
      subject: 'Automatic reply: Printer on fire',
      text: 'I am out of office.',
      headers: { 'Auto-Submitted': 'auto-replied' },
      messageId: `<ooo2-${run}@customer.test>`,
      inReplyTo: `<m1-${run}@customer.test>`,
    });
    const [noted] = await received(`<ooo2-${run}@customer.test>`);
    expect(noted).toMatchObject({ kind: 'auto_reply', ticketId: first.id });
    const after = await ticket(first.id);
    const note = after.messages.find((message) => message.id === noted!.ticketMessageId);
    expect(note).toMatchObject({ isInternal: true });
    const deliveries = await api('GET', `/tickets/${first.id}/email-deliveries`, world.agent);
    expect(deliveries.json().data).toHaveLength(before.json().data.length);
  });

  it('records a bounce on the ticket of the mail it refers to, naming the failed recipient', async () => {
    const ack = await until(async () => {
      const response = await api('GET', `/tickets/${first.id}/email-deliveries`, world.agent);
      return response.json().data.find((delivery: { kind: string }) => delivery.kind === 'ack');
    });
    await send({
      from: `mailer-daemon@mx.customer.test`,
      to: support,
      subject: 'Undelivered Mail Returned to Sender',
      text: `Delivery to ${carol} failed.\n\nMessage-ID: ${ack.messageId}\n`,
      headers: { 'X-Failed-Recipients': carol },
      messageId: `<bounce-${run}@mx.customer.test>`,
    });
    const [row] = await received(`<bounce-${run}@mx.customer.test>`);
    expect(row).toMatchObject({ kind: 'bounce', ticketId: first.id });
    const after = await ticket(first.id);
    const note = after.messages.find((message) => message.id === row!.ticketMessageId);
    expect(note).toMatchObject({ isInternal: true });
    expect(note!.body).toContain(carol);
  });

  it('refuses an unknown recipient with 550', async () => {
    await expect(
      send({ from: carol, to: `nobody@${domain}`, subject: 'x', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 550 });
  });

  it('takes mail at a mailbox as soon as it exists and refuses it once renamed or removed', async () => {
    const before = `desk-${run}@${domain}`;
    const after = `helpdesk-${run}@${domain}`;
    const refused = (to: string) =>
      expect(send({ from: carol, to, subject: 'x', text: 'x' })).rejects.toMatchObject({ responseCode: 550 });
    const taken = async (to: string, id: string) => {
      await send({ from: carol, to, subject: id, text: 'x', messageId: `<${id}-${run}@c.test>` });
      expect(await received(`<${id}-${run}@c.test>`)).toHaveLength(1);
    };
    // Looked up before the mailbox exists: a miss is not remembered.
    await refused(before);
    const created = await api('POST', '/admin/mailboxes', world.admin, {
      address: before,
      name: 'Desk',
      inboundMethod: 'smtp',
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as string;
    await taken(before, 'desk1');

    const renamed = await api('PATCH', `/admin/mailboxes/${id}`, world.admin, { address: after });
    expect(renamed.statusCode, renamed.body).toBe(200);
    await refused(before);
    await taken(after, 'desk2');

    const removed = await api('DELETE', `/admin/mailboxes/${id}`, world.admin);
    expect(removed.statusCode, removed.body).toBe(204);
    await refused(after);
  });

  it('quarantines what it cannot ingest; an admin retries or discards it', async () => {
    await send({ envelope: { from: carol, to: [support] }, raw: 'this is not an e-mail at all\r\n' });
    await send({
      from: stranger,
      to: support,
      subject: 'Cheap pills',
      text: 'Buy now',
      headers: { 'X-Spam-Flag': 'YES' },
      messageId: `<spam-${run}@elsewhere.test>`,
    });
    const list = await api('GET', '/admin/email/quarantine?status=held', world.admin);
    expect(list.statusCode, list.body).toBe(200);
    const held: Array<{ id: string; reason: string }> = list.json().data;
    const garbage = held.find((row) => row.reason === 'unparseable')!;
    const spam = held.find((row) => row.reason === 'spam')!;
    expect(garbage && spam).toBeTruthy();
    expect((await api('GET', '/admin/email/quarantine', world.agent)).statusCode).toBe(403);

    const failed = await api('POST', `/admin/email/quarantine/${garbage.id}/retry`, world.admin);
    expect(failed.statusCode, failed.body).toBe(422);
    const discarded = await api('POST', `/admin/email/quarantine/${garbage.id}/discard`, world.admin);
    expect(discarded.json()).toMatchObject({ status: 'discarded' });
    expect((await api('POST', `/admin/email/quarantine/${garbage.id}/discard`, world.admin)).statusCode).toBe(
      409,
    );

    const released = await api('POST', `/admin/email/quarantine/${spam.id}/retry`, world.admin);
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json()).toMatchObject({ status: 'created', decision: 'new ticket' });
  });

  it('reopens a resolved ticket on a requester reply and follows up a closed one', async () => {
    const resolved = await api('POST', `/tickets/${first.id}/status`, world.agent, { status: 'resolved' });
    expect(resolved.statusCode, resolved.body).toBe(200);
    await send({
      from: carol,
      to: support,
      subject: 'Re: Printer on fire',
      text: 'It is back.',
      messageId: `<reopen-${run}@customer.test>`,
      inReplyTo: `<m1-${run}@customer.test>`,
    });
    expect((await ticket(first.id)).status).toBe('open');

    const closed = await api('POST', `/tickets/${first.id}/close`, world.agent);
    expect(closed.statusCode, closed.body).toBe(200);
    await send({
      from: carol,
      to: support,
      subject: 'Re: Printer on fire',
      text: 'And again.',
      messageId: `<followup-${run}@customer.test>`,
      inReplyTo: `<m1-${run}@customer.test>`,
    });
    const [row] = await received(`<followup-${run}@customer.test>`);
    expect(row!.ticketId).not.toBe(first.id);
    expect(row!.decision).toContain('follow-up');
    const followUp = await ticket(row!.ticketId!);
    expect(JSON.stringify(followUp.links)).toContain(first.id);
  });
});

describe('inbound mail over HTTP', () => {
  const raw = (messageId: string) =>
    [
      `From: Dave <dave-${run}@customer.test>`,
      `To: hooks@${domain}`,
      'Subject: Via the webhook',
      `Message-ID: ${messageId}`,
      '',
      'Hello over HTTP.',
      '',
    ].join('\r\n');

  it('authenticates with the inbound secret, ingests once and answers duplicates', async () => {
    const messageId = `<http-${run}@customer.test>`;
    expect((await inject(hooks.id, raw(messageId), 'wrong')).statusCode).toBe(401);
    expect((await inject(hooks.id, raw(messageId), undefined)).statusCode).toBe(401);
    const first = await inject(hooks.id, raw(messageId), hooks.secret);
    expect(first.statusCode, first.body).toBe(202);
    expect(first.json()).toMatchObject({ status: 'created', messageId, decision: 'new ticket' });
    const again = await server.app.inject({
      method: 'POST',
      url: `/api/v1/inbound/email/${hooks.id}?secret=${encodeURIComponent(hooks.secret)}`,
      headers: { 'content-type': 'message/rfc822' },
      payload: raw(messageId),
    });
    expect(again.statusCode, again.body).toBe(202);
    expect(again.json()).toMatchObject({ status: 'duplicate', ticketId: first.json().ticketId });
  });

  it('ingests a mail delivered several times at once exactly once, new or reply', async () => {
    const messageId = `<burst-${run}@customer.test>`;
    const title = `Burst ${run}`;
    const burst = (mail: string) =>
      Promise.all(Array.from({ length: 4 }, () => inject(hooks.id, mail, hooks.secret)));
    const opened = await burst(raw(messageId).replace('Via the webhook', title));
    expect(opened.map((answer) => answer.statusCode)).toEqual([202, 202, 202, 202]);
    expect(opened.map((answer) => answer.json().status).sort()).toEqual([
      'created',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    const ticketIds = new Set(opened.map((answer) => answer.json().ticketId));
    expect(ticketIds.size).toBe(1);
    const tickets = await server.platform.database.transaction((tx) =>
      tx
        .select({ id: ticketTables.tickets.id })
        .from(ticketTables.tickets)
        .where(eq(ticketTables.tickets.title, title)),
    );
    expect(tickets).toEqual([{ id: [...ticketIds][0] }]);

    const replyId = `<burst-reply-${run}@customer.test>`;
    const reply = raw(replyId)
      .replace('Subject: Via the webhook', `Subject: Re: ${title}\r\nIn-Reply-To: ${messageId}`)
      .replace('Hello over HTTP.', 'Any news on this?');
    const replied = await burst(reply);
    expect(replied.map((answer) => answer.json().status).sort()).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'replied',
    ]);
    expect(new Set(replied.map((answer) => answer.json().ticketId))).toEqual(ticketIds);
    const after = await ticket([...ticketIds][0] as string);
    expect(after.messages.filter((message) => message.body === 'Any news on this?')).toHaveLength(1);
    expect(await received(replyId)).toHaveLength(1);
  });

  it('makes one requester of a new sender whose mails arrive at once', async () => {
    const sender = `erin-${run}@customer.test`;
    const mails = Array.from({ length: 4 }, (_, index) =>
      raw(`<erin-${index}-${run}@customer.test>`).replace(
        `Dave <dave-${run}@customer.test>`,
        `Erin <${sender}>`,
      ),
    );
    const answers = await Promise.all(mails.map((mail) => inject(hooks.id, mail, hooks.secret)));
    expect(answers.map((answer) => answer.json().status)).toEqual([
      'created',
      'created',
      'created',
      'created',
    ]);
    const requesters = await Promise.all(
      answers.map(async (answer) => (await ticket(answer.json().ticketId)).requester?.id),
    );
    expect(new Set(requesters).size).toBe(1);
    const users = await server.platform.database.transaction((tx) =>
      tx
        .select({ id: identityTables.users.id })
        .from(identityTables.users)
        .where(eq(identityTables.users.email, sender)),
    );
    expect(users).toEqual([{ id: requesters[0] }]);
  });

  it('takes no ticket number for a mail it already has', async () => {
    const sequence = async (messageId: string) => {
      const answer = await inject(hooks.id, raw(messageId), hooks.secret);
      expect(answer.statusCode, answer.body).toBe(202);
      const { number } = await ticket(answer.json().ticketId);
      return Number(number.split('-').at(-1));
    };
    const first = await sequence(`<numbered-1-${run}@customer.test>`);
    expect(await sequence(`<numbered-1-${run}@customer.test>`)).toBe(first);
    expect(await sequence(`<numbered-1-${run}@customer.test>`)).toBe(first);
    expect(await sequence(`<numbered-2-${run}@customer.test>`)).toBe(first + 1);
  });

  it('answers 400 for a body that is no e-mail and 413 for one over the limit', async () => {
    expect((await inject(hooks.id, 'not a mail', hooks.secret)).statusCode).toBe(400);
    const big = `${raw(`<big-${run}@customer.test>`)}${'x'.repeat(MAX_BYTES)}`;
    expect((await inject(hooks.id, big, hooks.secret)).statusCode).toBe(413);
  });

  it('ignores our own outgoing mail fed back', async () => {
    const deliveries = await until(async () => {
      const list = await server.app.inject({
        method: 'GET',
        url: '/api/v1/tickets?limit=1',
        headers: world.agent.auth,
      });
      const id = list.json().data[0]?.id;
      if (!id) return undefined;
      const response = await api('GET', `/tickets/${id}/email-deliveries`, world.agent);
      return response.json().data.length > 0 ? response.json().data : undefined;
    });
    const own = deliveries[0].messageId as string;
    const response = await inject(hooks.id, raw(own), hooks.secret);
    expect(response.json()).toMatchObject({ status: 'ignored', decision: 'ignored: our own outgoing mail' });
  });

  it('takes the real customer of a Google Groups message as requester', async () => {
    const file = new URL('../fixtures/email/google-group-dmarc.eml', import.meta.url);
    const response = await inject(groupsMailboxId, fs.readFileSync(file), undefined);
    expect(response.statusCode).toBe(401);
    await send({
      envelope: { from: 'support@company.example', to: [`groups@${domain}`] },
      raw: fs.readFileSync(file),
    });
    const [row] = await received('<google-group-dmarc@customer.example>');
    expect(row!.fromAddress).toBe('jane@customer.example');
    const created = await ticket(row!.ticketId!);
    expect(created.requester).toMatchObject({ name: 'Jane Doe' });
  });
});
