import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { newId } from '../../platform/db/columns.js';
import { AppError } from '../../platform/http/app-error.js';
import {
  type MalwareScanner,
  ScanFailedError,
  type ScanVerdict,
  safeFileName,
  sniffContentType,
} from '../../platform/scan/index.js';
import type { Actor } from '../identity/index.js';
import type { TicketsContext } from './tickets.context.js';
import { requirePermission } from './tickets.policy.js';
import { presentAttachment } from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { TicketsService } from './tickets.service.js';

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
/** Seconds a client waits before retrying an upload the scanner could not check. */
const SCAN_RETRY_AFTER_SECONDS = 30;

/** The download route of an attachment (`GET /api/v1/attachments/:id`), as links in content use it. */
export function attachmentUrl(id: string): string {
  return `/api/v1/attachments/${id}`;
}

/** The one file-name sanitizer, shared with mail attachments (email intake). */
export { safeFileName };

/** The media type of an upload, without parameters; unknown shapes become octet-stream. */
export function safeContentType(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPE.test(type) ? type : 'application/octet-stream';
}

/**
 * Uploads: the bytes are scanned for malware and their real type is read from them, then
 * they go to file storage, then the metadata row; a failed insert removes the file. An
 * upload belongs to its uploader until a message claims it.
 */
export class AttachmentsService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
    private readonly scanner: MalwareScanner,
    /** Lifetime of a pre-signed download URL, when the storage hands them out. */
    private readonly downloadUrlTtlSeconds = 900,
  ) {}

  async upload(
    actor: Actor,
    input: { fileName: string | undefined; contentType: string | undefined; body: Buffer },
  ) {
    requirePermission(actor, 'ticket:create', 'Uploading attachments');
    if (input.body.length === 0) throw new AppError('UNPROCESSABLE', 'The file is empty');
    await this.ensureClean(input.body);
    const id = newId();
    const storageKey = `attachments/${actor.orgId}/${id}`;
    const contentType = await sniffContentType(input.body, safeContentType(input.contentType));
    await this.context.storage.put(storageKey, input.body, { contentType });
    try {
      const row = await this.context.database.withOrg(actor.orgId, (tx) =>
        repo.insertAttachment(tx, {
          id,
          orgId: actor.orgId,
          uploaderId: actor.userId,
          fileName: safeFileName(input.fileName),
          contentType,
          sizeBytes: input.body.length,
          sha256: createHash('sha256').update(input.body).digest('hex'),
          storageKey,
        }),
      );
      return presentAttachment(row);
    } catch (error) {
      await this.context.storage.delete(storageKey).catch((cleanup: unknown) => {
        this.context.logger.error({ err: cleanup, storageKey }, 'could not remove an orphaned upload');
      });
      throw error;
    }
  }

  /**
   * Refuses an infected file (422 naming the signature) and one the scanner could not check
   * (503): nothing unscanned is stored.
   */
  private async ensureClean(body: Buffer): Promise<void> {
    let verdict: ScanVerdict;
    try {
      verdict = await this.scanner.scan(body);
    } catch (error) {
      if (!(error instanceof ScanFailedError)) throw error;
      throw new AppError('UNAVAILABLE', 'The file could not be scanned for malware; try again later', {
        retryAfterSeconds: SCAN_RETRY_AFTER_SECONDS,
        cause: error,
      });
    }
    if (verdict.verdict === 'infected')
      throw new AppError(
        'UNPROCESSABLE',
        `The file contains malware (${verdict.signature}) and was not kept`,
        {
          details: { signature: verdict.signature },
        },
      );
  }

  /**
   * For a caller who may see the attachment: a short-lived URL straight to the storage when
   * it offers one (S3), else metadata and a stream of the bytes.
   */
  async download(
    actor: Actor,
    attachmentId: string,
  ): Promise<{ url: string } | { url: null; meta: ReturnType<typeof presentAttachment>; stream: Readable }> {
    const { storageKey, ...meta } = await this.tickets.attachment(actor, attachmentId);
    const url = await this.context.storage.downloadUrl(storageKey, {
      expiresInSeconds: this.downloadUrlTtlSeconds,
      fileName: meta.fileName,
      contentType: meta.contentType,
    });
    if (url !== null) return { url };
    return { url, meta, stream: await this.context.storage.get(storageKey) };
  }
}
