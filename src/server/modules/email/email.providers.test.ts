import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/http/app-error.js';
import { classifyEmail } from './email.classify.js';
import { parseEmail } from './email.parse.js';
import {
  detectProvider,
  mailFromProvider,
  type ProviderForm,
  type ProviderPayload,
  parseHeaderBlock,
} from './email.providers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../test/fixtures/email/providers');

interface FormFixture {
  fields: Record<string, string>;
  files: Array<{ field: string; filename: string; contentType: string; base64: string }>;
}

function fixture(name: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
}

/** A form as the route hands it over: every field's bytes, in the charset the payload names. */
function form(
  fields: Record<string, string>,
  files: FormFixture['files'] = [],
  latin1: string[] = [],
): ProviderPayload {
  const converted: ProviderForm = {
    fields: new Map(
      Object.entries(fields).map(([name, value]) => [
        name,
        Buffer.from(value, latin1.includes(name) ? 'latin1' : 'utf8'),
      ]),
    ),
    files: files.map((file) => ({
      field: file.field,
      filename: file.filename,
      contentType: file.contentType,
      content: Buffer.from(file.base64, 'base64'),
    })),
  };
  return { type: 'form', form: converted };
}

function formFixture(name: string, latin1: string[] = []): ProviderPayload {
  const data = fixture(name) as FormFixture;
  return form(data.fields, data.files, latin1);
}

async function parsed(payload: ProviderPayload) {
  return parseEmail((await mailFromProvider(payload)).raw);
}

describe('detectProvider', () => {
  it('tells the providers apart by the shape of their payloads', () => {
    expect(detectProvider(formFixture('mailgun-parsed.json'))).toBe('mailgun');
    expect(detectProvider(formFixture('mailgun-mime.json'))).toBe('mailgun');
    expect(detectProvider(formFixture('sendgrid-parsed.json'))).toBe('sendgrid');
    expect(detectProvider(formFixture('sendgrid-raw.json'))).toBe('sendgrid');
    expect(detectProvider({ type: 'json', body: fixture('postmark.json') })).toBe('postmark');
  });

  it('knows none of a form or JSON of another shape', () => {
    expect(detectProvider(form({ name: 'x', comment: 'y' }))).toBeUndefined();
    expect(detectProvider({ type: 'json', body: { hello: 'world' } })).toBeUndefined();
    expect(detectProvider({ type: 'json', body: [1, 2] })).toBeUndefined();
    expect(detectProvider({ type: 'json', body: null })).toBeUndefined();
  });
});

