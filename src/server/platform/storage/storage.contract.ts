import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileNotFoundError, type FileStorage, InvalidStorageKeyError } from './storage.port.js';

/** A fresh, empty storage for one test, and how to dispose of it. */
export interface StorageSubject {
  storage: FileStorage;
  /** A second instance over the same files, standing in for another process. */
  sibling: () => FileStorage;
  cleanup: () => Promise<void>;
}

export type MakeStorage = () => Promise<StorageSubject>;

/** What the backend under test can show. */
export interface StorageCapabilities {
  /** Whether the driver hands out URLs: a real URL is then fetched, expired or not. */
  downloadUrls: 'signed' | 'none';
  /**
   * Whether concurrent puts of one key leave one whole file. False only for a backend that
   * cannot (s3rver writes objects in place; S3 and MinIO replace them atomically).
   */
  atomicConcurrentPuts: boolean;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const UNSAFE_KEYS = ['', '/etc/passwd', '../outside', 'a/../../b', 'a/./b', 'a//b', 'a/', 'a\\b', 'a\u0000b'];

/**
 * The behaviour every `FileStorage` driver must show. Register it from a driver's test file;
 * `makeStorage` is called once per test and the suite disposes of what it made.
 */
export function describeFileStorageContract(
  label: string,
  makeStorage: MakeStorage,
  capabilities: StorageCapabilities,
): void {
  describe(`FileStorage contract: ${label}`, () => {
    let subject: StorageSubject;
    let storage: FileStorage;

    beforeEach(async () => {
      subject = await makeStorage();
      storage = subject.storage;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    it('round-trips a buffer with its content type', async () => {
      const body = Buffer.from('hello attachments');
      const key = 'org/1/attachments/a';
      expect(await storage.put(key, body, { contentType: 'text/plain' })).toEqual({ key, size: body.length });
      expect(await readAll(await storage.get(key))).toEqual(body);
      expect(await storage.stat(key)).toEqual({ size: body.length, contentType: 'text/plain' });
    });

    it('round-trips an empty file', async () => {
      expect(await storage.put('empty', Readable.from([]))).toEqual({ key: 'empty', size: 0 });
      expect((await readAll(await storage.get('empty'))).length).toBe(0);
      expect(await storage.stat('empty')).toEqual({ size: 0 });
    });

    it('round-trips a stream larger than one chunk', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
      const key = 'org/1/attachments/big';
      const stored = await storage.put(key, Readable.from(chunks), { contentType: 'image/png' });
      expect(stored.size).toBe(40 * 64 * 1024);
      expect((await readAll(await storage.get(key))).equals(Buffer.concat(chunks))).toBe(true);
      expect(await storage.stat(key)).toEqual({ size: stored.size, contentType: 'image/png' });
    });

    it('round-trips large-ish objects, buffered and streamed', async () => {
      const body = randomBytes(5 * 1024 * 1024 + 123);
      await storage.put('large/buffer', body);
      expect((await readAll(await storage.get('large/buffer'))).equals(body)).toBe(true);
      // 12 MiB in 256 KiB chunks: more than one multipart part on drivers that use them.
      const chunks = Array.from({ length: 48 }, () => randomBytes(256 * 1024));
      const stored = await storage.put('large/stream', Readable.from(chunks));
      expect(stored.size).toBe(12 * 1024 * 1024);
      expect((await readAll(await storage.get('large/stream'))).equals(Buffer.concat(chunks))).toBe(true);
      expect(await storage.stat('large/stream')).toEqual({ size: stored.size });
    });

    it('replaces a file and drops the previous content type', async () => {
      await storage.put('k', Buffer.from('first'), { contentType: 'text/plain' });
      await storage.put('k', Buffer.from('second, longer'));
      expect(await text(await storage.get('k'))).toBe('second, longer');
      expect(await storage.stat('k')).toEqual({ size: 14 });
    });

    it('reports missing keys as NOT_FOUND on get and null on stat', async () => {
      await storage.put('dir/file', Buffer.from('x'));
      for (const key of ['missing', 'dir', 'dir/file/below']) {
        const failure = storage.get(key);
        await expect(failure).rejects.toBeInstanceOf(FileNotFoundError);
        await expect(failure).rejects.toMatchObject({ code: 'NOT_FOUND' });
        expect(await storage.stat(key)).toBeNull();
      }
    });

    it('rejects unsafe keys on every operation', async () => {
      const options = { expiresInSeconds: 60, fileName: 'x', contentType: 'text/plain' };
      for (const key of UNSAFE_KEYS) {
        await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.get(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.stat(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.delete(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage.downloadUrl(key, options)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
    });

    it('deletes idempotently', async () => {
      await storage.put('org/1/x', Buffer.from('x'), { contentType: 'text/plain' });
      await storage.delete('org/1/x');
      await storage.delete('org/1/x');
      await storage.delete('never/stored');
      expect(await storage.stat('org/1/x')).toBeNull();
      await expect(storage.get('org/1/x')).rejects.toBeInstanceOf(FileNotFoundError);
    });

    it.runIf(capabilities.atomicConcurrentPuts)(
      'leaves one complete file after concurrent puts of the same key',
      async () => {
        const other = subject.sibling();
        const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(256 * 1024 + i, i));
        await Promise.all(
          bodies.map((body, i) =>
            (i % 2 === 0 ? storage : other).put(
              'same',
              i % 3 === 0 ? Readable.from([body.subarray(0, 1000), body.subarray(1000)]) : body,
            ),
          ),
        );
        const stored = await readAll(await storage.get('same'));
        expect(bodies.some((body) => body.equals(stored))).toBe(true);
        expect((await storage.stat('same'))?.size).toBe(stored.length);
      },
    );

    it('stores nothing when the source stream fails', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024));
          this.destroy(new Error('upload aborted (expected by the test)'));
        },
      });
      await expect(storage.put('org/1/partial', failing)).rejects.toThrow('upload aborted');
      expect(await storage.stat('org/1/partial')).toBeNull();
    });

    it('answers ping', async () => {
      await expect(storage.ping()).resolves.toBeUndefined();
    });

    if (capabilities.downloadUrls === 'none') {
      it('has no download URLs, so the API streams the bytes', async () => {
        await storage.put('org/1/a', Buffer.from('x'));
        const options = { expiresInSeconds: 60, fileName: 'a.txt', contentType: 'text/plain' };
        expect(await storage.downloadUrl('org/1/a', options)).toBeNull();
      });
      return;
    }

    it('serves a pre-signed download with the safe file name and type', async () => {
      const body = randomBytes(300 * 1024);
      await storage.put('org/1/report', body, { contentType: 'application/octet-stream' });
      const url = await storage.downloadUrl('org/1/report', {
        expiresInSeconds: 60,
        fileName: 'Bericht "März"; 100%.pdf',
        contentType: 'application/pdf',
      });
      expect(url).toMatch(/^https?:\/\//);
      const response = await fetch(url!);
      expect(response.status).toBe(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
      expect(response.headers.get('content-type')).toBe('application/pdf');
      expect(response.headers.get('content-disposition')).toBe(
        `attachment; filename="Bericht _M_rz_; 100_.pdf"; filename*=UTF-8''Bericht%20%22M%C3%A4rz%22%3B%20100%25.pdf`,
      );
    });

    it('refuses a pre-signed download after it expires', async () => {
      await storage.put('org/1/soon', Buffer.from('gone soon'));
      const url = await storage.downloadUrl('org/1/soon', {
        expiresInSeconds: 1,
        fileName: 'soon.txt',
        contentType: 'text/plain',
      });
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const response = await fetch(url!);
      expect(response.status).toBe(403);
      await response.body?.cancel();
    });
  });
}
