import type { Logger } from 'pino';
import client from 'prom-client';
import type { Metrics } from '../metrics.js';
import { ClamdScanner, parseClamdUrl } from './clamd.driver.js';
import { NoMalwareScanner } from './none.driver.js';
import { type MalwareScanner, ScanFailedError, type ScanVerdict } from './scan.port.js';

/** Where the scanner is; unset means no scanning. */
export interface ScannerSettings {
  /** `tcp://host:port` or `unix:///path`. */
  url: string;
  timeoutMs: number;
}

/**
 * The scanner the settings choose, counted in `switchboard_malware_scans_total` and logged:
 * an infected file is a warning, a scan without verdict an error. Says at start whether
 * files are scanned.
 */
export function createMalwareScanner(
  settings: ScannerSettings | undefined,
  deps: { logger: Logger; metrics: Metrics },
): MalwareScanner {
  if (!settings) {
    deps.logger.info('malware scanning is off (CLAMD_URL is not set): files are stored unscanned');
    return new ObservedScanner(new NoMalwareScanner(), deps);
  }
  const scanner = new ClamdScanner({ address: parseClamdUrl(settings.url), timeoutMs: settings.timeoutMs });
  deps.logger.info({ clamd: settings.url }, 'malware scanning with clamd');
  return new ObservedScanner(scanner, deps);
}

/** A driver with its outcomes counted and logged; the verdict and errors pass through unchanged. */
class ObservedScanner implements MalwareScanner {
  readonly driver: MalwareScanner['driver'];
  readonly #scans: client.Counter<'driver' | 'result'>;

  constructor(
    private readonly inner: MalwareScanner,
    private readonly deps: { logger: Logger; metrics: Metrics },
  ) {
    this.driver = inner.driver;
    const name = 'switchboard_malware_scans_total';
    // One registry per app: a second scanner on it (tests) shares the counter.
    this.#scans =
      (deps.metrics.registry.getSingleMetric(name) as client.Counter<'driver' | 'result'> | undefined) ??
      new client.Counter({
        name,
        help: 'Files scanned for malware by result: clean, infected, or error (no verdict)',
        labelNames: ['driver', 'result'],
        registers: [deps.metrics.registry],
      });
  }

  async scan(content: Buffer): Promise<ScanVerdict> {
    let verdict: ScanVerdict;
    try {
      verdict = await this.inner.scan(content);
    } catch (error) {
      this.#scans.inc({ driver: this.driver, result: 'error' });
      this.deps.logger.error({ err: error, bytes: content.length }, 'malware scan failed: no verdict');
      throw error instanceof ScanFailedError
        ? error
        : new ScanFailedError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    this.#scans.inc({ driver: this.driver, result: verdict.verdict });
    if (verdict.verdict === 'infected')
      this.deps.logger.warn(
        { signature: verdict.signature, bytes: content.length },
        'malware found in a file',
      );
    return verdict;
  }
}
