import net from 'node:net';
import { type MalwareScanner, ScanFailedError, type ScanVerdict } from './scan.port.js';

/** Where clamd listens. */
export type ClamdAddress = { host: string; port: number } | { path: string };

/** Options of {@link ClamdScanner}. */
export interface ClamdScannerOptions {
  address: ClamdAddress;
  /** Time for one whole exchange: connecting, sending the file and reading the answer. */
  timeoutMs: number;
  /** Bytes per INSTREAM chunk; must stay below clamd's StreamMaxLength. */
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 64 * 1024;

/**
 * `tcp://host:port` (IPv6 in brackets) or `unix:///absolute/path` → the address to connect
 * to; undefined for anything else.
 */
export function clamdAddressOf(url: string): ClamdAddress | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.protocol === 'unix:' && parsed.host === '' && parsed.pathname.length > 1)
    return { path: decodeURIComponent(parsed.pathname) };
  const port = Number(parsed.port);
  if (parsed.protocol === 'tcp:' && parsed.hostname !== '' && port >= 1 && port <= 65_535)
    return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
  return undefined;
}

/** {@link clamdAddressOf}, throwing for a URL that names no clamd. */
export function parseClamdUrl(url: string): ClamdAddress {
  const address = clamdAddressOf(url);
  if (!address) throw new Error(`Not a clamd URL: ${url} (tcp://host:3310 or unix:///path/to/clamd.ctl)`);
  return address;
}

/**
 * The verdict in clamd's answer to INSTREAM: `stream: OK`, `stream: <signature> FOUND`;
 * anything else (`INSTREAM size limit exceeded. ERROR`, `COMMAND READ TIMED OUT`, …) is
 * no verdict.
 */
export function parseScanReply(reply: string): ScanVerdict {
  if (reply === 'stream: OK') return { verdict: 'clean' };
  const found = /^stream: (.+) FOUND$/.exec(reply);
  if (found) return { verdict: 'infected', signature: found[1]! };
  throw new ScanFailedError(`clamd answered: ${reply || '(nothing)'}`);
}

/**
 * A clamd client speaking the documented session-less `z` commands: one connection per
 * command, NUL-terminated command and answer. Files go with `zINSTREAM`: chunks, each
 * preceded by its length as a 4-byte big-endian number, then a zero length.
 */
export class ClamdScanner implements MalwareScanner {
  readonly driver = 'clamd' as const;
  readonly #address: ClamdAddress;
  readonly #timeoutMs: number;
  readonly #chunkBytes: number;

  constructor(options: ClamdScannerOptions) {
    this.#address = options.address;
    this.#timeoutMs = options.timeoutMs;
    this.#chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  }

  async scan(content: Buffer): Promise<ScanVerdict> {
    return parseScanReply(await this.#exchange('zINSTREAM', content));
  }

  /** Resolves when clamd answers PING with PONG. */
  async ping(): Promise<void> {
    const reply = await this.#exchange('zPING');
    if (reply !== 'PONG') throw new ScanFailedError(`clamd answered PING with: ${reply}`);
  }

  /** clamd's version line, e.g. `ClamAV 1.4.6/27000/…`. */
  version(): Promise<string> {
    return this.#exchange('zVERSION');
  }

  /**
   * Sends one command (and a stream body) on a new connection and resolves with the answer,
   * without its terminating NUL. clamd may answer before it has read everything (a size
   * limit): the answer then wins over the write error that follows.
   */
  #exchange(command: string, body?: Buffer): Promise<string> {
    const socket =
      'path' in this.#address
        ? net.createConnection({ path: this.#address.path })
        : net.createConnection({ host: this.#address.host, port: this.#address.port });
    const where =
      'path' in this.#address ? this.#address.path : `${this.#address.host}:${this.#address.port}`;
    const answer = new Promise<string>((resolve, reject) => {
      const received: Buffer[] = [];
      let settled = false;
      const timer = setTimeout(
        () => settle(new ScanFailedError(`clamd at ${where} did not answer within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      const settle = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        const bytes = Buffer.concat(received);
        const end = bytes.indexOf(0);
        const text = (end >= 0 ? bytes.subarray(0, end) : bytes).toString('utf8').trim();
        if (end >= 0 || (text !== '' && !(error instanceof ScanFailedError))) resolve(text);
        else if (error instanceof ScanFailedError) reject(error);
        else if (body !== undefined && isBrokenPipe(error))
          // clamd stops reading and closes as soon as a stream passes its StreamMaxLength; its
          // answer is then sometimes lost behind the failed write.
          reject(
            new ScanFailedError(
              `clamd at ${where} closed the connection while the file was sent (larger than its StreamMaxLength?)`,
              { cause: error },
            ),
          );
        else if (error)
          reject(new ScanFailedError(`clamd at ${where} failed: ${error.message}`, { cause: error }));
        else reject(new ScanFailedError(`clamd at ${where} closed the connection without an answer`));
      };
      socket.on('data', (chunk: Buffer) => {
        received.push(chunk);
        if (chunk.includes(0)) settle();
      });
      socket.on('error', (error) => settle(error));
      socket.on('close', () => settle());
    });
    const sending = this.#send(socket, command, body);
    return Promise.all([answer, sending]).then(([text]) => text);
  }

  /**
   * Writes the command and the body's chunks, each chunk with its length in one write and the
   * end marker with the last one, waiting for the socket to drain between writes. A file
   * within one chunk is a single write, which clamd has whole before it answers.
   */
  async #send(socket: net.Socket, command: string, body: Buffer | undefined): Promise<void> {
    const write = async (data: Buffer) => {
      if (socket.destroyed) return;
      if (!socket.write(data)) await drained(socket);
    };
    const head = Buffer.from(`${command}\0`, 'latin1');
    if (body === undefined) return write(head);
    // An answer or an error before the end destroys the socket, and sending stops there.
    let offset = 0;
    do {
      const first = offset === 0;
      const chunk = body.subarray(offset, offset + this.#chunkBytes);
      offset += chunk.length;
      const last = offset >= body.length;
      await write(
        Buffer.concat([
          ...(first ? [head] : []),
          ...(chunk.length > 0 ? [lengthPrefix(chunk.length), chunk] : []),
          ...(last ? [lengthPrefix(0)] : []),
        ]),
      );
    } while (offset < body.length && !socket.destroyed);
  }
}

function isBrokenPipe(error: Error | undefined): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ECONNRESET';
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}

/** Resolves once the socket can take more, or is gone (its answer or error settles the exchange). */
function drained(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
