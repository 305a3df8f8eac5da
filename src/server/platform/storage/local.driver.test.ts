import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileStorage } from './local.driver.js';
import { FileNotFoundError, InvalidStorageKeyError } from './storage.port.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/** Every file under `dir`, relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describe('LocalFileStorage', () => {
  let root: string;
  let storage: LocalFileStorage;

  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'sb-storage-'));
    storage = new LocalFileStorage({ root });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('round-trips a buffer with its content type', async () => {
    const body = Buffer.from('hello attachments');
    const key = 'org/1/attachments/a';
    expect(await storage.put(key, body, { contentType: 'text/plain' })).toEqual({ key, size: body.length });
    expect(await readAll(await storage.get(key))).toEqual(body);
    expect(await storage.stat(key)).toEqual({ size: body.length, contentType: 'text/plain' });
  });

  it('round-trips a stream larger than one chunk', async () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
    const key = 'org/1/attachments/big';
    const stored = await storage.put(key, Readable.from(chunks));
    expect(stored.size).toBe(40 * 64 * 1024);
    expect((await readAll(await storage.get(key))).equals(Buffer.concat(chunks))).toBe(true);
    expect(await storage.stat(key)).toEqual({ size: stored.size });
  });

  it('replaces a file and drops the previous content type', async () => {
    await storage.put('k', Buffer.from('first'), { contentType: 'text/plain' });
    await storage.put('k', Buffer.from('second, longer'));
    expect(await text(await storage.get('k'))).toBe('second, longer');
    expect(await storage.stat('k')).toEqual({ size: 14 });
  });

  it('keeps a key apart from a key named like its sidecar', async () => {
    await storage.put('a', Buffer.from('a'), { contentType: 'image/png' });
    await storage.put('a.json', Buffer.from('{"contentType":"evil"}'), { contentType: 'application/json' });
    expect(await storage.stat('a')).toEqual({ size: 1, contentType: 'image/png' });
    expect(await storage.stat('a.json')).toEqual({ size: 22, contentType: 'application/json' });
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
    const unsafe = [
      '',
      '/etc/passwd',
      '../outside',
      'a/../../b',
      'a/./b',
      'a//b',
      'a/',
      'a\\b',
      'a\u0000b',
      'a\nb',
    ];
    for (const key of unsafe) {
      await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(storage.get(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(storage.stat(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
      await expect(storage.delete(key)).rejects.toBeInstanceOf(InvalidStorageKeyError);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('deletes idempotently', async () => {
    await storage.put('org/1/x', Buffer.from('x'), { contentType: 'text/plain' });
    await storage.delete('org/1/x');
    await storage.delete('org/1/x');
    await storage.delete('never/stored');
    expect(await storage.stat('org/1/x')).toBeNull();
    expect(await listFiles(root)).toEqual([]);
  });

  it('leaves one complete file after concurrent puts of the same key', async () => {
    // Two instances on one root behave like two processes: no in-process ordering helps them.
    const other = new LocalFileStorage({ root });
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(256 * 1024 + i, i));
    await Promise.all(
      bodies.map((body, i) => {
        const target = i % 2 === 0 ? storage : other;
        return target.put(
          'same',
          i % 3 === 0 ? Readable.from([body.subarray(0, 1000), body.subarray(1000)]) : body,
        );
      }),
    );
    const stored = await readAll(await storage.get('same'));
    expect(bodies.some((body) => body.equals(stored))).toBe(true);
    expect((await listFiles(root)).sort()).toEqual([
      path.join('meta', 'same.json'),
      path.join('objects', 'same'),
    ]);
  });

  it('removes the temp file when the source stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('upload aborted (expected by the test)'));
      },
    });
    await expect(storage.put('org/1/partial', failing)).rejects.toThrow('upload aborted');
    expect(await storage.stat('org/1/partial')).toBeNull();
    expect(await listFiles(root)).toEqual([]);
  });

  it('pings a writable root, creating it when needed', async () => {
    await expect(
      new LocalFileStorage({ root: path.join(root, 'nested', 'data') }).ping(),
    ).resolves.toBeUndefined();
  });

  it('fails ping when the root cannot be written', async () => {
    // A file where the root should be fails for every user, root included (unlike chmod).
    await storage.put('blocker', Buffer.from('x'));
    const blocked = new LocalFileStorage({ root: path.join(root, 'objects', 'blocker', 'data') });
    await expect(blocked.ping()).rejects.toThrow();
  });
});
