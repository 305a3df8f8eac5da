import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { inspectEmail } from './email.inspect.js';
import { parseEmail } from './email.parse.js';

const FIXTURES = path.resolve(import.meta.dirname, '../../../../test/fixtures/email');

interface Expected {
  kind: string;
  requester: string | null;
  subject: string;
  replyTextPrefix: string;
  attachments: string[];
  threading: Record<string, unknown>;
  problems: number;
  failedRecipient?: string;
}

const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'expected.json'), 'utf8')) as Record<
  string,
  Expected
>;
const files = fs.readdirSync(FIXTURES).filter((name) => name.endsWith('.eml'));
const read = (name: string) => fs.readFileSync(path.join(FIXTURES, name));

describe('email fixtures', () => {
  it('has an expectation for every fixture and a fixture for every expectation', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    expect(Object.keys(expected).sort()).toEqual([...files].sort());
  });

  it.each(files)('%s', async (name) => {
    const result = await inspectEmail(read(name), { file: name });
    const want = expected[name]!;
    expect({
      kind: result.kind,
      requester: result.requester?.address ?? null,
      subject: result.subject,
      replyTextPrefix: result.replyText.slice(0, 40),
      attachments: result.attachments.map((part) => part.name),
      threading: result.threading,
      problems: result.problems.length,
      ...(result.failedRecipient ? { failedRecipient: result.failedRecipient } : {}),
    }).toEqual(want);
  });
});

describe('fixture details', () => {
  it('decodes every charset to UTF-8', async () => {
    const japanese = await parseEmail(read('charset-iso-2022-jp.eml'));
    expect(japanese.from).toEqual({ address: 'yamada@customer.example.jp', name: '山田太郎' });
    expect(japanese.text).toContain('3階のプリンターが動きません。');
    const windows = await parseEmail(read('charset-windows-1252.eml'));
    expect(windows.from?.name).toBe('Zoë Müller');
    expect(windows.text).toContain('café says €100 – “smart quotes”');
    const latin1 = await parseEmail(read('charset-latin1-headers.eml'));
    expect(latin1.from?.name).toBe('Jürgen Grüßer');
    expect(latin1.text).toContain('möchte eine Rückerstattung für');
  });

  it('keeps the 10 MB attachment under the default limit and drops it under a smaller one', async () => {
    const raw = read('attachment-10mb.eml');
    const kept = await parseEmail(raw);
    expect(kept.attachments[0]).toMatchObject({ name: 'disk.img', size: 10_000_000 });
    const dropped = await parseEmail(raw, { maxAttachmentBytes: 5_000_000 });
    expect(dropped.attachments).toEqual([]);
    expect(dropped.problems).toEqual(['attachment over limit dropped: disk.img (10000000 bytes)']);
    expect(dropped.text).toBe('Disk image attached.');
  });

  it('keeps cid images that exist and exposes the part as inline', async () => {
    const parsed = await parseEmail(read('inline-cid-image.eml'));
    expect(parsed.attachments[0]).toMatchObject({ contentId: 'shot1@customer.example', inline: true });
    expect(parsed.html).toContain('src="cid:shot1@customer.example"');
    expect(parsed.html).not.toContain('missing@x');
    const rewritten = await parseEmail(read('inline-cid-image.eml'), {
      inlineImages: new Map([['shot1@customer.example', '/attachments/1']]),
    });
    expect(rewritten.html).toContain('src="/attachments/1"');
  });

  it('sanitizes hostile HTML from a real message', async () => {
    const parsed = await parseEmail(read('html-hostile.eml'));
    for (const bad of [
      '<script',
      'onclick',
      'onerror',
      '<iframe',
      '<form',
      'javascript:',
      'tracker.example',
      'url(',
    ]) {
      expect(parsed.html).not.toContain(bad);
    }
    expect(parsed.html).toContain('href="https://docs.example/help"');
  });

  it('moves the delivery status out of the attachments', async () => {
    const parsed = await parseEmail(read('bounce-postfix.eml'));
    expect(parsed.deliveryStatus).toContain('Final-Recipient: rfc822; gone@customer.example');
    expect(parsed.attachments.map((part) => part.contentType)).toEqual(['text/rfc822-headers']);
  });
});
