import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed secret that does not open: another key, or a ciphertext moved to another row. */
export class SecretUnreadable extends Error {
  override name = 'SecretUnreadable';
}

/**
 * Mailbox credentials at rest: AES-256-GCM with a fresh 96-bit IV per value. The associated
 * data names the mailbox and the field, so a ciphertext copied to another mailbox or field
 * does not open. Sealed form: `v1.<base64url(iv | ciphertext | tag)>`.
 */
export class SecretBox {
  private readonly key: Buffer;

  /**
   * `rootKey` is the reply-token key (`replyTokenKey`), which every API and worker process
   * already shares; HKDF with its own label gives an independent key for credentials.
   */
  constructor(rootKey: Buffer) {
    this.key = Buffer.from(hkdfSync('sha256', rootKey, 'switchboard', 'mailbox credentials', 32));
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
  }

  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split('.');
    const bytes = Buffer.from(payload ?? '', 'base64url');
    if (version !== VERSION || bytes.length < IV_BYTES + TAG_BYTES)
      throw new SecretUnreadable('Not a sealed secret');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const body = bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES);
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    } catch (error) {
      // GCM says only "unable to authenticate": the key or the context differs.
      throw new SecretUnreadable(
        'The stored secret cannot be decrypted: every process needs the same MAIL_REPLY_SECRET (or JWT_PRIVATE_KEY)',
        { cause: error },
      );
    }
  }
}
