import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { Metrics } from '../../src/server/platform/metrics.js';
import {
  ClamdScanner,
  clamdAddressOf,
  createMalwareScanner,
  parseClamdUrl,
  parseScanReply,
  ScanFailedError,
} from '../../src/server/platform/scan/index.js';
import { type Clamd, EICAR, EICAR_SIGNATURE, startClamd } from '../support/clamd.js';
import { freePort } from '../support/process.js';

/** StreamMaxLength of a second clamd, small enough that a file over it is one write. */
const SMALL_LIMIT = 4096;

let clamd: Clamd;
let strict: Clamd;

beforeAll(async () => {
  [clamd, strict] = await Promise.all([startClamd(), startClamd({ streamMaxBytes: SMALL_LIMIT })]);
});
afterAll(async () => {
  await Promise.all([clamd?.close(), strict?.close()]);
});

const scannerAt = (url: string, extra: { chunkBytes?: number; timeoutMs?: number } = {}) =>
  new ClamdScanner({ address: parseClamdUrl(url), timeoutMs: extra.timeoutMs ?? 10_000, ...extra });

describe('clamd client (real clamd)', () => {
  it('answers PING and reports its version', async () => {
    const scanner = scannerAt(clamd.url);
    await expect(scanner.ping()).resolves.toBeUndefined();
    expect(await scanner.version()).toMatch(/^ClamAV \d+\.\d+/);
  });

  it('finds EICAR sent in one chunk, over TCP and over the unix socket', async () => {
    for (const url of [clamd.url, clamd.socketUrl]) {
      expect(await scannerAt(url).scan(EICAR)).toEqual({ verdict: 'infected', signature: EICAR_SIGNATURE });
    }
  });

  it('reassembles a file sent in many small chunks', async () => {
    // 7-byte chunks split EICAR in ten pieces: only the reassembled stream matches its hash.
    expect(await scannerAt(clamd.url, { chunkBytes: 7 }).scan(EICAR)).toEqual({
      verdict: 'infected',
      signature: EICAR_SIGNATURE,
    });
    expect(await scannerAt(clamd.url, { chunkBytes: 7 }).scan(Buffer.from('hello, world'))).toEqual({
      verdict: 'clean',
    });
  });

  it('streams a file of many chunks, more than the socket buffers, and finds it clean', async () => {
    const file = randomBytes(8 * 1024 * 1024);
    expect(await scannerAt(clamd.url, { chunkBytes: 16 * 1024 }).scan(file)).toEqual({ verdict: 'clean' });
  });

  it('scans an empty file', async () => {
    expect(await scannerAt(clamd.url).scan(Buffer.alloc(0))).toEqual({ verdict: 'clean' });
  });

  it('turns an ERROR answer into ScanFailedError with clamd’s words (over the size limit)', async () => {
    const error = await scannerAt(strict.url)
      .scan(randomBytes(SMALL_LIMIT + 1000))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScanFailedError);
    expect((error as Error).message).toBe('clamd answered: INSTREAM size limit exceeded. ERROR');
  });

  it('fails with ScanFailedError when clamd hangs up in the middle of a large file', async () => {
    // clamd answers and closes at the limit while chunks are still on their way, so the
    // answer or the broken pipe comes first: either way there is no verdict.
    const error = await scannerAt(strict.url, { chunkBytes: 1024 })
      .scan(randomBytes(4 * 1024 * 1024))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScanFailedError);
    expect((error as Error).message).toMatch(
      /^(clamd answered: INSTREAM size limit exceeded\. ERROR|clamd at .* closed the connection while the file was sent .*)$/,
    );
  });

  it('fails with ScanFailedError when nothing listens', async () => {
    const port = await freePort();
    const error = await scannerAt(`tcp://127.0.0.1:${port}`)
      .scan(EICAR)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ScanFailedError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('gives up after its timeout when the peer never answers', async () => {
    const silent = net.createServer((socket) => socket.resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const error = await scannerAt(`tcp://127.0.0.1:${port}`, { timeoutMs: 300 })
        .scan(EICAR)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ScanFailedError);
      expect((error as Error).message).toBe(`clamd at 127.0.0.1:${port} did not answer within 300 ms`);
    } finally {
      silent.close();
    }
  });
});

