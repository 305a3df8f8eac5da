import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';

/**
 * A local SMTP sink for the outbound measurement, in the benchmark process: accepts every
 * message, keeps only its Message-ID (read from the header section with a regular
 * expression, no MIME parsing) and when it arrived, and counts connections.
 */
export class SmtpSink {
  readonly received: Array<{ at: number; messageId: string | undefined; bytes: number }> = [];
  connections = 0;
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    banner: 'bench sink',
    onConnect: (_session, callback) => {
      this.connections += 1;
      callback();
    },
    onData: (stream, _session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const end = raw.indexOf('\r\n\r\n');
        const header = raw.subarray(0, end < 0 ? raw.length : end).toString('latin1');
        const match = /^message-id:\s*(<[^>\r\n]+>)/im.exec(header);
        this.received.push({ at: performance.now(), messageId: match?.[1], bytes: raw.length });
        callback();
      });
    },
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return (this.server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
