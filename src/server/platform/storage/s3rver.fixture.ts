import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** The part of s3rver's API the tests use (the package ships no types). */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
}) => S3rverServer;

/** A running fake S3 with one empty bucket. */
export interface FakeS3 {
  endpoint: string;
  bucket: string;
  region: string;
  /** s3rver's built-in account; it checks the key id but not V4 signatures. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Creates another empty bucket, for tests that want one of their own. */
  createBucket(): Promise<string>;
  close(): Promise<void>;
}

/** Starts s3rver on a random loopback port over a temp folder, for tests only. */
export async function startFakeS3(): Promise<FakeS3> {
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
  const directory = await mkdtemp(path.join(os.tmpdir(), 'sb-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  const createBucket = async () => {
    const bucket = `sb-test-${randomUUID().slice(0, 8)}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  };
  const bucket = await createBucket();
  return {
    endpoint,
    bucket,
    region,
    credentials,
    createBucket,
    async close() {
      client.destroy();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
