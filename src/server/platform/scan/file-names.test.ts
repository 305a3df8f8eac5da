import { describe, expect, it } from 'vitest';
import { contentDisposition, safeFileName } from './file-names.js';

describe('safeFileName', () => {
  it.each([
    ['../../etc/passwd\r\n.pdf', 'etc_passwd.pdf'],
    ['C:\\Users\\me\\report.txt', 'C__Users_me_report.txt'],
    ['"quoted" <name>.txt', '_quoted_ _name_.txt'],
    ['invoice\u2066fdp.exe\u2069', 'invoicefdp.exe'],
    ['...', 'attachment'],
  ])('%j → %j', (input, output) => {
    expect(safeFileName(input)).toBe(output);
  });
});

describe('contentDisposition', () => {
  it('offers a name without quotes, backslashes or line breaks, and the exact name encoded', () => {
    expect(contentDisposition('a"b\\c\r\nd.pdf')).toBe(
      `attachment; filename="a_b_c__d.pdf"; filename*=UTF-8''a%22b%5Cc%0D%0Ad.pdf`,
    );
  });

  it('says inline when asked', () => {
    expect(contentDisposition('shot.png', 'inline')).toBe(
      `inline; filename="shot.png"; filename*=UTF-8''shot.png`,
    );
  });
});
