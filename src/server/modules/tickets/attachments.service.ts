import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { newId } from '../../platform/db/columns.js';
import { AppError } from '../../platform/http/app-error.js';
import type { Actor } from '../identity/index.js';
import type { TicketsContext } from './tickets.context.js';
import { requirePermission } from './tickets.policy.js';
import { presentAttachment } from './tickets.presenter.js';
import * as repo from './tickets.repository.js';
import type { TicketsService } from './tickets.service.js';

const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
const UNSAFE_NAME = /[\u0000-\u001f\u007f/\\:*?"<>|]+/g;

/** The download route of an attachment (`GET /api/v1/attachments/:id`), as links in content use it. */
export function attachmentUrl(id: string): string {
  return `/api/v1/attachments/${id}`;
}

/** A file name safe to store and to send back in Content-Disposition. */
export function safeFileName(name: string | undefined): string {
  const base = (name ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base.replace(UNSAFE_NAME, '_').replace(/^\.+/, '').trim().slice(0, 200);
  return cleaned || 'attachment';
}

/** The media type of an upload, without parameters; unknown shapes become octet-stream. */
export function safeContentType(header: string | undefined): string {
  const type = (header ?? '').split(';')[0]!.trim().toLowerCase();
  return CONTENT_TYPE.test(type) ? type : 'application/octet-stream';
}

/**
 * Uploads: bytes go to file storage first, then the metadata row; a failed insert removes
 * the file. An upload belongs to its uploader until a message claims it.
 */
export class AttachmentsService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
    /** Lifetime of a pre-signed download URL, when the storage hands them out. */
    private readonly downloadUrlTtlSeconds = 900,
  ) {}

  async upload(
    actor: Actor,
    input: { fileName: string | undefined; contentType: string | undefined; body: Buffer },
  ) {
    requirePermission(actor, 'ticket:create', 'Uploading attachments');
    if (input.body.length === 0) throw new AppError('UNPROCESSABLE', 'The file is empty');
    const id = newId();
    const storageKey = `attachments/${actor.orgId}/${id}`;
    const contentType = safeContentType(input.contentType);
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
