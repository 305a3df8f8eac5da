import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';
import { ingested, mailboxApi, rawMail, receivedMail } from './imap-support.js';

const run = randomUUID().slice(0, 8);
const domain = `imap-staff-${run}.test`;
const group = `support@${domain}`;
const carol = `carol-${run}@customer.test`;
const USER = 'groupbox';
const PASSWORD = `pw-${run}`;

let dovecot: Dovecot;
let server: TestApp;
let world: TicketWorld;
let agentEmail: string;
let mailboxId: string;
const api = apiClient(() => server.app);
const mailboxes = mailboxApi(
  () => server.app,
  () => world.admin,
);

interface Delivery {
  kind: string;
  to: string;
  inReplyTo: string | null;
}

/** Deliveries of a ticket once every event so far has been planned (relay and email queue idle). */
async function settledDeliveries(ticketId: string): Promise<Delivery[]> {
  await until(async () => {
    if ((await server.platform.relay.pendingCount()) > 0) return false;
    const email = (await server.platform.jobs.counts()).email;
    return !email || email.waiting + email.active + email.delayed === 0;
  });
  const response = await api('GET', `/tickets/${ticketId}/email-deliveries`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

async function ticketOf(id: string) {
  const response = await api('GET', `/tickets/${id}`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** An agent's answer as Google Groups hands it on: From rewritten to the group (DMARC). */
function agentViaGroup(label: string, inReplyTo: string, recipients: { to: string; cc?: string }) {
  const messageId = `<${label}-${run}@mail.company.test>`;
  return {
    messageId,
    raw: rawMail({
      from: `"Alex Agent via Support" <${group}>`,
      to: recipients.to,
      subject: 'Re: Printer on fire',
      body: `Answer ${label}: try turning it off.`,
      messageId,
      inReplyTo,
      headers: {
        ...(recipients.cc ? { Cc: recipients.cc } : {}),
        'List-Id': `<support.${domain}>`,
        'X-Original-Sender': agentEmail,
        'X-Original-From': `Alex Agent <${agentEmail}>`,
        'Reply-To': `Alex Agent <${agentEmail}>`,
      },
    }),
  };
}

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD } });
  server = await startTestApp({
    MAIL_REPLY_SECRET: `imap-staff-secret-${run}-0123456789abcdef`,
    IMAP_RECONCILE_INTERVAL_MS: '200',
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  agentEmail = (world.agent as unknown as { email: string }).email;
  await dovecot.append(
    USER,
    PASSWORD,
    'Sent',
    rawMail({ from: group, to: carol, subject: 'x', body: 'x', messageId: `<old-${run}@x>` }),
  );
  const created = await mailboxes.create({
    address: group,
    name: 'Support group',
    teamId: world.teamId,
    inboundMethod: 'imap',
    googleGroup: true,
    imap: {
      host: dovecot.host,
      port: dovecot.port,
      tls: 'none',
      username: USER,
      password: PASSWORD,
      sentFolder: 'Sent',
      pollIntervalSeconds: 5,
    },
  });
  mailboxId = created.id;
  await server.domain.email.imap.start();
  await mailboxes.status(mailboxId, 'idle');
});
afterAll(async () => {
  await server?.domain.email.imap.stop();
  await server?.close();
  await dovecot?.stop();
});

describe('staff replying from their own mail client (Google Groups mode)', () => {
  const customerMail = `<fire-${run}@customer.test>`;
  let ticketId: string;

  it('records an agent reply-all as the agent public reply, without mailing it again', async () => {
    await dovecot.append(
      USER,
      PASSWORD,
      'INBOX',
      rawMail({
        from: `Carol Customer <${carol}>`,
        to: group,
        subject: 'Printer on fire',
        body: 'It is on fire.',
        messageId: customerMail,
      }),
    );
    ticketId = (await ingested(server.platform, customerMail)).ticketId!;

    const answer = agentViaGroup('reply-all', customerMail, { to: carol, cc: group });
    await dovecot.append(USER, PASSWORD, 'INBOX', answer.raw);
    const row = await ingested(server.platform, answer.messageId);
    expect(row).toMatchObject({ ticketId, fromAddress: agentEmail });
    expect(row.decision).toContain('sent to the requester by the agent');

    const ticket = await ticketOf(ticketId);
    const message = ticket.messages.find((candidate: { id: string }) => candidate.id === row.ticketMessageId);
    expect(message).toMatchObject({ isInternal: false, author: { id: world.agent.id } });
    expect(ticket.firstResponseAt).toBeTruthy();
    const deliveries = await settledDeliveries(ticketId);
    expect(deliveries.map((delivery) => delivery.kind)).toEqual(['ack']);
  });

  it('still mails the requester an agent reply that did not go to them', async () => {
    const answer = agentViaGroup('group-only', customerMail, { to: group });
    await dovecot.append(USER, PASSWORD, 'INBOX', answer.raw);
    const row = await ingested(server.platform, answer.messageId);
    expect(row.decision).not.toContain('sent to the requester');
    const deliveries = await settledDeliveries(ticketId);
    expect(deliveries.filter((delivery) => delivery.kind === 'reply')).toEqual([
      expect.objectContaining({ to: carol, inReplyTo: answer.messageId }),
    ]);
  });

  it('takes an agent reply from the sent folder once, also when the group copy arrives too', async () => {
    const messageId = `<sent-${run}@mail.company.test>`;
    const sent = rawMail({
      from: `Alex Agent <${agentEmail}>`,
      to: carol,
      subject: 'Re: Printer on fire',
      body: 'Sent from my own client.',
      messageId,
      inReplyTo: customerMail,
    });
    const before = (await ticketOf(ticketId)).messages.length;
    await dovecot.append(USER, PASSWORD, 'Sent', sent);
    // The sent folder is read at the poll interval (5 s here).
    const row = await ingested(server.platform, messageId, 20_000);
    expect(row).toMatchObject({
      ticketId,
      decision: expect.stringContaining('sent to the requester by the agent'),
    });
    // The copy the group delivers to the inbox is the same message.
    await dovecot.append(USER, PASSWORD, 'INBOX', sent);
    await until(
      async () => (await server.platform.metrics.registry.metrics()).includes('result="duplicate"'),
      20_000,
    );
    const ticket = await ticketOf(ticketId);
    expect(ticket.messages).toHaveLength(before + 1);
    expect(ticket.messages.at(-1)).toMatchObject({
      body: 'Sent from my own client.',
      author: { id: world.agent.id },
    });
    // Only the reply of the previous test was mailed.
    const replies = (await settledDeliveries(ticketId)).filter((delivery) => delivery.kind === 'reply');
    expect(replies).toHaveLength(1);
  });

  it('opens the ticket for the real customer when the group rewrote their mail ("via" From)', async () => {
    const dave = `dave-${run}@customer.test`;
    const messageId = `<rewritten-${run}@customer.test>`;
    await dovecot.append(
      USER,
      PASSWORD,
      'INBOX',
      rawMail({
        // What Google Groups delivers for a sender whose domain publishes DMARC p=reject.
        from: `"Dave Customer via Support" <${group}>`,
        to: group,
        subject: 'VPN drops every hour',
        body: 'Since Monday.',
        messageId,
        headers: {
          'List-Id': `<support.${domain}>`,
          'X-Original-Sender': dave,
          'Reply-To': `Dave Customer <${dave}>`,
        },
      }),
    );
    const row = await ingested(server.platform, messageId);
    expect(row).toMatchObject({ fromAddress: dave });
    const ticket = await ticketOf(row.ticketId!);
    expect(ticket).toMatchObject({ title: 'VPN drops every hour', channel: 'email' });
    expect(ticket.requester).toMatchObject({ email: dave, name: 'Dave Customer' });
    const deliveries = await settledDeliveries(row.ticketId!);
    expect(deliveries).toEqual([expect.objectContaining({ kind: 'ack', to: dave })]);
  });

  it('ignores sent mail that answers no ticket, and what was in the sent folder before', async () => {
    const messageId = `<elsewhere-${run}@mail.company.test>`;
    await dovecot.append(
      USER,
      PASSWORD,
      'Sent',
      rawMail({
        from: agentEmail,
        to: `friend-${run}@elsewhere.test`,
        subject: 'Lunch?',
        body: 'At noon?',
        messageId,
      }),
    );
    const row = await ingested(server.platform, messageId, 20_000);
    expect(row).toMatchObject({
      ticketId: null,
      decision: 'ignored: sent mail that is no agent reply to a ticket',
    });
    expect(await receivedMail(server.platform, `<old-${run}@x>`)).toBeUndefined();
  });
});
