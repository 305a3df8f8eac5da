import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachmentDisposition, S3FileStorage, type S3FileStorageOptions } from './s3.driver.js';
import { type FakeS3, startFakeS3 } from './s3rver.fixture.js';
import { describeFileStorageContract } from './storage.contract.js';

let fake: FakeS3;

beforeAll(async () => {
  fake = await startFakeS3();
});

afterAll(async () => {
  await fake?.close();
});

/** Options for a storage on the fake, with parts at S3's 5 MiB minimum so 12 MiB streams take three. */
function optionsFor(bucket: string, extra: Partial<S3FileStorageOptions> = {}): S3FileStorageOptions {
  return {
    bucket,
    region: fake.region,
    endpoint: fake.endpoint,
    credentials: fake.credentials,
    forcePathStyle: true,
    partSizeBytes: 5 * 1024 * 1024,
    ...extra,
  };
}

describeFileStorageContract(
  's3 (s3rver)',
  async () => {
    // A bucket per test keeps tests apart without listing and deleting objects.
    const bucket = await fake.createBucket();
    const made: S3FileStorage[] = [];
    const make = () => {
      const storage = new S3FileStorage(optionsFor(bucket, { prefix: 'switchboard/' }));
      made.push(storage);
      return storage;
    };
    return {
      storage: make(),
      sibling: make,
      cleanup: async () => {
        for (const storage of made) storage.close();
      },
    };
  },
  // s3rver truncates and rewrites an object file in place, so concurrent puts of one key
  // interleave there; the driver relies on S3's atomic PutObject/CompleteMultipartUpload.
  { downloadUrls: 'signed', atomicConcurrentPuts: false },
);

describe('S3FileStorage', () => {
  it('keeps keys under the prefix apart from unprefixed ones', async () => {
    const prefixed = new S3FileStorage(optionsFor(fake.bucket, { prefix: 'tenant-a' }));
    const bare = new S3FileStorage(optionsFor(fake.bucket));
    await prefixed.put('file', Buffer.from('in prefix'));
    expect(await bare.stat('tenant-a/file')).toEqual({ size: 9 });
    expect(await bare.stat('file')).toBeNull();
    prefixed.close();
    bare.close();
  });

  it('rejects an unsafe prefix', () => {
    expect(() => new S3FileStorage(optionsFor(fake.bucket, { prefix: '../elsewhere' }))).toThrow(
      /Invalid storage key/,
    );
  });

  it('fails ping, get and put for a bucket that does not exist', async () => {
    const missing = new S3FileStorage(optionsFor('sb-no-such-bucket'));
    await expect(missing.ping()).rejects.toThrow();
    await expect(missing.get('x')).rejects.not.toMatchObject({ code: 'NOT_FOUND' });
    missing.close();
  });

  it('builds a Content-Disposition that old and new clients read safely', () => {
    expect(attachmentDisposition('plain.txt')).toBe(
      `attachment; filename="plain.txt"; filename*=UTF-8''plain.txt`,
    );
    expect(attachmentDisposition("it's (1).txt")).toBe(
      `attachment; filename="it's (1).txt"; filename*=UTF-8''it%27s%20%281%29.txt`,
    );
    expect(attachmentDisposition('日本.txt')).toBe(
      `attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`,
    );
    expect(attachmentDisposition('a\r\nb\\c')).toBe(
      `attachment; filename="a__b_c"; filename*=UTF-8''a%0D%0Ab%5Cc`,
    );
  });
});
