/**
 * Loads a module the first time it is needed and keeps it. Adapters and parsers that a
 * process may never use (the S3 client, the embedded engine, IMAP, MIME parsing) are loaded
 * this way, so an API process on PostgreSQL does not hold their code: together they were
 * about 30 MB of an idle process's memory.
 */
export function lazyImport<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load();
    return loaded;
  };
}
