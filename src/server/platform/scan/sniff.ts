import { lazyImport } from '../lazy-import.js';

/** The binary signature tables, loaded with the first file that needs them. */
const fileType = lazyImport(() => import('file-type'));

/**
 * Container formats whose signature says less than a declared `application/…` type: a .docx
 * or .odt the detector does not know is still a zip, an .msg or .xls still an OLE file.
 */
const CONTAINERS = new Set(['application/zip', 'application/x-cfb']);

/** Declared types a browser would render or run: never kept against what the bytes say. */
const ACTIVE = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/javascript',
  'application/javascript',
]);

/** Images a browser shows without running anything: the only types offered inline. */
const INLINE_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/**
 * Tags that make a browser take a document for HTML when they open it (WHATWG MIME
 * Sniffing, "rules for identifying an unknown MIME type"), lower-case.
 */
const HTML_OPENERS = [
  '<!doctype html',
  '<html',
  '<head',
  '<script',
  '<iframe',
  '<h1',
  '<div',
  '<font',
  '<table',
  '<a',
  '<style',
  '<title',
  '<b',
  '<body',
  '<br',
  '<p',
  '<!--',
];

/** Whitespace, `>` or `/`: the end of a tag name. */
const TAG_END = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x3e, 0x2f]);
const SKIPPED = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x20]);
const MARKUP_WINDOW = 1024;

/** HTML, SVG or XML from the first bytes of a text document; undefined for anything else. */
function markupType(content: Buffer): string | undefined {
  let start = content[0] === 0xef && content[1] === 0xbb && content[2] === 0xbf ? 3 : 0;
  while (start < content.length && SKIPPED.has(content[start]!)) start++;
  if (content[start] !== 0x3c) return undefined;
  const head = content
    .subarray(start, start + MARKUP_WINDOW)
    .toString('latin1')
    .toLowerCase();
  const opens = (tag: string) => head.startsWith(tag) && TAG_END.has(head.charCodeAt(tag.length));
  if (opens('<svg')) return 'image/svg+xml';
  if (HTML_OPENERS.some(opens)) return 'text/html';
  if (head.startsWith('<?xml')) return /<svg[\s>/]/.test(head) ? 'image/svg+xml' : 'text/xml';
  return undefined;
}

function isXml(type: string): boolean {
  return type.endsWith('/xml') || type.endsWith('+xml');
}

/**
 * The type a file really has, from its bytes: binary signatures (the `file-type` package)
 * and markup a browser would render (HTML, SVG, XML). `declared` (already normalised) is
 * kept where the bytes say nothing, as for plain text, where they name only a container
 * format of a more precise declared type, and for XML declared as a specific XML type.
 */
export async function sniffContentType(content: Buffer, declared: string): Promise<string> {
  const markup = markupType(content);
  if (markup !== undefined) return markup === 'text/xml' && isXml(declared) ? declared : markup;
  const { fileTypeFromBuffer } = await fileType();
  const detected = (await fileTypeFromBuffer(content))?.mime;
  if (detected === undefined) return declared;
  if (CONTAINERS.has(detected) && declared.startsWith('application/') && !ACTIVE.has(declared))
    return declared;
  return detected;
}

/**
 * `inline` for the few image types a browser shows without running anything, `attachment`
 * (save, never render) for everything else.
 */
export function dispositionFor(contentType: string): 'inline' | 'attachment' {
  return INLINE_IMAGES.has(contentType) ? 'inline' : 'attachment';
}
