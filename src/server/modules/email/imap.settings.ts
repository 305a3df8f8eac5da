import net from 'node:net';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import { IMAP_AUTH_METHODS, IMAP_PROCESSED_ACTIONS, IMAP_TLS_MODES } from './email.table.js';
import type { ImapSettingsInsert, ImapSettingsRow, ImapStateRow } from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import type { ImapStatus } from './imap.status.js';

/*
 * The request types are loose on purpose (strings and integers): the service checks the
 * values, so a bad one answers 422 naming the field, like every other mailbox setting.
 */
const Secret = z.string().max(8192).nullable().optional();

/** IMAP settings in a mailbox request. Secrets are write-only: omitted keeps, null clears. */
export const ImapSettingsBody = z
  .object({
    host: z.string().optional(),
    port: z.number().int().optional().meta({ description: 'Default 993 with `tls`, else 143' }),
    tls: z.string().optional().meta({ description: '`tls` (default), `starttls` or `none`' }),
    username: z.string().optional(),
    auth: z.string().optional().meta({ description: '`password` (default) or `xoauth2`' }),
    password: Secret,
    tokenUrl: z
      .string()
      .nullable()
      .optional()
      .meta({ description: 'xoauth2: the token endpoint (refresh_token grant)' }),
    clientId: z.string().nullable().optional(),
    clientSecret: Secret,
    refreshToken: Secret,
    folder: z.string().optional().meta({ description: 'Default INBOX' }),
    sentFolder: z
      .string()
      .nullable()
      .optional()
      .meta({ description: 'Also read, for replies staff sent from their mail client' }),
    processed: z
      .string()
      .optional()
      .meta({ description: '`flag` (\\Seen and $Switchboard, default) or `move` to `processedFolder`' }),
    processedFolder: z.string().nullable().optional(),
    pollIntervalSeconds: z
      .number()
      .int()
      .optional()
      .meta({ description: 'Polling when the server has no IDLE, 5–3600, default 60' }),
  })
  .strict();
export type ImapSettingsBody = z.infer<typeof ImapSettingsBody>;

export const ImapStatusResponse = z.object({
  state: z.enum(['stopped', 'connecting', 'connected', 'idle', 'error']),
  lastError: z.string().nullable(),
  lastErrorAt: z.string().nullable(),
  lastPollAt: z.string().nullable(),
  folders: z.array(
    z.object({ folder: z.string(), uidValidity: z.number(), lastUid: z.number(), updatedAt: z.string() }),
  ),
});

export const ImapSettingsResponse = z.object({
  host: z.string(),
  port: z.number(),
  tls: z.enum(IMAP_TLS_MODES),
  username: z.string(),
  auth: z.enum(IMAP_AUTH_METHODS),
  hasPassword: z.boolean(),
  tokenUrl: z.string().nullable(),
  clientId: z.string().nullable(),
  hasClientSecret: z.boolean(),
  hasRefreshToken: z.boolean(),
  folder: z.string(),
  sentFolder: z.string().nullable(),
  processed: z.enum(IMAP_PROCESSED_ACTIONS),
  processedFolder: z.string().nullable(),
  pollIntervalSeconds: z.number(),
  status: ImapStatusResponse,
});
export type ImapSettingsResponse = z.infer<typeof ImapSettingsResponse>;

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: folder names must not carry control characters
const CONTROL = /[\u0000-\u001f\u007f]/;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** What is kept of a mailbox's settings, sealed secrets included (the columns an admin sets). */
type StoredSettings = Omit<ImapSettingsInsert, 'id' | 'orgId' | 'mailboxId' | 'version'>;

/**
 * The settings to store after applying `input` to `existing` (none yet: defaults apply).
 * Secrets are sealed for this mailbox. Answers 422 naming every bad field (`imap.<field>`).
 */
