import type { EmailAddress, ParsedEmail } from './email.parse.js';

/** The person who actually wrote a message, after undoing mailing-list rewriting. */
export interface RealSender {
  address: string;
  name: string;
  /** `group` when the sender was recovered from a Google Group rewrite. */
  via: 'group' | null;
  /** The group's address (the rewritten From) or List-Id, when via a group. */
  group: string | null;
}

const ADDRESS = /<?([^\s<>"]+@[^\s<>"]+\.[^\s<>"]+)>?/;
// Google Groups (and Workspace groups) rewrite the display name to "Jane Doe via Support".
const VIA_NAME = /^(.*?)\s+via\s+.+$/i;

function addressIn(value: string | undefined): string | null {
  const match = value ? ADDRESS.exec(value) : null;
  return match ? match[1]!.toLowerCase() : null;
}

/** `"Jane Doe" <jane@x>` → the display name, or '' when there is none. */
function nameIn(value: string | undefined): string {
  if (!value) return '';
  const name = value.replace(ADDRESS, '').replace(/["']/g, '').trim();
  return name.includes('@') ? '' : name;
}

function isGroupMessage(parsed: ParsedEmail): boolean {
  const listId = parsed.headers['list-id']?.toLowerCase() ?? '';
  return listId.includes('googlegroups.com') || Boolean(parsed.headers['x-original-sender']) || listId !== '';
}

/**
 * Returns the real customer behind a message. When a Google Group relays a message from a
 * domain with a strict DMARC policy it rewrites From to the group's own address and moves the
 * author to Reply-To (or X-Original-From); the ticket must belong to the author, not the group.
 */
export function realSender(parsed: ParsedEmail): RealSender {
  const from: EmailAddress = parsed.from ?? { address: '', name: '' };
  if (!isGroupMessage(parsed)) return { ...from, via: null, group: null };

  const originalFrom = parsed.headers['x-original-from'];
  const originalSender = addressIn(parsed.headers['x-original-sender']);
  const replyTo = parsed.replyTo.find((address) => address.address !== from.address);
  const rewritten = VIA_NAME.exec(from.name);
  const group = from.address || addressIn(parsed.headers['list-id']) || null;

  // Without the "via" rewrite, From is already the author (posted from a DMARC-lenient domain).
  const author = addressIn(originalFrom) ?? (rewritten ? (replyTo?.address ?? originalSender) : null);
  if (!author || author === from.address) return { ...from, via: null, group: null };

  const name = nameIn(originalFrom) || replyTo?.name || rewritten?.[1]?.replace(/^["']|["']$/g, '') || '';
  return { address: author, name, via: 'group', group };
}
