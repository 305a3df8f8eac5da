export type { LocalFileStorageOptions } from './local.driver.js';
export { LocalFileStorage } from './local.driver.js';
export type { FileBody, FileMetadata, FileStorage, PutFileOptions, StoredFile } from './storage.port.js';
export { assertSafeStorageKey, FileNotFoundError, InvalidStorageKeyError } from './storage.port.js';
