import { describe, expect, it } from 'vitest';
import { classifyEmail } from './email.classify.js';
import type { ParsedEmail } from './email.parse.js';

function email(overrides: Partial<ParsedEmail> = {}): ParsedEmail {
  return {
    messageId: '<m@x.example>',
    inReplyTo: null,
    references: [],
    subject: 'Printer broken',
    from: { address: 'alice@customer.example', name: 'Alice' },
    replyTo: [],
    to: [{ address: 'support@helpdesk.example', name: '' }],
    cc: [],
    date: null,
    headers: {},
    text: 'Hello',
    html: null,
    deliveryStatus: null,
    attachments: [],
    problems: [],
    ...overrides,
  };
}

describe('classifyEmail', () => {
  it('treats plain mail as normal', () => {
    expect(classifyEmail(email()).kind).toBe('normal');
  });

  it.each([
    ['auto-replied', 'auto_reply'],
    ['auto-generated', 'auto_reply'],
    ['auto-notified; owner-email="a@b"', 'auto_reply'],
    ['no', 'normal'],
    ['No', 'normal'],
  ])('Auto-Submitted: %s → %s', (value, kind) => {
    expect(classifyEmail(email({ headers: { 'auto-submitted': value } })).kind).toBe(kind);
  });

  it.each(['bulk', 'junk', 'list', 'Bulk'])('Precedence: %s is automated', (value) => {
    expect(classifyEmail(email({ headers: { precedence: value } })).kind).toBe('auto_reply');
  });

  it('ignores Precedence: list on a Google Group relay of a human post', () => {
    const parsed = email({
      from: { address: 'support@company.example', name: 'Jane via Support' },
      replyTo: [{ address: 'jane@customer.example', name: 'Jane' }],
      headers: { precedence: 'list', 'list-id': '<support.company.example>' },
    });
    expect(classifyEmail(parsed).kind).toBe('normal');
  });

  it('needs an auto-reply subject together with X-Auto-Response-Suppress', () => {
    const suppress = { 'x-auto-response-suppress': 'All' };
    expect(classifyEmail(email({ headers: suppress })).kind).toBe('normal');
    expect(classifyEmail(email({ headers: suppress, subject: 'Abwesenheitsnotiz: Drucker' })).kind).toBe(
      'auto_reply',
    );
    expect(
      classifyEmail(email({ headers: suppress, subject: 'Réponse automatique : Imprimante' })).kind,
    ).toBe('auto_reply');
  });

  it('does not treat "out of office" in a normal subject as an auto-reply', () => {
    expect(classifyEmail(email({ subject: 'Laptop broke while out of office' })).kind).toBe('normal');
  });

  it('reads the failed recipient from the delivery status before the body', () => {
    const parsed = email({
      from: { address: 'mailer-daemon@mx.example', name: '' },
      subject: 'Undelivered Mail Returned to Sender',
      deliveryStatus:
        'Reporting-MTA: dns; mx\n\nOriginal-Recipient: rfc822;first@x.example\nFinal-Recipient: rfc822; Real@X.example\n',
      text: '<other@x.example>: host said no',
    });
    expect(classifyEmail(parsed)).toMatchObject({ kind: 'bounce', failedRecipient: 'real@x.example' });
  });

  it('falls back to the body for bounces without a report', () => {
    const parsed = email({
      from: { address: 'postmaster@x.example', name: '' },
      subject: 'Mail delivery failed: returning message to sender',
      text: 'This message was created automatically.\n\n  <gone@x.example>\n    mailbox unavailable',
    });
    expect(classifyEmail(parsed)).toMatchObject({ kind: 'bounce', failedRecipient: 'gone@x.example' });
  });

  it('does not call every mail from postmaster a bounce', () => {
    const parsed = email({
      from: { address: 'postmaster@x.example', name: '' },
      subject: 'Question about SPF',
    });
    expect(classifyEmail(parsed).kind).toBe('normal');
  });

  it('flags spam by flag or by score above 5', () => {
    expect(classifyEmail(email({ headers: { 'x-spam-flag': 'YES' } })).kind).toBe('spam');
    expect(classifyEmail(email({ headers: { 'x-spam-score': '5.1' } })).kind).toBe('spam');
    expect(classifyEmail(email({ headers: { 'x-spam-score': '5' } })).kind).toBe('normal');
    expect(classifyEmail(email({ headers: { 'x-spam-status': 'Yes, score=9.9 required=5.0' } })).kind).toBe(
      'spam',
    );
    expect(classifyEmail(email({ headers: { 'x-spam-status': 'No, score=-0.1 required=5.0' } })).kind).toBe(
      'normal',
    );
  });
});
