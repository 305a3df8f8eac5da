import {
  type MalwareScanner,
  ScanFailedError,
  type ScanVerdict,
  sniffContentType,
} from '../../platform/scan/index.js';
import type { EmailAttachment } from './email.parse.js';

/** A mail kept out because of its files; it is quarantined with `reason`. */
export class RejectedMail extends Error {
  override name = 'RejectedMail';

  constructor(
    readonly reason: 'infected' | 'scan_failed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Scans the files of a mail before anything of it is stored, and reads each file's real
 * type from its bytes. Throws {@link RejectedMail}: `infected` naming the file and the
 * signature, `scan_failed` when the scanner gave no verdict, so nothing unscanned is kept.
 */
export async function screenAttachments(
  scanner: MalwareScanner,
  attachments: readonly EmailAttachment[],
): Promise<EmailAttachment[]> {
  const screened: EmailAttachment[] = [];
  for (const attachment of attachments) {
    let verdict: ScanVerdict;
    try {
      verdict = await scanner.scan(attachment.content);
    } catch (error) {
      if (!(error instanceof ScanFailedError)) throw error;
      throw new RejectedMail(
        'scan_failed',
        `Attachment "${attachment.name}" was not scanned: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    if (verdict.verdict === 'infected')
      throw new RejectedMail('infected', `Attachment "${attachment.name}" is infected: ${verdict.signature}`);
    screened.push({
      ...attachment,
      contentType: await sniffContentType(attachment.content, attachment.contentType),
    });
  }
  return screened;
}
