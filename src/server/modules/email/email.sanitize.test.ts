import { describe, expect, it } from 'vitest';
import { sanitizeEmailHtml } from './email.sanitize.js';

const clean = (html: string, images: [string, string][] = []) =>
  sanitizeEmailHtml(html, { inlineImages: new Map(images) });

describe('sanitizeEmailHtml', () => {
  it('removes scripts and styles with their content', () => {
    expect(clean('<p>a</p><script>alert(1)</script><style>p{}</style><noscript>n</noscript>')).toBe(
      '<p>a</p>',
    );
  });

  it('removes event handlers, iframes and forms', () => {
    const html = clean(
      '<div onmouseover="x()"><iframe src="https://e.example"></iframe><form><input></form>ok</div>',
    );
    expect(html).toBe('<div>ok</div>');
  });

  it('drops javascript: and data: links but keeps the text', () => {
    expect(clean('<a href="javascript:alert(1)">x</a>')).toBe(
      '<a rel="noopener noreferrer nofollow" target="_blank">x</a>',
    );
    expect(clean('<a href="JaVaScRiPt&colon;alert(1)">x</a>')).not.toContain('alert');
    expect(clean('<a href="data:text/html,<script>">x</a>')).not.toContain('data:');
  });

  it('forces safe rel and target on links, overriding the sender', () => {
    const html = clean('<a href="https://a.example" target="_self" rel="opener">a</a>');
    expect(html).toContain('rel="noopener noreferrer nofollow"');
    expect(html).toContain('target="_blank"');
    expect(html).not.toContain('_self');
  });

  it('removes remote images (trackers) without a trace', () => {
    expect(clean('<p>x<img src="https://t.example/p.gif" width="1" height="1"></p>')).toBe('<p>x</p>');
    expect(clean('<img src="//t.example/p.gif">')).toBe('');
    expect(clean('<img srcset="https://t.example/p.gif 1x">')).toBe('');
  });

  it('rewrites cid: images through the map and drops unknown ones', () => {
    const images: [string, string][] = [['logo@x', '/api/attachments/7']];
    expect(clean('<img src="cid:logo@x" alt="logo">', images)).toBe(
      '<img alt="logo" src="/api/attachments/7" />',
    );
    expect(clean('<img src="CID:<logo@x>">', images)).toBe('<img src="/api/attachments/7" />');
    expect(clean('<img src="cid:other@x">', images)).toBe('');
  });

  it('keeps harmless inline styles and drops any url()', () => {
    expect(clean('<p style="color:red;font-weight:bold">a</p>')).toBe(
      '<p style="color:red;font-weight:bold">a</p>',
    );
    expect(clean('<p style="background:url(https://t.example/x)">a</p>')).toBe('<p>a</p>');
    expect(clean('<td style="background-color:url(https://t.example/x)">a</td>')).not.toContain('url');
  });
});
