/**
 * File names from outside (uploads, mail attachments) made safe to store, and the
 * Content-Disposition header that offers a stored file back.
 */

/**
 * Makes a file name safe to store and offer for download: no control or bidi characters,
 * no directories (path segments are joined with `_`, `.` and `..` dropped), no reserved
 * characters, at most 200 characters (keeping the extension), never empty.
 */
export function safeFileName(name: string | undefined, fallback = 'attachment'): string {
  const base = (name ?? '')
    .normalize('NFC')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .split(/[\\/]/)
    .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
    .join('_')
    .replace(/[<>:"|?*]/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  const safe = base === '' ? fallback : base;
  if (safe.length <= 200) return safe;
  const extension = /\.[\w-]{1,10}$/.exec(safe)?.[0] ?? '';
  return safe.slice(0, 200 - extension.length) + extension;
}

/** RFC 5987 value: encodeURIComponent leaves `'()*` alone, but `'` delimits the charset there. */
function encodeRfc5987(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * A Content-Disposition (RFC 6266) with a printable-ASCII fallback name for old clients and
 * the exact name in `filename*` (RFC 5987); quotes, backslashes and control characters never
 * reach the header.
 */
export function contentDisposition(fileName: string, type: 'attachment' | 'inline' = 'attachment'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%\u0000-\u001f]/g, '_').trim() || 'download';
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeRfc5987(fileName)}`;
}

/** `attachment` with the file's name: the browser saves the file and never renders it. */
export function attachmentDisposition(fileName: string): string {
  return contentDisposition(fileName, 'attachment');
}
