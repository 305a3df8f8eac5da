import path from 'node:path';
import { z } from 'zod';
import { clamdAddressOf } from './platform/scan/clamd.driver.js';

/**
 * Every setting of Switchboard, read from the environment (and an optional `.env`, loaded
 * by main.ts) and validated once at start. The README's configuration table mirrors this
 * file; keep them in step.
 */

const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  RUN_MODE: z.enum(['all', 'api', 'worker', 'migrate']).default('all'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  PUBLIC_URL: z.url().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_SIZE: positiveInt(10),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, dot, dash and underscore only')
    .default('sb'),
  MIGRATE_ON_START: booleanFromEnv.optional(),
  ALLOW_SIGNUP: booleanFromEnv.optional(),
  SEED_DEMO: booleanFromEnv.optional(),
  SEED_ADMIN_EMAIL: z.email().optional(),
  SEED_ADMIN_PASSWORD: z.string().min(12, 'must be at least 12 characters').optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(3600)
    .default(30 * 86_400),
  JWT_PRIVATE_KEY: z
    .string()
    .includes('BEGIN PRIVATE KEY', { message: 'must be a PKCS#8 PEM EC P-256 private key' })
    .optional(),
  BODY_LIMIT_BYTES: positiveInt(1_048_576),
  ATTACHMENT_MAX_BYTES: positiveInt(26_214_400),
  TRUST_PROXY: booleanFromEnv.default(false),
  STORAGE_DIR: z.string().min(1).optional(),
  S3_BUCKET: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)',
    )
    .optional(),
  S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'must be a region name such as us-east-1')
    .default('us-east-1'),
  S3_ENDPOINT: z.url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' }).optional(),
  S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  S3_FORCE_PATH_STYLE: booleanFromEnv.default(false),
  S3_PREFIX: z
    .string()
    .regex(
      /^(?!\.\.?(\/|$))(?!.*\/\.\.?(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/,
      'letters, digits, dot, dash and underscore in slash-separated segments, without "." or ".."',
    )
    .optional(),
  ATTACHMENT_URL_TTL_SECONDS: z.coerce.number().int().min(1).max(604_800).default(900),
  JOB_CONCURRENCY: positiveInt(5),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  LOGIN_MAX_FAILURES: positiveInt(10),
  LOGIN_WINDOW_SECONDS: positiveInt(900),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/\s]+/, 'must be an smtp:// or smtps:// URL (smtp://user:password@host:587)')
    .optional(),
  SMTP_HOST: z.string().min(1).optional(),
  SMTP_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASSWORD: z.string().min(1).optional(),
  SMTP_SECURE: booleanFromEnv.optional(),
  MAIL_FROM_DEFAULT: z.email().optional(),
  MAIL_REPLY_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MAIL_RETRY_BACKOFF_MS: positiveInt(30_000),
  CSAT_DELAY_MINUTES: z.coerce.number().int().min(0).default(60),
  SMTP_LISTEN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  SMTP_LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
  SMTP_LISTEN_MAX_BYTES: positiveInt(26_214_400),
  INBOUND_MAIL_RATE_MAX: positiveInt(20),
  INBOUND_MAIL_RATE_WINDOW_SECONDS: positiveInt(600),
  IMAP_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  CLAMD_URL: z
    .string()
    .refine(
      (url) => clamdAddressOf(url) !== undefined,
      'must be tcp://host:port or unix:///path/to/clamd.socket',
    )
    .optional(),
  CLAMD_TIMEOUT_MS: positiveInt(60_000),
  REALTIME_MAX_CONNECTIONS_PER_USER: positiveInt(5),
  REALTIME_EVENT_RATE_MAX: positiveInt(60),
  REALTIME_EVENT_RATE_WINDOW_SECONDS: positiveInt(10),
  REALTIME_CATCH_UP_MAX_EVENTS: z.coerce.number().int().min(1).max(10_000).default(500),
  REALTIME_FANOUT_INTERVAL_MS: z.coerce.number().int().min(0).max(1_000).default(40),
  PRESENCE_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
});

export type Env = z.input<typeof EnvSchema>;

