import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { CapturingSmtp } from '../support/smtp-capture.js';
import { until } from '../support/wait.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';

/*
 * One sender floods a mailbox: the first INBOUND_MAIL_RATE_MAX mails of the window become
 * tickets, the rest wait in quarantine, and nobody is mailed for them. The window is short
 * here so that its end can be waited for; the flood takes a fraction of it.
 */

const MAX = 3;
const WINDOW_SECONDS = 8;
const SECRET = 'test-reply-secret-0123456789abcdef0123';
const run = randomUUID().slice(0, 8);
const mailbox = `support@rate-${run}.test`;
const flooder = `flood-${run}@noisy.example`;
const colleague = `calm-${run}@quiet.example`;

const smtp = new CapturingSmtp();
let server: TestApp;
let world: TicketWorld;
let hooks: { id: string; secret: string };
const api = apiClient(() => server.app);

interface Result {
  status: string;
  ticketId: string | null;
  messageId: string | null;
  decision: string;
  quarantineId?: string;
}
interface Held {
  id: string;
  reason: string;
  error: string | null;
  status: string;
}

async function deliver(from: string, label: string): Promise<Result> {
  const raw = [
    `From: ${from}`,
    `To: ${mailbox}`,
    `Subject: ${label}`,
    `Message-ID: <${label}-${run}@mail.example>`,
    'Date: Tue, 14 Nov 2026 10:00:00 +0000',
    '',
    `This is ${label}.`,
    '',
  ].join('\r\n');
  const response = await server.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/email/${hooks.id}`,
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${hooks.secret}` },
    payload: raw,
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json();
}

async function heldMail(): Promise<Held[]> {
  const response = await api('GET', '/admin/email/quarantine?status=held', world.admin);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

/** Acknowledgements mailed to `address`, once at least `count` have arrived. */
function acks(address: string, count: number) {
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
    INBOUND_MAIL_RATE_MAX: String(MAX),
    INBOUND_MAIL_RATE_WINDOW_SECONDS: String(WINDOW_SECONDS),
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: mailbox,
    name: 'Support',
    teamId: world.teamId,
    inboundMethod: 'api',
  });
  expect(created.statusCode, created.body).toBe(201);
  hooks = { id: created.json().id, secret: created.json().inboundSecret };
});
afterAll(async () => {
  await server?.close();
  await smtp.close();
});

describe('per-sender rate limit of a mailbox', () => {
  const flood: Result[] = [];
  const calm: Result[] = [];

  it('turns the first mails of a flood into tickets and holds the rest in quarantine as rate limited', async () => {
    for (let index = 1; index <= MAX + 3; index++) {
      flood.push(await deliver(flooder, `flood-${index}`));
      // Another sender writes to the same mailbox in between.
      if (index % 2 === 0) calm.push(await deliver(colleague, `calm-${index}`));
    }
    expect(flood.slice(0, MAX).map((result) => result.status)).toEqual(Array(MAX).fill('created'));
    expect(flood.slice(MAX).map((result) => result.status)).toEqual(Array(3).fill('quarantined'));
    for (const result of flood.slice(MAX)) expect(result.decision).toBe('quarantined: rate_limited');

    const held = await heldMail();
    const ids = flood.slice(MAX).map((result) => result.quarantineId);
    const ours = held.filter((row) => ids.includes(row.id));
    expect(ours).toHaveLength(3);
    for (const row of ours) {
      expect(row.reason).toBe('rate_limited');
      expect(row.error).toContain(flooder);
    }
  });

  it('leaves another sender to the same mailbox alone', () => {
    expect(calm.map((result) => result.status)).toEqual(['created', 'created', 'created']);
  });

  it('acknowledges only the mails that became tickets', async () => {
    await acks(colleague, calm.length);
    const mails = await acks(flooder, MAX);
    // Held mail opened no ticket, so nothing was planned for it.
    expect(mails).toHaveLength(MAX);
    const numbers = await Promise.all(
      flood.slice(0, MAX).map(async (result) => {
        const response = await api('GET', `/tickets/${result.ticketId}`, world.agent);
        return response.json().number as string;
      }),
    );
    expect(mails.map((mail) => numbers.find((number) => mail.subject?.includes(number))).sort()).toEqual(
      [...numbers].sort(),
    );
  });

  it('ingests a held mail that an admin releases, even within the window', async () => {
    const released = await api(
      'POST',
      `/admin/email/quarantine/${flood[MAX]!.quarantineId}/retry`,
      world.admin,
    );
    expect(released.statusCode, released.body).toBe(200);
    expect(released.json()).toMatchObject({
      status: 'created',
      messageId: `<flood-${MAX + 1}-${run}@mail.example>`,
    });
    await acks(flooder, MAX + 1);
  });

  it('takes the sender again after the window, and an admin retrying a held mail then ingests it', async () => {
    const next = await until(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const result = await deliver(flooder, `after-${randomUUID().slice(0, 6)}`);
        return result.status === 'created' ? result : undefined;
      },
      (WINDOW_SECONDS + 10) * 1000,
    );
    expect(next.decision).toBe('new ticket');
    const retried = await api(
      'POST',
      `/admin/email/quarantine/${flood[MAX + 1]!.quarantineId}/retry`,
      world.admin,
    );
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({
      status: 'created',
      messageId: `<flood-${MAX + 2}-${run}@mail.example>`,
    });
    const stillHeld = (await heldMail()).map((row) => row.id);
    expect(stillHeld).not.toContain(flood[MAX + 1]!.quarantineId);
  }, 40_000);
});
