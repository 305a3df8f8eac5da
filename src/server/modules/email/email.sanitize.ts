import { createRequire } from 'node:module';
import type SanitizeHtml from 'sanitize-html';

// Loaded on the first sanitised mail, synchronously (sanitize-html is CommonJS): an API
// process that never receives mail does not hold it.
let loaded: typeof SanitizeHtml | undefined;
const sanitizer = (): typeof SanitizeHtml => {
  loaded ??= createRequire(import.meta.url)('sanitize-html') as typeof SanitizeHtml;
  return loaded;
};

/** Options for {@link sanitizeEmailHtml}. */
export interface SanitizeOptions {
  /** Content-ID (without angle brackets) → URL the browser may load the inline part from. */
  inlineImages: Map<string, string>;
}

// Values only: a url() or expression() in any style could fetch a tracker or run code.
const SAFE_STYLE_VALUE = /^(?!.*(?:url|expression|image-set)\s*\()[-#%.,\s\w()"']+$/i;
const STYLE_PROPERTIES = [
  'color',
  'background-color',
  'font-weight',
  'font-style',
  'font-size',
  'font-family',
  'text-align',
  'text-decoration',
  'white-space',
  'border',
  'padding',
  'margin',
  'width',
];

const LINK_REL = 'noopener noreferrer nofollow';

/** The Content-ID a `cid:` URL points at, or null when the URL is not one. */
function contentIdOf(src: string): string | null {
  const match = /^cid:\s*<?([^<>]+?)>?\s*$/i.exec(src.trim());
  return match ? decodeURIComponent(match[1]!) : null;
}

/**
 * Sanitizes the HTML body of an email for display in the agent UI.
 *
 * Everything active (scripts, styles, event handlers, frames, forms, `javascript:` URLs) is
 * removed. Remote images are dropped without a placeholder because in mail they are almost
 * always read-receipt trackers; `cid:` images are rewritten through `inlineImages` and dropped
 * when the part is unknown. Links open in a new tab without leaking the helpdesk URL.
 */
export function sanitizeEmailHtml(html: string, options: SanitizeOptions): string {
  const sanitizeHtml = sanitizer();
  return sanitizeHtml(html, {
    allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img', 'font', 'center'],
    nonTextTags: ['script', 'style', 'textarea', 'option', 'noscript', 'title', 'head', 'template'],
    allowedAttributes: {
      a: ['href', 'name', 'title', 'rel', 'target'],
      img: ['src', 'alt', 'title', 'width', 'height'],
      font: ['color', 'size', 'face'],
      table: ['border', 'cellpadding', 'cellspacing', 'width', 'align'],
      td: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      th: ['colspan', 'rowspan', 'align', 'valign', 'width'],
      '*': ['style', 'dir', 'lang'],
    },
    allowedStyles: { '*': Object.fromEntries(STYLE_PROPERTIES.map((name) => [name, [SAFE_STYLE_VALUE]])) },
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    // Only URLs from inlineImages survive transformTags below, so cid: here is one of ours.
    allowedSchemesByTag: { img: ['http', 'https', 'cid'] },
    allowProtocolRelative: false,
    transformTags: {
      a: (tagName, attribs) => ({ tagName, attribs: { ...attribs, rel: LINK_REL, target: '_blank' } }),
      img: (tagName, attribs) => {
        const { src: source = '', ...rest } = attribs;
        const contentId = contentIdOf(source);
        const url = contentId === null ? undefined : options.inlineImages.get(contentId);
        // An img without src is removed by exclusiveFilter below.
        return { tagName, attribs: url === undefined ? rest : { ...rest, src: url } };
      },
    },
    exclusiveFilter: (frame) => frame.tag === 'img' && !frame.attribs.src,
  });
}
