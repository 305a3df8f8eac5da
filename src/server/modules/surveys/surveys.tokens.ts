import { timingSafeEqual } from 'node:crypto';
import type { ReplyTokens } from '../email/index.js';

const MAC_BYTES = 16;
const BODY_BYTES = 16 + 16 + 4;
const PURPOSE = 'csat';

const uuidBytes = (id: string) => Buffer.from(id.replaceAll('-', ''), 'hex');
const uuidOf = (bytes: Buffer) => {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

export type SurveyTokenCheck =
  | { valid: true; orgId: string; ticketId: string; expiresAt: Date }
  | { valid: false; reason: 'invalid' | 'expired'; expiresAt?: Date };

/**
 * Survey links: ticket id, organisation and expiry (seconds) with 128 bits of HMAC, in
 * base64url (70 characters). Signed with the reply-token key (`ReplyTokens.sign`, purpose
 * `csat`), so API and worker processes agree without a second secret; the link names its
 * organisation, which the public route needs before it may open a tenant transaction.
 */
export class SurveyTokens {
  constructor(private readonly signer: Pick<ReplyTokens, 'sign'>) {}

  issue(orgId: string, ticketId: string, expiresAt: Date): string {
    const expiry = Buffer.alloc(4);
    expiry.writeUInt32BE(Math.floor(expiresAt.getTime() / 1000));
    const body = Buffer.concat([uuidBytes(ticketId), uuidBytes(orgId), expiry]);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** Checks the MAC first: an expired answer is only given for a token we really issued. */
  verify(token: string, now: Date): SurveyTokenCheck {
    if (!/^[A-Za-z0-9_-]{70}$/.test(token)) return { valid: false, reason: 'invalid' };
    const bytes = Buffer.from(token, 'base64url');
    if (bytes.length !== BODY_BYTES + MAC_BYTES) return { valid: false, reason: 'invalid' };
    const body = bytes.subarray(0, BODY_BYTES);
    if (!timingSafeEqual(this.mac(body), bytes.subarray(BODY_BYTES)))
      return { valid: false, reason: 'invalid' };
    const expiresAt = new Date(body.readUInt32BE(32) * 1000);
    if (expiresAt.getTime() <= now.getTime()) return { valid: false, reason: 'expired', expiresAt };
    return {
      valid: true,
      ticketId: uuidOf(body.subarray(0, 16)),
      orgId: uuidOf(body.subarray(16, 32)),
      expiresAt,
    };
  }

  private mac(body: Buffer): Buffer {
    return this.signer.sign(PURPOSE, body).subarray(0, MAC_BYTES);
  }
}