/** Validated settings, with defaults that depend on the mode already resolved. */
export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  runMode: 'all' | 'api' | 'worker' | 'migrate';
  host: string;
  port: number;
  publicUrl: string;
  logLevel: string;
  dataDir: string;
  /** Embedded PostgreSQL (PGlite) in `dataDir` when unset. */
  databaseUrl: string | undefined;
  databasePoolSize: number;
  /** In-process jobs and in-memory pub/sub when unset. */
  redisUrl: string | undefined;
  redisPrefix: string;
  embedded: boolean;
  migrateOnStart: boolean;
  allowSignup: boolean;
  seedDemo: boolean;
  seedAdminEmail: string | undefined;
  seedAdminPassword: string | undefined;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  jwtPrivateKey: string | undefined;
  bodyLimitBytes: number;
  /** Largest attachment upload. */
  attachmentMaxBytes: number;
  trustProxy: boolean;
  storageDir: string;
  /** Attachments in this S3 bucket when set; in `storageDir` otherwise. */
  s3: S3Config | undefined;
  /** Lifetime of a pre-signed attachment download URL (S3 only). */
  attachmentUrlTtlSeconds: number;
  jobConcurrency: number;
  outboxPollIntervalMs: number;
  shutdownTimeoutMs: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** Outgoing mail server; mail is only logged when unset. */
  smtp:
    | { url: string }
    | { host: string; port: number; secure: boolean; user?: string; password?: string }
    | undefined;
  /** Sender of system mail not tied to a mailbox (validated; nothing sends such mail yet). */
  mailFromDefault: string | undefined;
  /** Key of the reply tokens in Reply-To addresses (see docs/email.md); derived when unset. */
  mailReplySecret: string | undefined;
  /** First retry delay of a refused or failed send (doubles each retry). */
  mailRetryBackoffMs: number;
  /** Minutes after a ticket is resolved before its satisfaction survey is mailed (0: at once). */
  csatDelayMinutes: number;
  /** The built-in inbound SMTP listener (API role); off when the port is unset. */
  smtpListen: { port: number; host: string } | undefined;
  /** Largest inbound mail accepted (SMTP listener and the HTTP inbound door). */
  inboundMailMaxBytes: number;
  /** Mails one sender may send one mailbox per window before the rest waits in quarantine. */
  inboundMailRateLimit: { max: number; windowMs: number };
  /** How often worker processes match their IMAP pollers to the mailboxes and renew their leases. */
  imapReconcileIntervalMs: number;
  /** clamd, which scans every attachment before it is stored; files are not scanned when unset. */
  clamd: { url: string; timeoutMs: number } | undefined;
  /** Sockets (docs/realtime.md): connection cap, event rate limit, catch-up bound, presence TTL. */
  realtime: RealtimeConfig;
}

export interface RealtimeConfig {
  /** Open sockets one user may hold across all API processes. */
  maxConnectionsPerUser: number;
  /** Client events one socket may send per window; more are refused. */
  eventRateLimit: { max: number; windowMs: number };
  /** Most missed events replayed on reconnect; past it the client is told to refetch. */
  catchUpMaxEvents: number;
  /** Least time between the starts of two fan-out passes (events arriving meanwhile share the next). */
  fanoutIntervalMs: number;
  /** How long viewing and typing last without a refresh. */
  presenceTtlMs: number;
}