export function resolveImapSettings(
  mailboxId: string,
  existing: ImapSettingsRow | undefined,
  input: ImapSettingsBody,
  box: SecretBox,
): StoredSettings {
  const problems: Record<string, string> = {};
  const text = (value: string | null | undefined) => {
    const trimmed = value?.trim();
    return trimmed ? trimmed : null;
  };
  const tls = input.tls ?? existing?.tls ?? 'tls';
  if (!(IMAP_TLS_MODES as readonly string[]).includes(tls))
    problems['imap.tls'] = `must be one of ${IMAP_TLS_MODES.join(', ')}`;
  const auth = input.auth ?? existing?.auth ?? 'password';
  if (!(IMAP_AUTH_METHODS as readonly string[]).includes(auth))
    problems['imap.auth'] = `must be one of ${IMAP_AUTH_METHODS.join(', ')}`;
  const processed = input.processed ?? existing?.processedAction ?? 'flag';
  if (!(IMAP_PROCESSED_ACTIONS as readonly string[]).includes(processed))
    problems['imap.processed'] = `must be one of ${IMAP_PROCESSED_ACTIONS.join(', ')}`;

  const host = text(input.host ?? existing?.host)?.toLowerCase() ?? null;
  if (!host) problems['imap.host'] = 'required';
  else if (!HOST_NAME.test(host) && net.isIP(host) === 0)
    problems['imap.host'] = 'must be a host name or an IP address (no scheme, no port)';
  const port =
    input.port ?? (input.tls === undefined ? existing?.port : undefined) ?? (tls === 'tls' ? 993 : 143);
  if (port < 1 || port > 65_535) problems['imap.port'] = 'must be 1-65535';
  const username = text(input.username ?? existing?.username);
  if (!username || username.length > 320) problems['imap.username'] = 'required, at most 320 characters';

  const seal = (field: string, value: string | null | undefined, kept: string | null | undefined) =>
    value === undefined
      ? (kept ?? null)
      : value === null || value === ''
        ? null
        : box.seal(value, `${mailboxId}:${field}`);
  const passwordSealed = seal('password', input.password, existing?.passwordSealed);
  const clientSecretSealed = seal('clientSecret', input.clientSecret, existing?.clientSecretSealed);
  const refreshTokenSealed = seal('refreshToken', input.refreshToken, existing?.refreshTokenSealed);
  const tokenUrl = input.tokenUrl === undefined ? (existing?.tokenUrl ?? null) : text(input.tokenUrl);
  const clientId = input.clientId === undefined ? (existing?.clientId ?? null) : text(input.clientId);
  if (auth === 'password' && !passwordSealed) problems['imap.password'] = 'required with auth password';
  if (auth === 'xoauth2') {
    const urlProblem = tokenUrlProblem(tokenUrl);
    if (urlProblem) problems['imap.tokenUrl'] = urlProblem;
    if (!clientId) problems['imap.clientId'] = 'required with auth xoauth2';
    if (!refreshTokenSealed) problems['imap.refreshToken'] = 'required with auth xoauth2';
  }

  const folder = input.folder === undefined ? (existing?.folder ?? 'INBOX') : text(input.folder);
  const sentFolder = input.sentFolder === undefined ? (existing?.sentFolder ?? null) : text(input.sentFolder);
  const processedFolder =
    input.processedFolder === undefined ? (existing?.processedFolder ?? null) : text(input.processedFolder);
  for (const [field, value] of [
    ['folder', folder],
    ['sentFolder', sentFolder],
    ['processedFolder', processedFolder],
  ] as const)
    if (value !== null && (value.length > 255 || CONTROL.test(value)))
      problems[`imap.${field}`] = 'at most 255 characters, no control characters';
  if (!folder) problems['imap.folder'] = 'required';
  if (sentFolder && sentFolder === folder) problems['imap.sentFolder'] = 'must differ from folder';
  if (processed === 'move') {
    if (!processedFolder) problems['imap.processedFolder'] = 'required with processed move';
    else if (processedFolder === folder || processedFolder === sentFolder)
      problems['imap.processedFolder'] = 'must differ from folder and sentFolder';
  }
  const pollIntervalSeconds = input.pollIntervalSeconds ?? existing?.pollIntervalSeconds ?? 60;
  if (pollIntervalSeconds < 5 || pollIntervalSeconds > 3600)
    problems['imap.pollIntervalSeconds'] = 'must be 5-3600';

  if (Object.keys(problems).length > 0)
    throw new AppError('UNPROCESSABLE', 'Invalid IMAP settings', { details: problems });
  return {
    host: host!,
    port,
    tls: tls as ImapSettingsRow['tls'],
    username: username!,
    auth: auth as ImapSettingsRow['auth'],
    passwordSealed,
    tokenUrl,
    clientId,
    clientSecretSealed,
    refreshTokenSealed,
    folder: folder!,
    sentFolder,
    processedAction: processed as ImapSettingsRow['processedAction'],
    processedFolder: processed === 'move' ? processedFolder : null,
    pollIntervalSeconds,
  };
}

/** The token endpoint gets the client secret and refresh token: https, or http on this host. */
function tokenUrlProblem(value: string | null): string | undefined {
  if (!value) return 'required with auth xoauth2';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an https:// URL';
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.test(url.hostname)))
    return undefined;
  return 'must be an https:// URL (http:// only on this host)';
}

/** The settings as admins see them: secrets only as `has…` flags. */
export function presentImapSettings(
  row: ImapSettingsRow,
  status: ImapStatus | null,
  states: ImapStateRow[],
): ImapSettingsResponse {
  return {
    host: row.host,
    port: row.port,
    tls: row.tls,
    username: row.username,
    auth: row.auth,
    hasPassword: row.passwordSealed !== null,
    tokenUrl: row.tokenUrl,
    clientId: row.clientId,
    hasClientSecret: row.clientSecretSealed !== null,
    hasRefreshToken: row.refreshTokenSealed !== null,
    folder: row.folder,
    sentFolder: row.sentFolder,
    processed: row.processedAction,
    processedFolder: row.processedFolder,
    pollIntervalSeconds: row.pollIntervalSeconds,
    status: {
      state: status?.state ?? 'stopped',
      lastError: status?.lastError ?? null,
      lastErrorAt: status?.lastErrorAt ?? null,
      lastPollAt: status?.lastPollAt ?? null,
      folders: states.map((state) => ({
        folder: state.folder,
        uidValidity: state.uidValidity,
        lastUid: state.lastUid,
        updatedAt: state.updatedAt.toISOString(),
      })),
    },
  };
}