describe('clamd answers and addresses', () => {
  it('reads the verdict of an INSTREAM answer', () => {
    expect(parseScanReply('stream: OK')).toEqual({ verdict: 'clean' });
    expect(parseScanReply('stream: Eicar-Test FOUND')).toEqual({
      verdict: 'infected',
      signature: 'Eicar-Test',
    });
    for (const reply of [
      'INSTREAM size limit exceeded. ERROR',
      'COMMAND READ TIMED OUT',
      'UNKNOWN COMMAND',
      '',
    ]) {
      expect(() => parseScanReply(reply)).toThrow(ScanFailedError);
    }
  });

  it('accepts tcp:// and unix:/// URLs only', () => {
    expect(parseClamdUrl('tcp://127.0.0.1:3310')).toEqual({ host: '127.0.0.1', port: 3310 });
    expect(parseClamdUrl('tcp://clamav.internal:3310/')).toEqual({ host: 'clamav.internal', port: 3310 });
    expect(parseClamdUrl('tcp://[::1]:3310')).toEqual({ host: '::1', port: 3310 });
    expect(parseClamdUrl('unix:///run/clamav/clamd.ctl')).toEqual({ path: '/run/clamav/clamd.ctl' });
    for (const url of [
      'tcp://127.0.0.1',
      'tcp://:3310',
      'unix://host/run/clamd.ctl',
      'unix:///',
      'http://x:1',
      'x',
    ]) {
      expect(clamdAddressOf(url)).toBeUndefined();
    }
  });
});

describe('CLAMD_URL', () => {
  it('is optional, and validated with its timeout when set', () => {
    expect(loadConfig({}).clamd).toBeUndefined();
    expect(loadConfig({ CLAMD_URL: 'unix:///run/clamav/clamd.ctl' }).clamd).toEqual({
      url: 'unix:///run/clamav/clamd.ctl',
      timeoutMs: 60_000,
    });
    expect(loadConfig({ CLAMD_URL: 'tcp://127.0.0.1:3310', CLAMD_TIMEOUT_MS: '5000' }).clamd?.timeoutMs).toBe(
      5000,
    );
    expect(() => loadConfig({ CLAMD_URL: 'http://127.0.0.1:3310' })).toThrow(ConfigError);
    expect(() => loadConfig({ CLAMD_URL: 'tcp://127.0.0.1' })).toThrow(
      /CLAMD_URL: must be tcp:\/\/host:port or unix:\/\/\/path/,
    );
  });
});

describe('createMalwareScanner', () => {
  /** A logger whose JSON lines land in `lines`. */
  function capture() {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    return { logger, lines };
  }

  it('says at start that scanning is off and then passes every file', async () => {
    const { logger, lines } = capture();
    const scanner = createMalwareScanner(undefined, { logger, metrics: new Metrics() });
    expect(scanner.driver).toBe('none');
    expect(await scanner.scan(EICAR)).toEqual({ verdict: 'clean' });
    expect(lines.map((line) => line.msg)).toContain(
      'malware scanning is off (CLAMD_URL is not set): files are stored unscanned',
    );
  });

  it('counts verdicts and failures and logs the failures', async () => {
    const { logger, lines } = capture();
    const metrics = new Metrics();
    const scanner = createMalwareScanner({ url: clamd.url, timeoutMs: 10_000 }, { logger, metrics });
    await scanner.scan(Buffer.from('clean'));
    await scanner.scan(EICAR);
    const port = await freePort();
    const down = createMalwareScanner(
      { url: `tcp://127.0.0.1:${port}`, timeoutMs: 10_000 },
      { logger, metrics },
    );
    await expect(down.scan(EICAR)).rejects.toBeInstanceOf(ScanFailedError);

    const text = await metrics.registry.metrics();
    expect(text).toContain('switchboard_malware_scans_total{driver="clamd",result="clean"} 1');
    expect(text).toContain('switchboard_malware_scans_total{driver="clamd",result="infected"} 1');
    expect(text).toContain('switchboard_malware_scans_total{driver="clamd",result="error"} 1');
    expect(lines.find((line) => line.msg === 'malware found in a file')).toMatchObject({
      level: 40,
      signature: EICAR_SIGNATURE,
    });
    expect(lines.find((line) => line.msg === 'malware scan failed: no verdict')).toMatchObject({ level: 50 });
  });
});
