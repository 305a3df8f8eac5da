import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { CapturingSmtp } from '../support/smtp-capture.js';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

const smtp = new CapturingSmtp();
let server: TestApp;
let world: TicketWorld;
const api = apiClient(() => server.app);
const SECRET = 'test-reply-secret-0123456789abcdef0123';

interface Delivery {
  id: string;
  kind: string;
  status: string;
  to: string;
  messageId: string;
  inReplyTo: string | null;
  attempts: number;
  smtpResponse: string | null;
  lastError: string | null;
}

/** A session's address (createUser returns it; the world's Session type leaves it out). */
const emailOf = (session: object) => (session as { email: string }).email.toLowerCase();

async function deliveriesOf(ticketId: string): Promise<Delivery[]> {
  const response = await api('GET', `/tickets/${ticketId}/email-deliveries`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

async function mailsTo(address: string, count: number): Promise<ParsedMail[]> {
  return until(async () => {
    const mails = await smtp.to(address);
    return mails.length >= count ? mails : undefined;
  });
}

beforeAll(async () => {
  const port = await smtp.listen();
  server = await startTestApp({
    SMTP_URL: `smtp://mailer:s3cret@127.0.0.1:${port}`,
    MAIL_REPLY_SECRET: SECRET,
    MAIL_RETRY_BACKOFF_MS: '50',
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: 'Support@Acme.test',
    name: 'Acme Support',
    inboundMethod: 'smtp',
  });
  expect(created.statusCode, created.body).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await smtp.close();
});

describe('outbound mail', () => {
  let ticket: { id: string; number: string };
  let ack: ParsedMail;

  it('acknowledges a new ticket to its requester, with a reply token and our Message-ID', async () => {
    const requesterEmail = emailOf(world.requester);
    ticket = await openTicket(server.app, world.requester, { title: 'VPN drops every hour' });
    ack = (await mailsTo(requesterEmail, 1))[0]!;
    expect(ack!.from?.value[0]).toMatchObject({ address: 'support@acme.test', name: 'Acme Support' });
    expect(ack!.to).toMatchObject({ value: [{ address: requesterEmail }] });
    expect(ack!.subject).toBe(`[${ticket.number}] VPN drops every hour`);
    expect(ack!.messageId).toMatch(/^<[0-9a-f-]{36}@acme\.test>$/);
    expect(ack!.inReplyTo).toBeUndefined();
    expect(ack!.text).toContain(ticket.number);
    const replyTo = ack!.replyTo?.value[0]?.address ?? '';
    const token = /^support\+t-([a-z2-7]+)@acme\.test$/.exec(replyTo)?.[1];
    expect(token, replyTo).toBeDefined();
    expect(server.domain.email.tokens.verify(world.admin.orgId, token!)).toBe(ticket.id);
    // Another last MAC character (one that differs: the token may already end in "a").
    const tampered = `${token!.slice(0, -1)}${token!.endsWith('a') ? 'b' : 'a'}`;
    expect(server.domain.email.tokens.verify(world.admin.orgId, tampered)).toBeUndefined();

    const deliveries = await until(async () => {
      const rows = await deliveriesOf(ticket.id);
      return rows[0]?.status === 'sent' ? rows : undefined;
    });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ kind: 'ack', attempts: 1, messageId: ack!.messageId });
    expect(deliveries[0]!.smtpResponse).toMatch(/^250/);
  });

  it('threads an agent reply behind the acknowledgement and never mails an internal note', async () => {
    const requesterEmail = emailOf(world.requester);
    const note = await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
      body: 'Internal: probably the firewall lease timer',
    });
    expect(note.statusCode, note.body).toBe(201);
    const reply = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Could you send us the client log?',
    });
    expect(reply.statusCode, reply.body).toBe(201);
    const mails = await mailsTo(requesterEmail, 2);
    const answer = mails[1]!;
    expect(answer.text).toContain('Could you send us the client log?');
    expect(answer.subject).toBe(ack.subject);
    expect(answer.inReplyTo).toBe(ack.messageId);
    expect(answer.references).toEqual(ack.messageId);
    expect(answer.replyTo?.text).toBe(ack.replyTo?.text);

    // The note's plan job ran before the reply's (same queue, earlier event): still nothing.
    const deliveries = await until(async () => {
      const rows = await deliveriesOf(ticket.id);
      return rows.every((row) => row.status === 'sent') && rows.length === 2 ? rows : undefined;
    });
    expect(deliveries.map((row) => row.kind)).toEqual(['reply', 'ack']);
    expect(smtp.received.some((mail) => mail.raw.toString().includes('firewall lease'))).toBe(false);
  });

  it('retries a refused send, then records it failed with the answer and leaves a dead letter', async () => {
    const email = emailOf(world.requester2);
    smtp.refused.add(email);
    const refusedTicket = await openTicket(server.app, world.requester2);
    const [delivery] = await until(async () => {
      const rows = await deliveriesOf(refusedTicket.id);
      return rows[0]?.status === 'failed' ? rows : undefined;
    });
    expect(delivery).toMatchObject({ kind: 'ack', attempts: 5 });
    expect(delivery!.smtpResponse).toMatch(/^550/);
    expect(delivery!.smtpResponse).toContain("Recipient's mailbox unavailable");
    expect(delivery!.lastError).toContain('550');
    const deadLetters = await until(async () => {
      const response = await api('GET', '/admin/jobs/dead-letters', world.admin);
      const rows = response.json().data as Array<{ jobName: string; payload: { deliveryId?: string } }>;
      return rows.some((row) => row.jobName === 'email.send') ? rows : undefined;
    });
    expect(deadLetters.find((row) => row.jobName === 'email.send')?.payload).toMatchObject({
      orgId: world.admin.orgId,
    });
    expect(await smtp.to(email)).toHaveLength(0);
  });

  it('plans nothing for an organisation without a mailbox, or for a replayed event', async () => {
    const other = await ticketWorld(server.app);
    const quiet = await openTicket(server.app, other.requester);
    const envelope = {
      id: 'replayed-event',
      event: 'ticket.created',
      orgId: other.admin.orgId,
      aggregateType: 'ticket',
      aggregateId: quiet.id,
      actorId: null,
      requestId: null,
      payload: {},
      createdAt: new Date().toISOString(),
    };
    const payload = {
      eventId: '00000000-0000-7000-8000-000000000000',
      type: 'created',
      number: quiet.number,
      status: 'new',
      priority: 'medium',
      teamId: null,
      assigneeId: null,
      requesterId: other.requester.id,
      isInternal: false,
      changes: {},
      data: {},
    };
    expect(await server.domain.email.outbound.plan(envelope, payload)).toEqual([]);

    // "No mailbox" is remembered; a mailbox added later is seen at once (its eviction).
    const added = await api('POST', '/admin/mailboxes', other.admin, {
      address: 'help@quiet.test',
      name: 'Quiet Help',
      inboundMethod: 'smtp',
    });
    expect(added.statusCode, added.body).toBe(201);
    const later = { ...envelope, id: 'after-the-mailbox' };
    expect(await server.domain.email.outbound.plan(later, payload)).toHaveLength(1);

    // In an organisation with a mailbox, planning one event twice yields one delivery.
    const again = await openTicket(server.app, world.requester, { title: 'Replay me' });
    const replayed = { ...envelope, orgId: world.admin.orgId, aggregateId: again.id, id: 'replay-1' };
    const first = await server.domain.email.outbound.plan(replayed, payload);
    const second = await server.domain.email.outbound.plan(replayed, payload);
    expect(first).toHaveLength(1);
    expect(second).toEqual(first);

    // A send naming another organisation finds nothing: the delivery stays queued, unsent.
    await server.domain.email.outbound.send(other.admin.orgId, first[0]!.id, { number: 1, last: false });
    expect((await deliveriesOf(again.id)).find((delivery) => delivery.id === first[0]!.id)).toMatchObject({
      status: 'queued',
      attempts: 0,
    });
  });
});