/** Where attachments go when S3_BUCKET is set. */
export interface S3Config {
  bucket: string;
  region: string;
  endpoint: string | undefined;
  /** Unset: the AWS SDK's default chain (AWS_* variables, profile, instance or task role). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  forcePathStyle: boolean;
  prefix: string | undefined;
}

/** Thrown for invalid settings; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses and validates settings; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "not set": `FOO=` in a .env file must not fail a URL check.
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const variable = issue.path.join('.') || '(environment)';
      const value = cleaned[variable];
      const shown =
        value === undefined || /PASSWORD|KEY|SECRET|SMTP_URL/.test(variable) ? '' : ` (got "${value}")`;
      return `  ${variable}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const embedded = e.DATABASE_URL === undefined;
  if (embedded && (e.RUN_MODE === 'api' || e.RUN_MODE === 'worker')) {
    // PGlite lives inside one process: a separate API or worker process could not share it.
    throw new ConfigError(
      `Invalid configuration:\n  RUN_MODE: "${e.RUN_MODE}" needs DATABASE_URL (the embedded database runs in one process; use all or migrate)`,
    );
  }
  if (e.SMTP_URL && e.SMTP_HOST)
    throw new ConfigError('Invalid configuration:\n  SMTP_HOST: set either SMTP_URL or SMTP_HOST, not both');
  if (
    (e.SMTP_PORT || e.SMTP_USER || e.SMTP_PASSWORD || e.SMTP_SECURE !== undefined) &&
    !e.SMTP_HOST &&
    !e.SMTP_URL
  )
    throw new ConfigError(
      'Invalid configuration:\n  SMTP_HOST: needed by SMTP_PORT, SMTP_USER, SMTP_PASSWORD or SMTP_SECURE',
    );
  if ((e.SMTP_URL || e.SMTP_HOST) && !embedded && !e.MAIL_REPLY_SECRET && !e.JWT_PRIVATE_KEY)
    // Every API and worker process must compute the same reply tokens; the embedded mode keeps one in DATA_DIR.
    throw new ConfigError(
      'Invalid configuration:\n  MAIL_REPLY_SECRET: needed to send mail with DATABASE_URL set (or set JWT_PRIVATE_KEY)',
    );
  if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined))
    throw new ConfigError(
      'Invalid configuration:\n  S3_ACCESS_KEY_ID: set together with S3_SECRET_ACCESS_KEY, or neither (the SDK default chain)',
    );
  if (!e.S3_BUCKET && (e.S3_ENDPOINT || e.S3_ACCESS_KEY_ID || e.S3_PREFIX))
    throw new ConfigError(
      'Invalid configuration:\n  S3_BUCKET: needed by S3_ENDPOINT, S3_ACCESS_KEY_ID or S3_PREFIX',
    );
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    nodeEnv: e.NODE_ENV,
    runMode: e.RUN_MODE,
    host: e.HOST,
    port: e.PORT,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    logLevel: e.LOG_LEVEL,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    embedded,
    migrateOnStart: e.MIGRATE_ON_START ?? embedded,
    allowSignup: e.ALLOW_SIGNUP ?? embedded,
    seedDemo: e.SEED_DEMO ?? embedded,
    seedAdminEmail: e.SEED_ADMIN_EMAIL,
    seedAdminPassword: e.SEED_ADMIN_PASSWORD,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    jwtPrivateKey: e.JWT_PRIVATE_KEY,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    attachmentMaxBytes: e.ATTACHMENT_MAX_BYTES,
    trustProxy: e.TRUST_PROXY,
    storageDir: path.resolve(e.STORAGE_DIR ?? path.join(dataDir, 'files')),
    s3: e.S3_BUCKET
      ? {
          bucket: e.S3_BUCKET,
          region: e.S3_REGION,
          endpoint: e.S3_ENDPOINT,
          credentials:
            e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
              ? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
              : undefined,
          forcePathStyle: e.S3_FORCE_PATH_STYLE,
          prefix: e.S3_PREFIX,
        }
      : undefined,
    attachmentUrlTtlSeconds: e.ATTACHMENT_URL_TTL_SECONDS,
    jobConcurrency: e.JOB_CONCURRENCY,
    outboxPollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    smtp: e.SMTP_URL
      ? { url: e.SMTP_URL }
      : e.SMTP_HOST
        ? {
            host: e.SMTP_HOST,
            port: e.SMTP_PORT ?? (e.SMTP_SECURE ? 465 : 587),
            secure: e.SMTP_SECURE ?? e.SMTP_PORT === 465,
            ...(e.SMTP_USER ? { user: e.SMTP_USER } : {}),
            ...(e.SMTP_PASSWORD ? { password: e.SMTP_PASSWORD } : {}),
          }
        : undefined,
    mailFromDefault: e.MAIL_FROM_DEFAULT,
    mailReplySecret: e.MAIL_REPLY_SECRET,
    mailRetryBackoffMs: e.MAIL_RETRY_BACKOFF_MS,
    csatDelayMinutes: e.CSAT_DELAY_MINUTES,
    smtpListen:
      e.SMTP_LISTEN_PORT === undefined ? undefined : { port: e.SMTP_LISTEN_PORT, host: e.SMTP_LISTEN_HOST },
    inboundMailMaxBytes: e.SMTP_LISTEN_MAX_BYTES,
    inboundMailRateLimit: {
      max: e.INBOUND_MAIL_RATE_MAX,
      windowMs: e.INBOUND_MAIL_RATE_WINDOW_SECONDS * 1000,
    },
    imapReconcileIntervalMs: e.IMAP_RECONCILE_INTERVAL_MS,
    clamd: e.CLAMD_URL ? { url: e.CLAMD_URL, timeoutMs: e.CLAMD_TIMEOUT_MS } : undefined,
    realtime: {
      maxConnectionsPerUser: e.REALTIME_MAX_CONNECTIONS_PER_USER,
      eventRateLimit: {
        max: e.REALTIME_EVENT_RATE_MAX,
        windowMs: e.REALTIME_EVENT_RATE_WINDOW_SECONDS * 1000,
      },
      catchUpMaxEvents: e.REALTIME_CATCH_UP_MAX_EVENTS,
      fanoutIntervalMs: e.REALTIME_FANOUT_INTERVAL_MS,
      presenceTtlMs: e.PRESENCE_TTL_SECONDS * 1000,
    },
  };
}
