import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { freePort } from './process.js';

const DOVECOT = '/usr/sbin/dovecot';
const MAIL_USER = 'mail';

export interface Dovecot {
  host: string;
  port: number;
  dir: string;
  /** Adds or replaces an account (Dovecot re-reads the passwd file when it changes). */
  addUser(user: string, password: string): void;
  /** A logged-in client for `user`, to put mail in as a delivery would. */
  connect(user: string, password: string): Promise<ImapFlow>;
  /** Appends a raw mail to a folder of `user` (created when missing); resolves with its UID. */
  append(user: string, password: string, folder: string, raw: string | Buffer): Promise<number>;
  log(): string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  users: Record<string, string>;
  /**
   * Accept XOAUTH2 with bearer tokens checked at this RFC 7662 introspection endpoint
   * (`introspection_mode = post`: Dovecot POSTs `token=…`, expects `{ active, username }`).
   */
  introspectionUrl?: string;
}

/**
 * A private Dovecot IMAP server for one test file: its own config, maildirs, state and log in
 * a temp dir, plain-text IMAP on a free loopback port, accounts in a passwd file. Tests run as
 * root (here and in CI): internal processes run as root, login processes as the package's
 * `dovenull` user and mail processes as Debian's `mail` user.
 */
export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  if (!fs.existsSync(DOVECOT))
    throw new Error(
      `${DOVECOT} is missing: install the dovecot-imapd package (apt-get install dovecot-imapd)`,
    );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-dovecot-'));
  // The unprivileged login processes reach their sockets under base_dir.
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  for (const sub of ['run', 'state', 'mail', 'home']) fs.mkdirSync(path.join(dir, sub));
  // Dovecot refuses mail access as root: the mail processes run as Debian's `mail` user.
  const mailUid = Number(execFileSync('id', ['-u', MAIL_USER], { encoding: 'utf8' }).trim());
  const mailGid = Number(execFileSync('id', ['-g', MAIL_USER], { encoding: 'utf8' }).trim());
  for (const sub of ['mail', 'home']) fs.chownSync(path.join(dir, sub), mailUid, mailGid);
  const passwd = path.join(dir, 'passwd');
  const users = new Map(Object.entries(options.users));
  const writeUsers = () =>
    fs.writeFileSync(
      passwd,
      [...users].map(([user, password]) => `${user}:{PLAIN}${password}:::::\n`).join(''),
    );
  writeUsers();
  const oauth = options.introspectionUrl
    ? ['passdb {', '  driver = oauth2', '  mechanisms = xoauth2', `  args = ${dir}/oauth2.conf.ext`, '}']
    : [];
  if (options.introspectionUrl)
    fs.writeFileSync(
      path.join(dir, 'oauth2.conf.ext'),
      [
        'introspection_mode = post',
        `introspection_url = ${options.introspectionUrl}`,
        'force_introspection = yes',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'),
    );
  fs.writeFileSync(
    path.join(dir, 'dovecot.conf'),
    [
      `base_dir = ${dir}/run`,
      `state_dir = ${dir}/state`,
      `log_path = ${dir}/dovecot.log`,
      'listen = 127.0.0.1',
      'protocols = imap',
      'ssl = no',
      'disable_plaintext_auth = no',
      `auth_mechanisms = plain login${options.introspectionUrl ? ' xoauth2' : ''}`,
      'default_internal_user = root',
      'default_internal_group = root',
      // Login processes refuse to run as root; the package creates this user.
      'default_login_user = dovenull',
      `first_valid_uid = ${mailUid}`,
      `mail_location = maildir:${dir}/mail/%u`,
      'service imap-login {',
      '  chroot =',
      '  inet_listener imap {',
      `    port = ${port}`,
      '  }',
      '  inet_listener imaps {',
      '    port = 0',
      '  }',
      '}',
      'service anvil {',
      '  chroot =',
      '}',
      'passdb {',
      '  driver = passwd-file',
      '  mechanisms = plain login',
      `  args = scheme=PLAIN username_format=%u ${passwd}`,
      '}',
      ...oauth,
      'userdb {',
      '  driver = passwd-file',
      `  args = username_format=%u ${passwd}`,
      `  default_fields = uid=${mailUid} gid=${mailGid} home=${dir}/home/%u`,
      '}',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(DOVECOT, ['-F', '-c', path.join(dir, 'dovecot.conf')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  // A test run that dies must not leave the server behind.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const log = () => {
    const file = path.join(dir, 'dovecot.log');
    return `${output}${fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''}`;
  };
  await waitForGreeting(port, child, log);

  const connect = async (user: string, password: string) => {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port,
      secure: false,
      doSTARTTLS: false,
      auth: { user, pass: password },
      logger: false,
    });
    // A failure also rejects the command in progress, which is where the test sees it.
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  return {
    host: '127.0.0.1',
    port,
    dir,
    addUser(user, password) {
      users.set(user, password);
      writeUsers();
    },
    connect,
    async append(user, password, folder, raw) {
      const client = await connect(user, password);
      try {
        if (folder !== 'INBOX') await client.mailboxCreate(folder);
        const appended = await client.append(folder, raw);
        if (!appended || appended.uid === undefined) throw new Error(`APPEND to ${folder} failed`);
        return appended.uid;
      } finally {
        await client.logout();
      }
    },
    log,
    async stop() {
      process.off('exit', kill);
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the server greets with `* OK`; throws with its log if it does not within 10 s. */
async function waitForGreeting(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const greeting = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(1000);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once('error', () => resolve(''));
      socket.once('timeout', () => {
        socket.destroy();
        resolve('');
      });
    });
    if (greeting.startsWith('* OK')) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Dovecot did not start on port ${port}:\n${log()}`);
}
