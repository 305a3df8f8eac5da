import { describe, expect, it } from 'vitest';
import { realSender } from './email.groups.js';
import { parseEmail, safeFileName, UnparseableEmail } from './email.parse.js';
import { threadingKeys } from './email.threading.js';

const mail = (headers: string, body = 'Hello') =>
  `${headers.trim().replace(/\n/g, '\r\n')}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <t@x.example>\r\n\r\n${body}`;

describe('parseEmail', () => {
  it('throws UnparseableEmail only for input that is not mail', async () => {
    await expect(parseEmail('')).rejects.toBeInstanceOf(UnparseableEmail);
    await expect(parseEmail('   \r\n ')).rejects.toBeInstanceOf(UnparseableEmail);
    await expect(parseEmail(Buffer.from([0, 1, 2, 3]))).rejects.toBeInstanceOf(UnparseableEmail);
  });

  it('returns best effort for a body without any structure', async () => {
    const parsed = await parseEmail('Subject: only a subject\r\n');
    expect(parsed.subject).toBe('only a subject');
    expect(parsed.problems).toEqual(['missing From', 'missing date', 'missing Message-ID']);
  });

  it('lower-cases addresses and flattens groups', async () => {
    const parsed = await parseEmail(
      mail(
        'From: Alice <Alice@Customer.Example>\nTo: Team: Bob <BOB@x.example>, c@x.example;\nCc: D <D@X.example>',
      ),
    );
    expect(parsed.from).toEqual({ address: 'alice@customer.example', name: 'Alice' });
    expect(parsed.to.map((a) => a.address)).toEqual(['bob@x.example', 'c@x.example']);
    expect(parsed.cc).toEqual([{ address: 'd@x.example', name: 'D' }]);
  });

  it('reports an invalid date and keeps date null', async () => {
    const parsed = await parseEmail('From: a@x.example\r\nDate: yesterday-ish\r\nMessage-ID: <d@x>\r\n\r\nx');
    expect(parsed.date).toBeNull();
    expect(parsed.problems).toContain('invalid date');
  });

  it('normalises Message-ID, In-Reply-To and References', async () => {
    const parsed = await parseEmail(
      'From: a@x.example\r\nMessage-ID:  bare@x.example \r\nIn-Reply-To: <p@x.example> (comment)\r\nReferences: <a@x><b@x>\r\n <c@x>\r\n\r\nx',
    );
    expect(parsed.messageId).toBe('<bare@x.example>');
    expect(parsed.inReplyTo).toBe('<p@x.example>');
    expect(parsed.references).toEqual(['<a@x>', '<b@x>', '<c@x>']);
  });

  it('derives text from HTML-only mail and sanitizes the HTML', async () => {
    const parsed = await parseEmail(
      mail(
        'From: a@x.example\nContent-Type: text/html; charset=utf-8',
        '<p>Hi <b>there</b></p><script>x()</script>',
      ),
    );
    expect(parsed.text).toBe('Hi there');
    expect(parsed.html).toBe('<p>Hi <b>there</b></p>');
  });
});

describe('safeFileName', () => {
  it.each([
    ['../../etc/passwd', 'etc_passwd'],
    ['..\\..\\windows\\win.ini', 'windows_win.ini'],
    ['a\u0000b\u001fc.txt', 'abc.txt'],
    ['report\u202Efdp.exe', 'reportfdp.exe'],
    ['..', 'fallback.bin'],
    ['', 'fallback.bin'],
    [undefined, 'fallback.bin'],
    ['con:"x"?.txt', 'con__x__.txt'],
  ])('%j → %j', (input, output) => {
    expect(safeFileName(input, 'fallback.bin')).toBe(output);
  });

  it('caps at 200 characters and keeps the extension', () => {
    const name = safeFileName(`${'a'.repeat(300)}.pdf`, 'x');
    expect(name).toHaveLength(200);
    expect(name.endsWith('.pdf')).toBe(true);
  });
});

describe('realSender', () => {
  it('returns From for ordinary mail', async () => {
    const parsed = await parseEmail(mail('From: Alice <alice@x.example>\nReply-To: other@x.example'));
    expect(realSender(parsed)).toEqual({ address: 'alice@x.example', name: 'Alice', via: null, group: null });
  });

  it('recovers the author from Reply-To on a DMARC-rewritten group post', async () => {
    const parsed = await parseEmail(
      mail(
        'From: "Jane Doe via Support" <support@company.example>\nReply-To: jane@customer.example\nList-Id: <support.company.example>',
      ),
    );
    expect(realSender(parsed)).toEqual({
      address: 'jane@customer.example',
      name: 'Jane Doe',
      via: 'group',
      group: 'support@company.example',
    });
  });

  it('keeps From on a group post that was not rewritten', async () => {
    const parsed = await parseEmail(
      mail(
        'From: Jane <jane@customer.example>\nList-Id: <help.googlegroups.com>\nX-Original-Sender: jane@customer.example',
      ),
    );
    expect(realSender(parsed)).toMatchObject({ address: 'jane@customer.example', via: null });
  });
});

describe('threadingKeys', () => {
  it('takes the reply token only from our reply domain when one is given', async () => {
    const parsed = await parseEmail(
      mail('From: a@x.example\nTo: me+t-mytag123@customer.example, support+t-Token_42ab@helpdesk.example'),
    );
    expect(threadingKeys(parsed, { replyDomain: 'helpdesk.example' }).replyToken).toBe('token_42ab');
    expect(threadingKeys(parsed).replyToken).toBe('mytag123');
  });

  it('finds the ticket number anywhere in the subject', async () => {
    const parsed = await parseEmail(mail('From: a@x.example\nSubject: AW: Re: [tkt-20261124-00042] Drucker'));
    expect(threadingKeys(parsed).subjectTicketNumber).toBe('TKT-20261124-00042');
  });
});
