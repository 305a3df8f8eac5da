import type { ImapFlow, ImapFlowError } from 'imapflow';
import type { Database } from '../../platform/db/database.js';
import { lazyImport } from '../../platform/lazy-import.js';
import type { AccessTokens } from './imap.oauth.js';
import * as repo from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import type { MailboxRow } from './mailboxes.repository.js';

/** Loaded by the first IMAP connection: processes without IMAP mailboxes never hold it. */
const imapflow = lazyImport(() => import('imapflow'));

/** An `imap` mailbox with its settings. */
export interface ImapAccount {
  mailbox: MailboxRow;
  settings: repo.ImapSettingsRow;
}

export interface ImapConnectionDeps {
  database: Database;
  box: SecretBox;
  tokens: AccessTokens;
}

/**
 * A client for the mailbox's account, not yet connected: TLS as configured, and credentials
 * (the password, or an access token from the refresh token). The refresh token is read from
 * the database each time, since another process may have stored a rotated one.
 */
export async function imapClient(
  account: ImapAccount,
  deps: ImapConnectionDeps,
  options: { autoIdle: boolean },
): Promise<ImapFlow> {
  const { settings } = account;
  const { ImapFlow } = await imapflow();
  return new ImapFlow({
    host: settings.host,
    port: settings.port,
    secure: settings.tls === 'tls',
    doSTARTTLS: settings.tls === 'starttls' ? true : settings.tls === 'none' ? false : undefined,
    auth: await credentials(account, deps),
    logger: false,
    disableAutoIdle: !options.autoIdle,
    // IDLE soon after the last command, so new mail is announced within a second or so.
    autoIdleDelay: 1_000,
    connectionTimeout: 30_000,
    greetingTimeout: 16_000,
    clientInfo: { name: 'Switchboard' },
  });
}

/** Connects; an access token the server refused is forgotten, so the next attempt gets a new one. */
export async function connectImap(client: ImapFlow, account: ImapAccount, deps: ImapConnectionDeps) {
  try {
    await client.connect();
  } catch (error) {
    if ((error as ImapFlowError).authenticationFailed) deps.tokens.invalidate(tokenKey(account));
    throw error;
  }
}

async function credentials(account: ImapAccount, deps: ImapConnectionDeps) {
  const { mailbox, settings } = account;
  const { box, database } = deps;
  const open = (sealed: string | null, field: string) =>
    sealed === null ? null : box.open(sealed, `${mailbox.id}:${field}`);
  if (settings.auth === 'password')
    return { user: settings.username, pass: open(settings.passwordSealed, 'password') ?? '' };
  const current = await database.withOrg(mailbox.orgId, (tx) =>
    repo.findSettings(tx, mailbox.orgId, mailbox.id),
  );
  const accessToken = await deps.tokens.get(
    tokenKey(account),
    {
      tokenUrl: settings.tokenUrl ?? '',
      clientId: settings.clientId ?? '',
      clientSecret: open(settings.clientSecretSealed, 'clientSecret'),
      refreshToken: open(current?.refreshTokenSealed ?? settings.refreshTokenSealed, 'refreshToken') ?? '',
    },
    async (rotated) => {
      const sealed = box.seal(rotated, `${mailbox.id}:refreshToken`);
      await database.withOrg(mailbox.orgId, (tx) => repo.storeRefreshToken(tx, settings.id, sealed));
    },
  );
  return { user: settings.username, accessToken };
}

function tokenKey(account: ImapAccount): string {
  return `${account.mailbox.id}:${account.settings.version}`;
}

/** The error as admins should read it: the server's own words where there are some. */
export function describeImapError(error: unknown): string {
  const imap = error as ImapFlowError;
  if (imap?.authenticationFailed)
    return `Authentication failed${imap.responseText ? `: ${imap.responseText}` : ''}`;
  if (imap?.responseText) return `${imap.message}: ${imap.responseText}`;
  if (imap?.code && imap.message) return `${imap.message} (${imap.code})`;
  return error instanceof Error ? error.message : String(error);
}
