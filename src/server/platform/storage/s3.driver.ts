import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { attachmentDisposition } from '../scan/file-names.js';
import {
  assertSafeStorageKey,
  type DownloadUrlOptions,
  type FileBody,
  type FileMetadata,
  FileNotFoundError,
  type FileStorage,
  type PutFileOptions,
  type StoredFile,
} from './storage.port.js';

/** The Content-Disposition of pre-signed downloads (shared with the API's own downloads). */
export { attachmentDisposition };

/** Options of {@link S3FileStorage}. */
export interface S3FileStorageOptions {
  bucket: string;
  region: string;
  /** Endpoint of an S3-compatible service (MinIO, R2, s3rver); AWS when unset. */
  endpoint?: string | undefined;
  /** Static keys; without them the SDK's default chain (env, profile, instance role) applies. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** `host/bucket/key` URLs instead of `bucket.host/key`, as MinIO and s3rver need. */
  forcePathStyle?: boolean | undefined;
  /** Prepended to every key, e.g. `switchboard/` to share a bucket. */
  prefix?: string | undefined;
  /** Bytes buffered per multipart part; S3 refuses parts under 5 MiB except the last one. */
  partSizeBytes?: number | undefined;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 8 * 1024 * 1024;
/** User metadata (`x-amz-meta-content-type`) holding the caller's type, so `stat` can tell "none given". */
const CONTENT_TYPE_META = 'content-type';

/** True for "no such object"; a missing bucket is a configuration error and stays one. */
function isMissingObject(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  if (error.name === 'NoSuchBucket') return false;
  return error.name === 'NoSuchKey' || error.name === 'NotFound' || error.$metadata.httpStatusCode === 404;
}

/**
 * Files in an S3 bucket (or anything speaking its API). PutObject and
 * CompleteMultipartUpload replace an object atomically, so readers never see a partial file.
 * Streams are uploaded in parts of `partSizeBytes` (one part in memory at a time) without
 * `@aws-sdk/lib-storage`, which is not a dependency; a stream shorter than one part is a
 * single PutObject.
 */
export class S3FileStorage implements FileStorage {
  readonly driver = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #partSize: number;

  constructor(options: S3FileStorageOptions) {
    const prefix = options.prefix?.replace(/\/+$/, '') ?? '';
    if (prefix !== '') assertSafeStorageKey(prefix);
    this.#prefix = prefix === '' ? '' : `${prefix}/`;
    this.#bucket = options.bucket;
    this.#partSize = Math.max(options.partSizeBytes ?? DEFAULT_PART_SIZE, MIN_PART_SIZE);
    this.#client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
      // The SDK's default CRC checksums (and `x-amz-checksum-mode` on pre-signed GETs) are not
      // understood by every S3-compatible service; checksums only where an API demands them.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: FileBody, options: PutFileOptions = {}): Promise<StoredFile> {
    assertSafeStorageKey(key);
    const typed = {
      ...(options.contentType === undefined
        ? {}
        : { ContentType: options.contentType, Metadata: { [CONTENT_TYPE_META]: options.contentType } }),
    };
    const target = { Bucket: this.#bucket, Key: this.#objectKey(key) };
    if (body instanceof Uint8Array) {
      await this.#client.send(new PutObjectCommand({ ...target, ...typed, Body: body }));
      return { key, size: body.byteLength };
    }

    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let size = 0;
    let uploadId: string | undefined;
    const parts: Array<{ ETag: string | undefined; PartNumber: number }> = [];
    const uploadPending = async () => {
      if (uploadId === undefined) {
        const created = await this.#client.send(new CreateMultipartUploadCommand({ ...target, ...typed }));
        if (!created.UploadId) throw new Error('S3 started a multipart upload without an UploadId');
        uploadId = created.UploadId;
      }
      const PartNumber = parts.length + 1;
      const part = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      const uploaded = await this.#client.send(
        new UploadPartCommand({ ...target, UploadId: uploadId, PartNumber, Body: part }),
      );
      parts.push({ ETag: uploaded.ETag, PartNumber });
    };
    try {
      for await (const chunk of body) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        pending.push(bytes);
        pendingBytes += bytes.length;
        size += bytes.length;
        if (pendingBytes >= this.#partSize) await uploadPending();
      }
      if (uploadId === undefined) {
        await this.#client.send(
          new PutObjectCommand({ ...target, ...typed, Body: Buffer.concat(pending, pendingBytes) }),
        );
        return { key, size };
      }
      if (pendingBytes > 0) await uploadPending();
      await this.#client.send(
        new CompleteMultipartUploadCommand({
          ...target,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      return { key, size };
    } catch (error) {
      // An unfinished multipart upload is invisible but billed until aborted.
      if (uploadId !== undefined) {
        await this.#client
          .send(new AbortMultipartUploadCommand({ ...target, UploadId: uploadId }))
          .catch((abortError: unknown) => {
            throw new AggregateError([error, abortError], `Uploading ${key} failed and its parts remain`);
          });
      }
      throw error;
    }
  }

  async get(key: string): Promise<Readable> {
    assertSafeStorageKey(key);
    try {
      const response = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
      );
      if (!(response.Body instanceof Readable)) throw new Error(`S3 returned no readable body for ${key}`);
      return response.Body;
    } catch (error) {
      if (isMissingObject(error)) throw new FileNotFoundError(key);
      throw error;
    }
  }

  async stat(key: string): Promise<FileMetadata | null> {
    assertSafeStorageKey(key);
    try {
      const head = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
      );
      const size = head.ContentLength ?? 0;
      // Objects written by other tools carry no such metadata and, like local files without a
      // sidecar, have no content type.
      const contentType = head.Metadata?.[CONTENT_TYPE_META];
      return contentType === undefined ? { size } : { size, contentType };
    } catch (error) {
      if (isMissingObject(error)) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeStorageKey(key);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
    } catch (error) {
      if (!isMissingObject(error)) throw error;
    }
  }

  async downloadUrl(key: string, options: DownloadUrlOptions): Promise<string> {
    assertSafeStorageKey(key);
    const command = new GetObjectCommand({
      Bucket: this.#bucket,
      Key: this.#objectKey(key),
      ResponseContentDisposition: attachmentDisposition(options.fileName),
      ResponseContentType: options.contentType,
    });
    return getSignedUrl(this.#client, command, { expiresIn: options.expiresInSeconds });
  }

  async ping(): Promise<void> {
    // A write probe needs only the permissions uploads need (HeadBucket needs s3:ListBucket).
    const probe = `${this.#prefix}.ping/${randomUUID()}`;
    await this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: probe, Body: 'ok' }));
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: probe }));
  }

  /** Releases the client's sockets. */
  close(): void {
    this.#client.destroy();
  }

  #objectKey(key: string): string {
    return this.#prefix + key;
  }
}
