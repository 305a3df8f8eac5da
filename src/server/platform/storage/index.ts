export type { LocalFileStorageOptions } from './local.driver.js';
export { LocalFileStorage } from './local.driver.js';
export type { S3FileStorageOptions } from './s3.driver.js';
export { S3FileStorage } from './s3.driver.js';
export type {
  DownloadUrlOptions,
  FileBody,
  FileMetadata,
  FileStorage,
  PutFileOptions,
  StoredFile,
} from './storage.port.js';
export { assertSafeStorageKey, FileNotFoundError, InvalidStorageKeyError } from './storage.port.js';