describe('mailbox administration', () => {
  it('creates, lists, changes and deletes mailboxes; an api mailbox shows its secret once', async () => {
    const created = await api('POST', '/admin/mailboxes', world.admin, {
      address: 'network@acme.test',
      name: 'Network',
      teamId: world.otherTeamId,
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({
      inboundMethod: 'api',
      teamId: world.otherTeamId,
      isDefault: false,
      outboundFromAddress: 'network@acme.test',
      reopenResolved: true,
    });
    expect(body.inboundSecret).toMatch(/^sb_mbx_/);
    const read = await api('GET', `/admin/mailboxes/${body.id}`, world.admin);
    expect(read.json()).not.toHaveProperty('inboundSecret');

    const list = await api('GET', '/admin/mailboxes', world.admin);
    expect(list.json().data.map((row: { address: string }) => row.address)).toContain('support@acme.test');

    const moved = await api('PATCH', `/admin/mailboxes/${body.id}`, world.admin, {
      isDefault: true,
      outboundFromName: 'Acme Network',
    });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ isDefault: true, outboundFromName: 'Acme Network' });
    const defaults = (await api('GET', '/admin/mailboxes', world.admin))
      .json()
      .data.filter((row: { isDefault: boolean }) => row.isDefault);
    expect(defaults).toHaveLength(1);

    expect((await api('DELETE', `/admin/mailboxes/${body.id}`, world.admin)).statusCode).toBe(204);
    expect((await api('GET', `/admin/mailboxes/${body.id}`, world.admin)).statusCode).toBe(404);
    // Give the default back for the other tests.
    const support = (await api('GET', '/admin/mailboxes', world.admin)).json().data[0];
    await api('PATCH', `/admin/mailboxes/${support.id}`, world.admin, { isDefault: true });
  });

  it('names the field of a bad address or unknown team (422), refuses a duplicate (409) and non-admins (403)', async () => {
    const bad = await api('POST', '/admin/mailboxes', world.admin, { address: 'not an address', name: 'X' });
    expect(bad.statusCode, bad.body).toBe(422);
    expect(bad.json().details).toHaveProperty('address');

    const tagged = await api('POST', '/admin/mailboxes', world.admin, {
      address: 'a+b@acme.test',
      name: 'X',
    });
    expect(tagged.statusCode).toBe(422);

    const badFrom = await api('POST', '/admin/mailboxes', world.admin, {
      address: 'ok@acme.test',
      name: 'X',
      outboundFromAddress: 'nope',
    });
    expect(badFrom.statusCode).toBe(422);
    expect(badFrom.json().details).toHaveProperty('outboundFromAddress');

    const team = await api('POST', '/admin/mailboxes', world.admin, {
      address: 'team@acme.test',
      name: 'X',
      teamId: '00000000-0000-7000-8000-000000000000',
    });
    expect(team.statusCode).toBe(422);
    expect(team.json().details).toHaveProperty('teamId');

    const duplicate = await api('POST', '/admin/mailboxes', world.admin, {
      address: 'SUPPORT@acme.test',
      name: 'Again',
    });
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json().details).toHaveProperty('address');

    expect((await api('GET', '/admin/mailboxes', world.agent)).statusCode).toBe(403);
    expect(
      (await api('POST', '/admin/mailboxes', world.lead, { address: 'lead@acme.test', name: 'L' }))
        .statusCode,
    ).toBe(403);
    expect(
      (
        await api(
          'GET',
          `/tickets/${'0'.repeat(8)}-0000-7000-8000-000000000000/email-deliveries`,
          world.requester,
        )
      ).statusCode,
    ).toBe(403);
  });
});
