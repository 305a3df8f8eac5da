import { describe, expect, it } from 'vitest';
import { dispositionFor, sniffContentType } from './sniff.js';

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e2b0290000000049454e44ae426082',
  'hex',
);
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
/** The first bytes of a zip archive (a local file header). */
const ZIP = Buffer.concat([Buffer.from('504b0304140000000000', 'hex'), Buffer.alloc(40)]);

describe('sniffContentType', () => {
  it.each([
    [
      'an HTML page declared as PNG',
      Buffer.from('\n  <!DOCTYPE html><html><script>alert(1)</script>'),
      'image/png',
      'text/html',
    ],
    [
      'an HTML fragment declared as text',
      Buffer.from('<script>alert(1)</script>'),
      'text/plain',
      'text/html',
    ],
    ['a comment opening HTML', Buffer.from('<!-- x --><p>hi'), 'application/octet-stream', 'text/html'],
    [
      'SVG declared as PNG',
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'image/png',
      'image/svg+xml',
    ],
    [
      'SVG after an XML declaration',
      Buffer.from('<?xml version="1.0"?>\n<svg>'),
      'image/png',
      'image/svg+xml',
    ],
    ['a PNG declared as a download', PNG, 'application/octet-stream', 'image/png'],
    ['a PDF declared as text', PDF, 'text/plain', 'application/pdf'],
    ['plain text: the bytes say nothing', Buffer.from('log line 1\n'), 'text/plain', 'text/plain'],
    ['text starting with a tag-like word', Buffer.from('<abc> is a placeholder'), 'text/plain', 'text/plain'],
    [
      'XML of a specific XML type',
      Buffer.from('<?xml version="1.0"?><feed/>'),
      'application/atom+xml',
      'application/atom+xml',
    ],
    ['XML declared as PNG', Buffer.from('<?xml version="1.0"?><feed/>'), 'image/png', 'text/xml'],
    ['a zip-based office file', ZIP, 'application/vnd.example+zip', 'application/vnd.example+zip'],
    ['a zip declared as an image', ZIP, 'image/png', 'application/zip'],
  ])('%s', async (_case, bytes, declared, expected) => {
    expect(await sniffContentType(bytes, declared)).toBe(expected);
  });
});

describe('dispositionFor', () => {
  it('shows plain images inline and offers everything else as a download', () => {
    expect(['image/png', 'image/jpeg', 'image/gif', 'image/webp'].map(dispositionFor)).toEqual([
      'inline',
      'inline',
      'inline',
      'inline',
    ]);
    expect(['image/svg+xml', 'text/html', 'application/pdf', 'text/plain'].map(dispositionFor)).toEqual([
      'attachment',
      'attachment',
      'attachment',
      'attachment',
    ]);
  });
});
