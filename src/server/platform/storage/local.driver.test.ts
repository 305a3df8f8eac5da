import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileStorage } from './local.driver.js';
import { describeFileStorageContract } from './storage.contract.js';
import { InvalidStorageKeyError } from './storage.port.js';

/** Every file under `dir`, relative to it. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)));
}

describeFileStorageContract(
  'local',
  async () => {
    const root = await mkdtemp(path.join(os.tmpdir(), 'sb-storage-'));
    return {
      storage: new LocalFileStorage({ root }),
      sibling: () => new LocalFileStorage({ root }),
      cleanup: () => rm(root, { recursive: true, force: true }),
    };
  },
  { downloadUrls: 'none', atomicConcurrentPuts: true },
);

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

  it('keeps a key apart from a key named like its sidecar', async () => {
    await storage.put('a', Buffer.from('a'), { contentType: 'image/png' });
    await storage.put('a.json', Buffer.from('{"contentType":"evil"}'), { contentType: 'application/json' });
    expect(await storage.stat('a')).toEqual({ size: 1, contentType: 'image/png' });
    expect(await storage.stat('a.json')).toEqual({ size: 22, contentType: 'application/json' });
  });

  it('writes nothing for unsafe keys', async () => {
    for (const key of ['../outside', 'a\nb']) {
      await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidStorageKeyError);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('makes a folder again when it was removed after a put', async () => {
    await storage.put('org/1/a', Buffer.from('a'), { contentType: 'text/plain' });
    await rm(path.join(root, 'objects'), { recursive: true });
    await rm(path.join(root, 'meta'), { recursive: true });
    await storage.put('org/1/b', Buffer.from('bb'), { contentType: 'text/plain' });
    await storage.put('org/1/c', Readable.from([Buffer.from('ccc')]), { contentType: 'text/plain' });
    expect(await storage.stat('org/1/b')).toEqual({ size: 2, contentType: 'text/plain' });
    expect(await storage.stat('org/1/c')).toEqual({ size: 3, contentType: 'text/plain' });
    expect(await storage.stat('org/1/a')).toBeNull();
  });

  it('leaves no files behind a delete', async () => {
    await storage.put('org/1/x', Buffer.from('x'), { contentType: 'text/plain' });
    await storage.delete('org/1/x');
    expect(await listFiles(root)).toEqual([]);
  });

  it('leaves one file and one sidecar after concurrent puts of the same key', async () => {
    // Two instances on one root behave like two processes: no in-process ordering helps them.
    const other = new LocalFileStorage({ root });
    const bodies = Array.from({ length: 12 }, (_, i) => Buffer.alloc(256 * 1024 + i, i));
    await Promise.all(
      bodies.map((body, i) => {
        const target = i % 2 === 0 ? storage : other;
        return target.put(
          'same',
          i % 3 === 0 ? Readable.from([body.subarray(0, 1000), body.subarray(1000)]) : body,
          { contentType: `application/x-${i}` },
        );
      }),
    );
    expect((await listFiles(root)).sort()).toEqual([
      path.join('meta', 'same.json'),
      path.join('objects', 'same'),
    ]);
  });

  it('writes a sidecar only for a content type, and drops the one of a replaced file', async () => {
    await storage.put('org/1/raw', Buffer.from('a'));
    expect(await listFiles(root)).toEqual([path.join('objects', 'org', '1', 'raw')]);
    await storage.put('org/1/raw', Buffer.from('bb'), { contentType: 'text/plain' });
    expect((await listFiles(root)).sort()).toEqual([
      path.join('meta', 'org', '1', 'raw.json'),
      path.join('objects', 'org', '1', 'raw'),
    ]);
    await storage.put('org/1/raw', Buffer.from('ccc'));
    expect(await listFiles(root)).toEqual([path.join('objects', 'org', '1', 'raw')]);
    expect(await storage.stat('org/1/raw')).toEqual({ size: 3 });
  });

  it('removes the temp file when the source stream fails', async () => {
    const failing = new Readable({
      read() {
        this.push(Buffer.alloc(1024));
        this.destroy(new Error('upload aborted (expected by the test)'));
      },
    });
    await expect(storage.put('org/1/partial', failing)).rejects.toThrow('upload aborted');
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
