import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const MAC_CHARS = 12;

/** Lower-case RFC 4648 base32 without padding: survives mail systems that fold case. */
function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const char of text) {
    const index = ALPHABET.indexOf(char);
    if (index < 0) return undefined;
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/**
 * Reply tokens: the `t-<token>` in `support+t-<token>@domain` that routes a customer's reply
 * back to its ticket. A token is the ticket id (base32, 26 characters) followed by 12
 * characters (60 bits) of HMAC-SHA256 over org and ticket id, so the inbound side reads the
 * ticket straight from the token and nobody can forge one for a ticket they only guessed.
 */
export class ReplyTokens {
  constructor(private readonly key: Buffer) {}

  /** The token of a ticket (stable: every mail of the ticket carries the same one). */
  issue(orgId: string, ticketId: string): string {
    return base32(Buffer.from(ticketId.replaceAll('-', ''), 'hex')) + this.mac(orgId, ticketId);
  }

  /** The ticket id a token names, when its MAC is right for `orgId`; undefined otherwise. */
  verify(orgId: string, token: string): string | undefined {
    const lower = token.toLowerCase();
    const bytes = fromBase32(lower.slice(0, 26));
    if (bytes?.length !== 16 || lower.length !== 26 + MAC_CHARS) return undefined;
    const hex = bytes.toString('hex');
    const ticketId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const expected = Buffer.from(this.mac(orgId, ticketId));
    const given = Buffer.from(lower.slice(26));
    return expected.length === given.length && timingSafeEqual(expected, given) ? ticketId : undefined;
  }

  /**
   * HMAC-SHA256 under the same key, for other signed links (satisfaction surveys). The
   * `purpose` is part of the MAC input, so a signature for one use never verifies as another
   * (nor as a reply token, whose input has no purpose prefix).
   */
  sign(purpose: string, message: string | Buffer): Buffer {
    return createHmac('sha256', this.key).update(`${purpose}\0`).update(message).digest();
  }

  private mac(orgId: string, ticketId: string): string {
    const digest = createHmac('sha256', this.key).update(`${orgId}:${ticketId}`).digest();
    return base32(digest).slice(0, MAC_CHARS);
  }
}

/**
 * The reply-token key. `MAIL_REPLY_SECRET` when set; otherwise derived (HKDF) from
 * `JWT_PRIVATE_KEY`, a secret every process already shares; otherwise (the embedded mode,
 * one process) a random key kept in `DATA_DIR/mail-reply.key`, so tokens survive restarts.
 * Config refuses SMTP on PostgreSQL without one of the first two, because API and worker
 * processes need the same key. Changing the key invalidates the Reply-To of mail already sent.
 */
export function replyTokenKey(config: {
  mailReplySecret: string | undefined;
  jwtPrivateKey: string | undefined;
  dataDir: string;
}): Buffer {
  const derive = (secret: string) =>
    Buffer.from(hkdfSync('sha256', secret, 'switchboard', 'mail reply tokens', 32));
  if (config.mailReplySecret) return derive(config.mailReplySecret);
  if (config.jwtPrivateKey) return derive(config.jwtPrivateKey);
  const file = path.join(config.dataDir, 'mail-reply.key');
  const read = () => Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (fs.existsSync(file)) return read();
  const key = randomBytes(32);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    // Another start wrote it first: keep theirs.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return read();
  }
}
