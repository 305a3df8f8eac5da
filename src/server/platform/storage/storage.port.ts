import type { Readable } from 'node:stream';

/**
 * Where uploaded files (attachments, avatars) live. Two drivers — a local folder and S3 —
 * implement this port. Keys are opaque, slash-separated names chosen by the caller, such as
 * `org/<uuid>/attachments/<uuid>`; the database holds the key, never a path or a URL.
 */

/** A file body: a whole buffer, or a stream that drivers consume without buffering it. */
export type FileBody = Buffer | NodeJS.ReadableStream;

/** Options of {@link FileStorage.put}. */
export interface PutFileOptions {
  /** MIME type returned by `stat`, e.g. to set Content-Type when serving the file. */
  contentType?: string;
}

/** What `put` stored. */
export interface StoredFile {
  key: string;
  /** Bytes written. */
  size: number;
}

/** Options of {@link FileStorage.downloadUrl}. */
export interface DownloadUrlOptions {
  /** How long the URL stays valid. */
  expiresInSeconds: number;
  /** Sent back as the Content-Disposition attachment name (made header-safe by the driver). */
  fileName: string;
  /** Sent back as the Content-Type, whatever the stored object says. */
  contentType: string;
}

/** What `stat` knows about a stored file. */
export interface FileMetadata {
  size: number;
  contentType?: string;
}

export interface FileStorage {
  readonly driver: 'local' | 's3';
  /**
   * Stores `body` under `key`, replacing any previous file atomically: readers see the old
   * file or the new one, never a partial write. Rejects unsafe keys with InvalidStorageKeyError.
   */
  put(key: string, body: FileBody, options?: PutFileOptions): Promise<StoredFile>;
  /** Opens the file for reading; rejects with FileNotFoundError when it does not exist. */
  get(key: string): Promise<Readable>;
  /** Size and content type, or null when the file does not exist. */
  stat(key: string): Promise<FileMetadata | null>;
  /** Removes the file; removing a missing file is not an error. */
  delete(key: string): Promise<void>;
  /**
   * A URL the client may fetch the file from directly, without credentials, for a caller
   * already allowed to read it; null when the driver has none and the API must stream the
   * bytes itself. Does not check that the file exists.
   */
  downloadUrl(key: string, options: DownloadUrlOptions): Promise<string | null>;
  /** Resolves when the backend accepts writes (readiness checks). */
  ping(): Promise<void>;
}

/** Thrown by `get` for a key with no file; `code` lets callers map it without instanceof. */
export class FileNotFoundError extends Error {
  override name = 'FileNotFoundError';
  readonly code = 'NOT_FOUND';

  constructor(readonly key: string) {
    super(`No stored file under key "${key}"`);
  }
}

/** Thrown for a key that could escape the storage root or mean different files per driver. */
export class InvalidStorageKeyError extends Error {
  override name = 'InvalidStorageKeyError';
  readonly code = 'INVALID_STORAGE_KEY';
}

const MAX_KEY_LENGTH = 1024;

/**
 * Rejects keys that are unsafe on any driver: empty, absolute, with `.`/`..` or empty
 * segments, backslashes (a separator on Windows), NUL or other control characters.
 * Drivers call this on every operation, so a key from user input can never reach a path.
 */
export function assertSafeStorageKey(key: string): void {
  const reject = (reason: string): never => {
    throw new InvalidStorageKeyError(`Invalid storage key ${JSON.stringify(key)}: ${reason}`);
  };
  if (typeof key !== 'string' || key === '') reject('must be a non-empty string');
  if (key.length > MAX_KEY_LENGTH) reject(`must be at most ${MAX_KEY_LENGTH} characters`);
  if (key.startsWith('/')) reject('must be relative');
  if (key.includes('\\')) reject('must not contain backslashes');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is rejected
  if (/[\u0000-\u001f\u007f]/.test(key)) reject('must not contain NUL or control characters');
  for (const segment of key.split('/')) {
    if (segment === '') reject('must not contain empty segments');
    if (segment === '.' || segment === '..') reject('must not contain "." or ".." segments');
  }
}
