import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
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

/** Options of {@link LocalFileStorage}. */
export interface LocalFileStorageOptions {
  /** Folder holding everything; created on first write. */
  root: string;
}

/**
 * The sidecar of a stored file, written when a put names a content type. A put without one
 * removes the sidecar of the file it replaces, so a replaced file never keeps stale metadata.
 * Creating a file is the dear part of a put (about 0.8 ms of kernel time here, whatever its
 * size), so files whose type the database records are put without one.
 */
const FileSidecar = z.object({ contentType: z.string().optional() });
type FileSidecar = z.infer<typeof FileSidecar>;

/** Error codes meaning "nothing stored there" (ENOTDIR: a parent segment is a file). */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR']);
/** What creating a file in a folder that does not exist fails with. */
const MISSING_FOLDER = new Set(['ENOENT']);

function hasCode(error: unknown, codes: Set<string>): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.has(error.code);
}

/**
 * Writes to a temp file beside `target` and renames it over `target`: rename within one
 * directory is atomic, so readers and concurrent writers only ever see complete files.
 * Returns the bytes written.
 */
async function writeAtomically(target: string, body: FileBody): Promise<number> {
  // A leading dot and a random part keep temp files apart from each other and from real keys.
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomUUID()}.tmp`);
  try {
    let size: number;
    // `flush` fsyncs before the rename, so a crash cannot leave an empty file under the key.
    if (body instanceof Uint8Array) {
      await writeFile(temp, body, { flag: 'wx', flush: true });
      size = body.byteLength;
    } else {
      await pipeline(body, createWriteStream(temp, { flags: 'wx', flush: true }));
      size = (await stat(temp)).size;
    }
    await rename(temp, target);
    return size;
  } catch (error) {
    await rm(temp, { force: true }).catch((cleanupError: unknown) => {
      throw new AggregateError([error, cleanupError], `Writing ${target} failed and its temp file remains`);
    });
    throw error;
  }
}

/** Removes a file; a missing file or a directory in its place means there is nothing to remove. */
async function unlinkIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if (!hasCode(error, new Set([...MISSING_CODES, 'EISDIR']))) throw error;
  }
}

/**
 * Files in a local folder: `<root>/objects/<key>` holds the bytes and `<root>/meta/<key>.json`
 * the content type. Separate trees mean no key can collide with another key's sidecar.
 */
export class LocalFileStorage implements FileStorage {
  readonly driver = 'local' as const;
  readonly #root: string;
  readonly #objectsRoot: string;
  readonly #metaRoot: string;
  /** Tail of the pending writes per key, so a file and its sidecar always come from one put. */
  readonly #writes = new Map<string, Promise<unknown>>();
  /**
   * Folders this instance has made or found, so a put into a known folder costs no `mkdir`
   * (keys such as `email/<org>/<id>.eml` share a few folders). A folder removed behind our
   * back is made again: see {@link #writeInto}.
   */
  readonly #folders = new Set<string>();

  constructor(options: LocalFileStorageOptions) {
    this.#root = path.resolve(options.root);
    this.#objectsRoot = path.join(this.#root, 'objects');
    this.#metaRoot = path.join(this.#root, 'meta');
  }

  async put(key: string, body: FileBody, options: PutFileOptions = {}): Promise<StoredFile> {
    assertSafeStorageKey(key);
    const objectPath = this.#pathIn(this.#objectsRoot, key);
    const sidecarPath = `${this.#pathIn(this.#metaRoot, key)}.json`;
    const { contentType } = options;
    return this.#serialize(key, async () => {
      const size = await this.#writeInto(objectPath, body);
      if (contentType === undefined) await unlinkIfPresent(sidecarPath);
      else
        await this.#writeInto(
          sidecarPath,
          Buffer.from(JSON.stringify({ contentType } satisfies FileSidecar)),
        );
      return { key, size };
    });
  }

  async get(key: string): Promise<Readable> {
    assertSafeStorageKey(key);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#pathIn(this.#objectsRoot, key), 'r');
    } catch (error) {
      if (hasCode(error, MISSING_CODES)) throw new FileNotFoundError(key);
      throw error;
    }
    // Reading through the open handle keeps serving this version even if it is replaced or
    // deleted meanwhile; the stream closes the handle when it ends or fails.
    try {
      if (!(await handle.stat()).isFile()) throw new FileNotFoundError(key);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle.createReadStream();
  }

  async stat(key: string): Promise<FileMetadata | null> {
    assertSafeStorageKey(key);
    let size: number;
    try {
      const info = await stat(this.#pathIn(this.#objectsRoot, key));
      if (!info.isFile()) return null;
      size = info.size;
    } catch (error) {
      if (hasCode(error, MISSING_CODES)) return null;
      throw error;
    }
    const sidecar = await this.#readSidecar(key);
    return sidecar.contentType === undefined ? { size } : { size, contentType: sidecar.contentType };
  }

  async delete(key: string): Promise<void> {
    assertSafeStorageKey(key);
    await this.#serialize(key, async () => {
      await unlinkIfPresent(this.#pathIn(this.#objectsRoot, key));
      await unlinkIfPresent(`${this.#pathIn(this.#metaRoot, key)}.json`);
    });
  }

  /** Local files have no URL of their own: the API streams them. */
  async downloadUrl(key: string, _options: DownloadUrlOptions): Promise<null> {
    assertSafeStorageKey(key);
    return null;
  }

  async ping(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
    // Writing is the only reliable probe: permissions, a read-only mount and a full disk
    // all show up here, while access(W_OK) misses some of them.
    const probe = path.join(this.#root, `.ping-${randomUUID()}`);
    await writeFile(probe, 'ok', { flag: 'wx' });
    await rm(probe);
  }

  /**
   * {@link writeAtomically} into a folder made on first use. A buffer written into a known
   * folder that was removed behind our back (ENOENT) is written again after making it; a
   * stream cannot be replayed after a failed open, so its folder is always made first.
   */
  async #writeInto(target: string, body: FileBody): Promise<number> {
    const folder = path.dirname(target);
    if (!(body instanceof Uint8Array) || !this.#folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.#folders.add(folder);
      return writeAtomically(target, body);
    }
    try {
      return await writeAtomically(target, body);
    } catch (error) {
      if (!hasCode(error, MISSING_FOLDER)) throw error;
      await mkdir(folder, { recursive: true });
      return writeAtomically(target, body);
    }
  }

  async #readSidecar(key: string): Promise<FileSidecar> {
    const sidecarPath = `${this.#pathIn(this.#metaRoot, key)}.json`;
    let text: string;
    try {
      text = await readFile(sidecarPath, 'utf8');
    } catch (error) {
      // Files written before sidecars existed, or by hand, simply have no content type.
      if (hasCode(error, MISSING_CODES)) return {};
      throw error;
    }
    try {
      return FileSidecar.parse(JSON.parse(text));
    } catch (error) {
      throw new Error(`Corrupt metadata file ${sidecarPath}`, { cause: error });
    }
  }

  /** Maps a validated key into `base`, re-checking containment as a second line of defence. */
  #pathIn(base: string, key: string): string {
    const resolved = path.join(base, ...key.split('/'));
    if (!resolved.startsWith(base + path.sep)) throw new Error(`Storage key escapes the root: ${key}`);
    return resolved;
  }

  /**
   * Runs writes of one key one after another within this process. Across processes the
   * renames still keep every file whole, but a file and its sidecar may then come from
   * different puts.
   */
  async #serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const current = previous.then(task);
    // The chain waits for `current` to settle either way; its outcome reaches the caller below.
    const tail = Promise.allSettled([current]);
    this.#writes.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#writes.get(key) === tail) this.#writes.delete(key);
    }
  }
}
