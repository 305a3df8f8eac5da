import { createHash } from 'node:crypto';

export const REFRESH_TOKEN_PREFIX = 'sb_rt_';
export const API_TOKEN_PREFIX = 'sb_pat_';

/** SHA-256 of a bearer secret: secrets are long and random, so no salt or slow hash is needed. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
