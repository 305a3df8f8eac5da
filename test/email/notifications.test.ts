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
const MINUTE = 60_000;

const emailOf = (session: object) => (session as { email: string }).email.toLowerCase();

async function mailsTo(who: object, ticketNumber: string, count: number): Promise<ParsedMail[]> {
  return until(async () => {
    const mails = await smtp.to(emailOf(who), ticketNumber);
    return mails.length >= count ? mails : undefined;
  });
}

interface Delivery {
  kind: string;
  status: string;
  to: string;
}

/** The ticket's deliveries once `count` of them are sent, oldest first. */
async function sentDeliveries(ticketId: string, count: number): Promise<Delivery[]> {
  return until(async () => {
    const response = await api('GET', `/tickets/${ticketId}/email-deliveries`, world.admin);
    const rows = response.json().data as Delivery[];
    return rows.filter((row) => row.status === 'sent').length >= count ? rows.reverse() : undefined;
  });
}

const ok = (response: { statusCode: number; body: string }) =>
  expect(response.statusCode, response.body).toBeLessThan(300);

beforeAll(async () => {
  const port = await smtp.listen();
  server = await startTestApp({
    SMTP_URL: `smtp://127.0.0.1:${port}`,
    MAIL_REPLY_SECRET: 'test-reply-secret-0123456789abcdef0123',
    MAIL_RETRY_BACKOFF_MS: '50',
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  ok(
    await api('POST', '/admin/mailboxes', world.admin, {
      address: 'help@acme.test',
      name: 'Acme Help',
      inboundMethod: 'smtp',
    }),
  );
});
afterAll(async () => {
  await server?.close();
  await smtp.close();
});

describe('agent notifications by mail', () => {
  it('mails an assignment to the new assignee, threaded, but not a self-assignment', async () => {
    const ticket = await openTicket(server.app, world.admin, {
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    const [ack] = await mailsTo(world.requester, ticket.number, 1);

    ok(await api('POST', `/tickets/${ticket.id}/assign`, world.agent, { assigneeId: world.agent2.id }));
    const [mail] = await mailsTo(world.agent2, ticket.number, 1);
    expect(mail!.subject).toBe(`[${ticket.number}] Assigned to you: Printer on floor 3 is jammed`);
    expect(mail!.from?.value[0]).toMatchObject({ address: 'help@acme.test', name: 'Acme Help' });
    expect(mail!.text).toContain('was assigned to you by Test agent');
    expect(mail!.text).toContain(`/tickets/${ticket.id}`);
    expect(mail!.inReplyTo).toBe(ack!.messageId);
    expect(mail!.headers.get('auto-submitted')).toBe('auto-generated');

    // The agent takes another ticket themselves: nothing. Then the admin gives it to agent2.
    const other = await openTicket(server.app, world.admin, {
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    ok(await api('POST', `/tickets/${other.id}/claim`, world.agent));
    ok(await api('POST', `/tickets/${other.id}/assign`, world.admin, { assigneeId: world.agent2.id }));
    await mailsTo(world.agent2, other.number, 1);
    const deliveries = await sentDeliveries(other.id, 2);
    expect(deliveries.map((row) => [row.kind, row.to])).toEqual([
      ['ack', emailOf(world.requester)],
      ['assignment', emailOf(world.agent2)],
    ]);
    expect(await smtp.to(emailOf(world.agent), other.number)).toHaveLength(0);
  });

  it('mails mentioned agents (internal note text included) but never the author or a requester', async () => {
    const ticket = await openTicket(server.app, world.admin, {
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    ok(
      await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
        body: 'Probably the firewall lease timer, can you check?',
        mentions: [world.agent2.id, world.agent.id],
      }),
    );
    const [note] = await mailsTo(world.agent2, ticket.number, 1);
    expect(note!.subject).toBe(`[${ticket.number}] Test agent mentioned you: Printer on floor 3 is jammed`);
    expect(note!.text).toContain('in this internal note:');
    expect(note!.text).toContain('Probably the firewall lease timer, can you check?');

    ok(
      await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
        body: 'We are on it.',
        mentions: [world.lead.id, world.requester.id],
      }),
    );
    const [reply] = await mailsTo(world.lead, ticket.number, 1);
    expect(reply!.text).toContain('We are on it.');
    const deliveries = await sentDeliveries(ticket.id, 4);
    expect(deliveries.map((row) => `${row.kind} ${row.to}`).sort()).toEqual(
      [
        `ack ${emailOf(world.requester)}`,
        `mention ${emailOf(world.agent2)}`,
        `mention ${emailOf(world.lead)}`,
        `reply ${emailOf(world.requester)}`,
      ].sort(),
    );
    const requesterMail = await smtp.to(emailOf(world.requester), ticket.number);
    expect(requesterMail.some((mail) => mail.text?.includes('firewall'))).toBe(false);
    expect(await smtp.to(emailOf(world.agent), ticket.number)).toHaveLength(0);
  });

  it('mails each escalation step to its recipients, and the senior agent the ticket goes to', async () => {
    ok(
      await api('POST', '/sla/policies', world.admin, {
        name: 'Service desk',
        conditions: {},
        businessHours: 'always',
        targets: { high: { resolution: 60 } },
      }),
    );
    ok(
      await api('PUT', '/sla/escalation-policy', world.admin, {
        levels: [
          { trigger: 'at_risk', notify: ['assignee', 'team_leads'] },
          { trigger: 'breach', reassignToSenior: true, notify: ['assignee'] },
        ],
        managerIds: [],
        seniorRole: null,
      }),
    );
    ok(await api('PATCH', `/agents/${world.agent2.id}`, world.admin, { isSenior: true }));
    const ticket = await openTicket(server.app, world.agent, {
      priority: 'high',
      teamId: world.teamId,
      assigneeId: world.agent.id,
      requesterId: world.requester.id,
    });
    const timers = (await api('GET', `/tickets/${ticket.id}/sla`, world.agent)).json().data as Array<{
      id: string;
      kind: string;
    }>;
    const timer = timers.find((row) => row.kind === 'resolution')!;
    const fire = (minutes: number) =>
      server.domain.sla.firing.fire(
        world.admin.orgId,
        timer.id,
        'job',
        new Date(Date.now() + minutes * MINUTE),
      );

    await fire(46);
    const [atRisk] = await mailsTo(world.lead, ticket.number, 1);
    expect(atRisk!.subject).toBe(`[${ticket.number}] SLA escalation, level 1: Printer on floor 3 is jammed`);
    expect(atRisk!.text).toContain('its resolution target is at risk');
    await mailsTo(world.agent, ticket.number, 1);

    await fire(61);
    const toSenior = await mailsTo(world.agent2, ticket.number, 2);
    const subjects = toSenior.map((mail) => mail.subject).sort();
    expect(subjects).toEqual([
      `[${ticket.number}] Assigned to you: Printer on floor 3 is jammed`,
      `[${ticket.number}] SLA escalation, level 2: Printer on floor 3 is jammed`,
    ]);
    const assigned = toSenior.find((mail) => mail.subject?.includes('Assigned'))!;
    expect(assigned.text).toContain('assigned to you by SLA escalation');
    const deliveries = await sentDeliveries(ticket.id, 6);
    expect(deliveries.filter((row) => row.kind === 'sla')).toHaveLength(4);
    expect(deliveries.some((row) => row.to === emailOf(world.requester) && row.kind !== 'ack')).toBe(false);
  });
});

describe('mail templates', () => {
  it('lists every kind with its default, and uses a custom ack template with HTML-escaped values', async () => {
    const list = await api('GET', '/admin/email/templates', world.admin);
    expect(list.statusCode, list.body).toBe(200);
    const kinds = list.json().data as Array<{ kind: string; custom: boolean; variables: string[] }>;
    expect(kinds.map((row) => row.kind)).toEqual(['ack', 'reply', 'assignment', 'mention', 'sla', 'csat']);
    expect(kinds.every((row) => !row.custom)).toBe(true);
    expect(kinds.find((row) => row.kind === 'reply')!.variables).toContain('message.body');

    const put = await api('PUT', '/admin/email/templates/ack', world.admin, {
      subject: '[{{ticket.number}}] Got it: {{ticket.title}}',
      text: 'Hi {{requester.first_name}}, we opened {{ticket.number}} for "{{ticket.title}}".',
      html: '<p>Hi {{requester.name}}, we opened <b>{{ticket.title}}</b>: <a href="{{ticket.url}}">view</a></p>',
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ kind: 'ack', custom: true });

    const ticket = await openTicket(server.app, world.requester, { title: 'Toner <b>empty</b> & "stuck"' });
    const [ack] = await mailsTo(world.requester, ticket.number, 1);
    expect(ack!.subject).toBe(`[${ticket.number}] Got it: Toner <b>empty</b> & "stuck"`);
    expect(ack!.text).toBe(`Hi Test, we opened ${ticket.number} for "Toner <b>empty</b> & "stuck"".`);
    expect(ack!.html).toContain('<b>Toner &lt;b&gt;empty&lt;/b&gt; &amp; &quot;stuck&quot;</b>');
    expect(ack!.html).toContain(`href="http`);
    expect(ack!.html).toContain(`/tickets/${ticket.id}"`);
  });

  it('previews a draft with sample values, names unknown variables (422) and writes nothing', async () => {
    const preview = await api('POST', '/admin/email/templates/mention/preview', world.admin, {
      text: '{{agent.name}} said: {{message.body}}',
      html: '<p>{{ticket.title}}</p>',
    });
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json()).toMatchObject({
      subject: '[TKT-20250101-00042] Alex Agent mentioned you: Printer on floor 3 <jammed> & offline',
      text: 'Alex Agent said: Could you send us the printer’s status page?',
      html: '<p>Printer on floor 3 &lt;jammed&gt; &amp; offline</p>',
    });

    const unknown = await api('POST', '/admin/email/templates/ack/preview', world.admin, {
      text: 'Hello {{requester.name}} {{ticket.secret}} {{message.body}}',
    });
    expect(unknown.statusCode, unknown.body).toBe(422);
    expect(unknown.json().details.unknownVariables).toEqual(['ticket.secret', 'message.body']);
    expect(unknown.json().message).toContain('{{ticket.secret}}');

    const section = await api('PUT', '/admin/email/templates/reply', world.admin, {
      subject: 'x',
      text: '{{#ticket}}{{title}}{{/ticket}}',
    });
    expect(section.statusCode).toBe(422);

    const stored = await api('POST', '/admin/email/templates/ack/preview', world.admin);
    expect(stored.statusCode, stored.body).toBe(200);
    expect(stored.json().subject).toBe('[TKT-20250101-00042] Got it: Printer on floor 3 <jammed> & offline');
    const list = (await api('GET', '/admin/email/templates', world.admin)).json().data as Array<{
      kind: string;
      custom: boolean;
    }>;
    expect(list.filter((row) => row.custom).map((row) => row.kind)).toEqual(['ack']);
  });

  it('goes back to the default when the template is deleted', async () => {
    expect((await api('DELETE', '/admin/email/templates/ack', world.admin)).statusCode).toBe(204);
    const ack = (await api('GET', '/admin/email/templates', world.admin))
      .json()
      .data.find((row: { kind: string }) => row.kind === 'ack');
    expect(ack).toMatchObject({
      custom: false,
      subject: '[{{ticket.number}}] {{ticket.title}}',
      updatedAt: null,
    });
    const ticket = await openTicket(server.app, world.requester2, { title: 'Back to normal' });
    const [mail] = await mailsTo(world.requester2, ticket.number, 1);
    expect(mail!.subject).toBe(`[${ticket.number}] Back to normal`);
    expect(mail!.text).toContain('We have received your request');
    expect(mail!.html).toBe(false);
  });

  it('refuses agents and team leads (403)', async () => {
    for (const who of [world.agent, world.lead]) {
      expect((await api('GET', '/admin/email/templates', who)).statusCode).toBe(403);
      expect(
        (await api('PUT', '/admin/email/templates/ack', who, { subject: 'x', text: 'y' })).statusCode,
      ).toBe(403);
      expect((await api('DELETE', '/admin/email/templates/ack', who)).statusCode).toBe(403);
      expect((await api('POST', '/admin/email/templates/ack/preview', who, {})).statusCode).toBe(403);
    }
  });
});
