/**
 * The malware-scanning port. Two drivers: clamd (ClamAV's daemon, over TCP or a unix socket)
 * and `none`, the default while no scanner is configured, which passes every file. Callers
 * scan a file before they store it, on every door files come in through.
 */

/** What a scanner says about one file. */
export type ScanVerdict = { verdict: 'clean' } | { verdict: 'infected'; signature: string };

export interface MalwareScanner {
  readonly driver: 'clamd' | 'none';
  /**
   * Scans one file. Rejects with {@link ScanFailedError} when no verdict could be had (the
   * scanner is unreachable, too slow, or answers an error), so a caller never stores a file
   * it could not check.
   */
  scan(content: Buffer): Promise<ScanVerdict>;
}

/** No verdict: the scanner could not be reached, timed out, or refused the file. */
export class ScanFailedError extends Error {
  override name = 'ScanFailedError';
  readonly code = 'SCAN_FAILED';
}
