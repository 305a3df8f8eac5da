import { sql } from 'drizzle-orm';
import type { ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { CapturingSmtp } from '../support/smtp-capture.js';
import { until } from '../support/wait.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from '../tickets/support.js';

const PUBLIC_URL = 'http://desk.acme.test';
const TOKEN = /\/csat\/([A-Za-z0-9_-]{70})\?rating=5/;
const smtp = new CapturingSmtp();
let server: TestApp;
let world: TicketWorld;
const api = apiClient(() => server.app);

const isSurvey = (mail: ParsedMail) => Boolean(mail.text?.includes('/csat/'));

async function surveysAbout(ticketNumber: string, count = 1): Promise<ParsedMail[]> {
  return until(async () => {
    const mails = (await smtp.about(ticketNumber)).filter(isSurvey);
    return mails.length >= count ? mails : undefined;
  });
}

/** Waits until no job is waiting, running or delayed on the queues a survey passes through. */
async function settled(app: TestApp) {
  await until(async () => {
    const counts = await app.platform.jobs.counts();
    const busy = ['surveys', 'email'].some((queue) => {
      const count = counts[queue];
      return count && count.waiting + count.active + count.delayed > 0;
    });
    return !busy;
  });
}

async function surveyJobsDone(app: TestApp): Promise<number> {
  return (await app.platform.jobs.counts()).surveys?.completed ?? 0;
}

async function teamTicket(title: string) {
  return openTicket(server.app, world.agent, {
    title,
    requesterId: world.requester.id,
    teamId: world.teamId,
  });
}

async function setStatus(ticketId: string, status: string) {
  const response = await api('POST', `/tickets/${ticketId}/status`, world.agent, { status });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

const page = (token: string, query = '') =>
  server.app.inject({ method: 'GET', url: `/csat/${token}${query}` });

async function surveyOf(ticketId: string) {
  const response = await api('GET', `/tickets/${ticketId}/csat`, world.agent);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().data;
}

beforeAll(async () => {
  const port = await smtp.listen();
  server = await startTestApp({
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    MAIL_REPLY_SECRET: 'test-reply-secret-0123456789abcdef0123',
    MAIL_RETRY_BACKOFF_MS: '50',
    CSAT_DELAY_MINUTES: '0',
    PUBLIC_URL,
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: 'support@acme.test',
    name: 'Acme Support',
    inboundMethod: 'smtp',
  });
  expect(created.statusCode, created.body).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await smtp.close();
});

describe('CSAT surveys', () => {
  let ticket: { id: string; number: string };
  let token: string;

  it('mails a survey when a ticket is resolved, threaded, with one-click links in text and HTML', async () => {
    ticket = await teamTicket('Laptop will not boot');
    const [ack] = await until(async () => {
      const mails = await smtp.about(ticket.number);
      return mails.length > 0 ? mails : undefined;
    });
    expect(await surveyOf(ticket.id)).toBeNull();
    await setStatus(ticket.id, 'resolved');
    const [survey] = await surveysAbout(ticket.number);
    expect(survey!.subject).toBe(`[${ticket.number}] Laptop will not boot`);
    expect(survey!.inReplyTo).toBe(ack!.messageId);
    expect(survey!.references).toEqual(ack!.messageId);
    token = TOKEN.exec(survey!.text ?? '')![1]!;
    for (const rating of [1, 2, 3, 4, 5]) {
      expect(survey!.text).toContain(`${PUBLIC_URL}/csat/${token}?rating=${rating}`);
      expect(survey!.html).toContain(`href="${PUBLIC_URL}/csat/${token}?rating=${rating}"`);
    }
    const deliveries = await until(async () => {
      const rows = (await api('GET', `/tickets/${ticket.id}/email-deliveries`, world.agent)).json().data;
      const csat = rows.find((row: { kind: string }) => row.kind === 'csat');
      return csat?.status === 'sent' ? rows : undefined;
    });
    expect(deliveries.filter((row: { kind: string }) => row.kind === 'csat')).toHaveLength(1);
    expect(await surveyOf(ticket.id)).toMatchObject({ rating: null, answeredAt: null, scale: 'five' });
  });

  it('records the rating of a followed link; the form changes it and the comment, escaped', async () => {
    const first = await page(token, '?rating=4');
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['content-type']).toContain('text/html');
    expect(first.body).toContain('Thank you');
    const answered = await surveyOf(ticket.id);
    expect(answered).toMatchObject({ rating: 4, comment: null, changedAt: null });
    expect(answered.answeredAt).not.toBeNull();

    const form = await server.app.inject({
      method: 'POST',
      url: `/csat/${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        rating: '2',
        comment: '<script>alert(1)</script> & "quotes"',
      }).toString(),
    });
    expect(form.statusCode, form.body).toBe(200);
    expect(form.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(form.body).not.toContain('<script>');
    expect(await surveyOf(ticket.id)).toMatchObject({
      rating: 2,
      comment: '<script>alert(1)</script> & "quotes"',
    });

    const json = await server.app.inject({
      method: 'POST',
      url: `/csat/${token}`,
      payload: { rating: 3, comment: 'Quick and friendly' },
    });
    expect(json.statusCode, json.body).toBe(200);
    const changed = await surveyOf(ticket.id);
    expect(changed).toMatchObject({
      rating: 3,
      comment: 'Quick and friendly',
      answeredAt: answered.answeredAt,
    });
    expect(changed.changedAt).not.toBeNull();

    const outOfRange = await server.app.inject({
      method: 'POST',
      url: `/csat/${token}`,
      payload: { rating: 6 },
    });
    expect(outOfRange.statusCode).toBe(422);
    expect(outOfRange.json().details).toHaveProperty('rating');
    const tooLong = await server.app.inject({
      method: 'POST',
      url: `/csat/${token}`,
      payload: { rating: 3, comment: 'x'.repeat(2001) },
    });
    expect(tooLong.statusCode).toBe(422);
    expect((await api('GET', `/tickets/${ticket.id}/csat`, world.requester)).statusCode).toBe(403);
    expect((await api('GET', `/tickets/${ticket.id}/csat`, world.outsider)).statusCode).toBe(404);
  });

  it('refuses forged and expired links, and changes more than 7 days after the first answer', async () => {
    // Flip every bit of the MAC's last byte (a change of the last base64url character alone
    // may only touch padding bits and decode to the same bytes).
    const tampered = Buffer.from(token, 'base64url');
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0xff;
    const forged = await page(tampered.toString('base64url'), '?rating=1');
    expect(forged.statusCode).toBe(400);
    expect((await page('not-a-token', '?rating=1')).statusCode).toBe(400);
    // A token for another ticket id, signed with someone else's key, is refused the same way.
    const otherKey = Buffer.from(token, 'base64url');
    otherKey[0] = (otherKey[0]! + 1) % 256;
    expect((await page(otherKey.toString('base64url'), '?rating=1')).statusCode).toBe(400);

    const expiredToken = server.domain.surveys.tokens.issue(
      world.admin.orgId,
      ticket.id,
      new Date(Date.now() - 1000),
    );
    const expired = await page(expiredToken, '?rating=1');
    expect(expired.statusCode).toBe(410);

    await server.platform.database.withOrg(world.admin.orgId, (tx) =>
      tx.execute(
        sql`update csat_responses set answered_at = now() - interval '8 days' where ticket_id = ${ticket.id}`,
      ),
    );
    const late = await page(token, '?rating=5');
    expect(late.statusCode).toBe(410);
    expect(late.body).toContain('closed');
    const latePost = await server.app.inject({
      method: 'POST',
      url: `/csat/${token}`,
      payload: { rating: 5 },
    });
    expect(latePost.statusCode).toBe(410);
    expect(await surveyOf(ticket.id)).toMatchObject({ rating: 3 });
  });

  it('sends one survey per ticket, even when it is resolved twice', async () => {
    const twice = await teamTicket('Resolved twice');
    const before = await surveyJobsDone(server);
    await setStatus(twice.id, 'resolved');
    await surveysAbout(twice.number);
    await setStatus(twice.id, 'open');
    await setStatus(twice.id, 'resolved');
    await setStatus(twice.id, 'closed');
    // Four status changes each ran `csat.schedule`; both resolutions ran `csat.send`.
    await until(async () => (await surveyJobsDone(server)) >= before + 6);
    await settled(server);
    expect((await smtp.about(twice.number)).filter(isSurvey)).toHaveLength(1);
    const rows = (await api('GET', `/tickets/${twice.id}/email-deliveries`, world.agent)).json().data;
    expect(rows.filter((row: { kind: string }) => row.kind === 'csat')).toHaveLength(1);
  });

  it('reports answers, average, distribution and response rate by period and team', async () => {
    // Surveys so far: the first ticket (answered 3) and the one resolved twice (unanswered).
    const report = await api('GET', '/reports/csat', world.admin);
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json()).toMatchObject({
      sent: 2,
      count: 1,
      average: 3,
      distribution: { 1: 0, 2: 0, 3: 1, 4: 0, 5: 0 },
      responseRate: 0.5,
    });

    const another = await teamTicket('Answered five');
    await setStatus(another.id, 'resolved');
    const [mail] = await surveysAbout(another.number);
    const anotherToken = TOKEN.exec(mail!.text ?? '')![1]!;
    expect((await page(anotherToken, '?rating=5')).statusCode).toBe(200);

    const lead = await api('GET', `/reports/csat?teamId=${world.teamId}`, world.lead);
    expect(lead.statusCode, lead.body).toBe(200);
    expect(lead.json()).toMatchObject({
      teamId: world.teamId,
      sent: 3,
      count: 2,
      average: 4,
      distribution: { 3: 1, 5: 1 },
      responseRate: 0.6667,
    });
    expect((await api('GET', '/reports/csat', world.lead)).json()).toMatchObject({ sent: 3, count: 2 });
    expect((await api('GET', `/reports/csat?teamId=${world.otherTeamId}`, world.lead)).statusCode).toBe(403);
    expect((await api('GET', `/reports/csat?teamId=${world.otherTeamId}`, world.admin)).json()).toMatchObject(
      {
        sent: 0,
        count: 0,
        average: null,
        responseRate: null,
      },
    );
    const future = new Date(Date.now() + 86_400_000).toISOString();
    expect((await api('GET', `/reports/csat?from=${future}`, world.admin)).json()).toMatchObject({ sent: 0 });
    expect((await api('GET', `/reports/csat?to=${future}`, world.admin)).json()).toMatchObject({ sent: 3 });
    expect((await api('GET', '/reports/csat', world.agent)).statusCode).toBe(403);
  });
});

describe('CSAT delay', () => {
  let delayed: TestApp;
  let other: TicketWorld;

  beforeAll(async () => {
    delayed = await startTestApp({
      CSAT_DELAY_MINUTES: '60',
      MAIL_REPLY_SECRET: 'another-reply-secret-0123456789abcdef',
    });
    await startWorkers(delayed.platform);
    other = await ticketWorld(delayed.app);
    const created = await delayed.app.inject({
      method: 'POST',
      url: '/api/v1/admin/mailboxes',
      headers: other.admin.auth,
      payload: { address: 'help@other.test', name: 'Help' },
    });
    expect(created.statusCode, created.body).toBe(201);
  });
  afterAll(async () => {
    await delayed?.close();
  });

  it('sends nothing for a ticket reopened before the delay passed', async () => {
    const otherApi = apiClient(() => delayed.app);
    const opened = await openTicket(delayed.app, other.requester);
    const resolved = await otherApi('POST', `/tickets/${opened.id}/status`, other.admin, {
      status: 'resolved',
    });
    expect(resolved.statusCode, resolved.body).toBe(200);
    const resolvedAt = new Date(resolved.json().resolvedAt);
    // The survey waits an hour in the surveys queue.
    await until(async () => ((await delayed.platform.jobs.counts()).surveys?.delayed ?? 0) >= 1);
    expect(
      (await otherApi('POST', `/tickets/${opened.id}/status`, other.admin, { status: 'open' })).statusCode,
    ).toBe(200);
    // What the delayed job does when its hour is up: nothing, the ticket was reopened.
    expect(
      await delayed.domain.surveys.surveys.plan(other.admin.orgId, opened.id, resolvedAt),
    ).toBeUndefined();
    const survey = await otherApi('GET', `/tickets/${opened.id}/csat`, other.admin);
    expect(survey.json().data).toBeNull();

    // Resolved again: that resolution's own job is due, the first one still is not.
    const again = await otherApi('POST', `/tickets/${opened.id}/status`, other.admin, { status: 'resolved' });
    expect(
      await delayed.domain.surveys.surveys.plan(other.admin.orgId, opened.id, resolvedAt),
    ).toBeUndefined();
    const planned = await delayed.domain.surveys.surveys.plan(
      other.admin.orgId,
      opened.id,
      new Date(again.json().resolvedAt),
    );
    expect(planned).toBeDefined();
    expect((await otherApi('GET', `/tickets/${opened.id}/csat`, other.admin)).json().data).not.toBeNull();
  });
});