describe('mailFromProvider', () => {
  it('keeps the headers that threading, loop protection and classification read', async () => {
    const headers: Array<[string, string]> = [
      ['From', 'Ops Robot <robot@ops.example>'],
      ['Message-Id', '<kept@ops.example>'],
      ['In-Reply-To', '<parent@helpdesk.example>'],
      ['References', '<root@helpdesk.example> <parent@helpdesk.example>'],
      ['Auto-Submitted', 'auto-generated'],
      ['Precedence', 'bulk'],
      ['X-Autoreply', 'yes'],
      ['X-Autorespond', 'yes'],
      ['List-Id', 'Ops alerts <alerts.ops.example>'],
      ['X-Original-Sender', 'jane@customer.example'],
      ['Reply-To', 'Jane <jane@customer.example>'],
      ['Date', 'Tue, 14 Nov 2026 09:12:44 +0100'],
      ['X-Spam-Flag', 'NO'],
      ['X-Spam-Score', '1.2'],
      ['Content-Type', 'text/plain; charset=utf-8'],
    ];
    const mail = await parsed(
      form({
        from: 'Ops Robot <robot@ops.example>',
        'message-headers': JSON.stringify(headers),
        'body-plain': 'x',
      }),
    );
    expect(mail).toMatchObject({
      messageId: '<kept@ops.example>',
      inReplyTo: '<parent@helpdesk.example>',
      references: ['<root@helpdesk.example>', '<parent@helpdesk.example>'],
      replyTo: [{ address: 'jane@customer.example', name: 'Jane' }],
      date: new Date('2026-11-14T08:12:44Z'),
      headers: {
        'auto-submitted': 'auto-generated',
        precedence: 'bulk',
        'x-autoreply': 'yes',
        'x-autorespond': 'yes',
        'list-id': 'Ops alerts <alerts.ops.example>',
        'x-original-sender': 'jane@customer.example',
        'x-spam-flag': 'NO',
        'x-spam-score': '1.2',
      },
    });
  });

  it('decodes SendGrid fields in the charset named in charsets', async () => {
    const mail = await parsed(formFixture('sendgrid-parsed.json', ['text', 'html']));
    expect(mail.text).toContain('Cordialement,\nRenée');
    expect(mail.html).toContain('Renée');
    expect(mail.from).toEqual({ address: 'renee.francois@fabrikam.example', name: 'Renée François' });
    expect(mail.attachments).toMatchObject([
      { name: 'vpn-client.png', contentId: 'ii_vpnlog01', inline: true },
    ]);
  });

  it('turns a SendGrid spam_score and a Mailgun spam flag into what the classifier reads', async () => {
    const sendgrid = fixture('sendgrid-parsed.json') as FormFixture;
    const spammy = await parsed(form({ ...sendgrid.fields, spam_score: '7.4' }, [], ['text', 'html']));
    expect(classifyEmail(spammy).kind).toBe('spam');
    const clean = await parsed(formFixture('sendgrid-parsed.json', ['text', 'html']));
    expect(classifyEmail(clean).kind).toBe('normal');

    const mailgun = fixture('mailgun-parsed.json') as FormFixture;
    const headers = [...JSON.parse(mailgun.fields['message-headers']!), ['X-Mailgun-Sflag', 'Yes']];
    const flagged = await parsed(form({ ...mailgun.fields, 'message-headers': JSON.stringify(headers) }));
    expect(classifyEmail(flagged).kind).toBe('spam');
  });

  it('gives a mail without Message-ID the same one each time it is posted, from its content', async () => {
    const fields = { from: 'a@customer.example', subject: 'No id', 'body-plain': 'Hello', timestamp: '1' };
    const first = await parsed(form(fields));
    const retried = await parsed(form({ ...fields, timestamp: '2', token: 'another' }));
    const other = await parsed(form({ ...fields, 'body-plain': 'Hello again' }));
    expect(first.messageId).toMatch(/^<[0-9a-f]{40}@switchboard\.invalid>$/);
    expect(retried.messageId).toBe(first.messageId);
    expect(other.messageId).not.toBe(first.messageId);
  });

  it('uses the Postmark MessageID when the headers carry no Message-ID', async () => {
    const payload = fixture('postmark.json') as { Headers: Array<{ Name: string }> };
    payload.Headers = payload.Headers.filter((header) => header.Name !== 'Message-ID');
    const mail = await parsed({ type: 'json', body: payload });
    expect(mail.messageId).toBe('<postmark-73e6d360-66eb-11e1-8e72-a8904824019b@switchboard.invalid>');
  });

  it('passes the raw variants through byte for byte, with the envelope', async () => {
    const mailgun = fixture('mailgun-mime.json') as FormFixture;
    const result = await mailFromProvider(formFixture('mailgun-mime.json'));
    expect(result.raw.equals(Buffer.from(mailgun.fields['body-mime']!, 'utf8'))).toBe(true);
    expect(result).toMatchObject({
      provider: 'mailgun',
      envelopeFrom: 'juergen.mueller@contoso.example',
      envelopeTo: ['support@helpdesk.example'],
    });
    const sendgrid = await mailFromProvider(formFixture('sendgrid-raw.json'));
    expect(sendgrid).toMatchObject({
      provider: 'sendgrid',
      envelopeFrom: 'kenji.watanabe@tailspin.example',
      envelopeTo: ['support@helpdesk.example'],
    });
  });

  it('lets no header value start a header of its own', async () => {
    const headers = [['X-Note', 'one\r\nBcc: victim@elsewhere.example\r\nX-Injected: yes']];
    const result = await mailFromProvider(
      form({ from: 'a@customer.example', 'message-headers': JSON.stringify(headers), 'body-plain': 'x' }),
    );
    const head = result.raw.toString('utf8').split('\r\n\r\n')[0]!;
    expect(head).toContain('X-Note: one Bcc: victim@elsewhere.example X-Injected: yes');
    expect(head).not.toMatch(/^(Bcc|X-Injected):/m);
  });

  it('refuses payloads it cannot read with 422 naming the field', async () => {
    const cases: Array<[ProviderPayload, string, ('mailgun' | 'sendgrid' | 'postmark')?]> = [
      [form({ name: 'x' }), 'none of the shapes'],
      [form({ 'body-plain': 'no sender' }), 'from'],
      [form({ from: 'a@b.example', 'message-headers': '{' }), 'message-headers'],
      [form({ from: 'a@b.example', 'message-headers': '{"not":"a list"}' }), 'message-headers'],
      [form({ from: 'a@b.example', headers: '', envelope: '[' }), 'envelope'],
      [{ type: 'json', body: { FromFull: { Email: '' }, Subject: 'x' } }, 'from'],
      [
        { type: 'json', body: { From: 'a@b.example', TextBody: 'x', Attachments: [{ Content: '***' }] } },
        'Attachments.0.Content',
      ],
      [{ type: 'json', body: { From: 'a@b.example' } }, 'body', 'mailgun'],
      [form({ from: 'a@b.example', 'body-plain': 'x' }), 'body', 'postmark'],
    ];
    for (const [payload, field, provider] of cases) {
      const error = await mailFromProvider(payload, provider).catch((caught: unknown) => caught);
      expect(error, field).toBeInstanceOf(AppError);
      expect((error as AppError).statusCode).toBe(422);
      if (field !== 'none of the shapes') expect((error as AppError).details).toEqual({ field });
    }
  });
});

describe('parseHeaderBlock', () => {
  it('unfolds continuation lines, keeps the order and stops at the empty line', () => {
    expect(parseHeaderBlock('Received: a\n  b\r\nSubject: Hi\nX-Empty:\n\nbody: not a header')).toEqual([
      ['Received', 'a b'],
      ['Subject', 'Hi'],
      ['X-Empty', ''],
    ]);
  });
});
