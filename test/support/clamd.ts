import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './process.js';

/**
 * The EICAR anti-virus test file (68 bytes), which every scanner detects and which harms
 * nothing. Built from two halves so that this source file is not itself flagged.
 */
export const EICAR = Buffer.from(
  ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''),
  'latin1',
);

/** The name our signature gives EICAR; clamd adds `.UNOFFICIAL` to signatures of local databases. */
export const EICAR_SIGNATURE = 'Eicar-Test.UNOFFICIAL';

const CLAMD = '/usr/sbin/clamd';

export interface Clamd {
  /** `tcp://127.0.0.1:<port>`. */
  url: string;
  /** `unix://<dir>/clamd.sock`. */
  socketUrl: string;
  /** Starts the daemon again after `stop` (same port, socket and database). */
  start(): Promise<void>;
  /** Stops the daemon and waits until it has exited. */
  stop(): Promise<void>;
  /** Stops the daemon and removes its folder. */
  close(): Promise<void>;
}

/**
 * A private clamd for one test file: its own folder with a clamd.conf (TCP on a free
 * loopback port and a unix socket), a signature database with one hash signature for EICAR
 * (no network is needed for signatures), and its log. Resolves once it answers PING.
 */
export async function startClamd(options: { streamMaxBytes?: number } = {}): Promise<Clamd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-clamd-'));
  const port = await freePort();
  const socket = path.join(dir, 'clamd.sock');
  fs.mkdirSync(path.join(dir, 'db'));
  const md5 = createHash('md5').update(EICAR).digest('hex');
  fs.writeFileSync(path.join(dir, 'db', 'test.hdb'), `${md5}:${EICAR.length}:Eicar-Test\n`);
  fs.writeFileSync(
    path.join(dir, 'clamd.conf'),
    [
      'Foreground yes',
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `LocalSocket ${socket}`,
      'FixStaleSocket yes',
      `DatabaseDirectory ${path.join(dir, 'db')}`,
      `TemporaryDirectory ${dir}`,
      `LogFile ${path.join(dir, 'clamd.log')}`,
      `PidFile ${path.join(dir, 'clamd.pid')}`,
      // Tests and CI run as root; clamd would otherwise switch to the clamav user.
      'User root',
      `StreamMaxLength ${options.streamMaxBytes ?? 25 * 1024 * 1024}`,
      'SelfCheck 3600',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    const started = spawn(CLAMD, ['-c', path.join(dir, 'clamd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    started.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    child = started;
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (started.exitCode !== null) throw new Error(`clamd exited (${started.exitCode}):\n${output}`);
      if ((await ping(port)) === 'PONG') return;
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error(`clamd did not answer PING within 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `tcp://127.0.0.1:${port}`,
    socketUrl: `unix://${socket}`,
    start,
    stop,
    async close() {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** clamd's answer to `zPING`, or undefined while nothing answers. */
function ping(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    socket.setTimeout(1_000, () => socket.destroy());
    socket.on('connect', () => socket.write('zPING\0'));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => resolve(undefined));
    socket.on('close', () =>
      resolve(Buffer.concat(chunks).toString('latin1').replace(/\0.*$/s, '') || undefined),
    );
  });
}
