import path from 'node:path';
import { z } from 'zod';

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
  JOB_CONCURRENCY: positiveInt(5),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  LOGIN_MAX_FAILURES: positiveInt(10),
  LOGIN_WINDOW_SECONDS: positiveInt(900),
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
  jobConcurrency: number;
  outboxPollIntervalMs: number;
  shutdownTimeoutMs: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
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
      const shown = value === undefined || /PASSWORD|KEY|SECRET/.test(variable) ? '' : ` (got "${value}")`;
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
    jobConcurrency: e.JOB_CONCURRENCY,
    outboxPollIntervalMs: e.OUTBOX_POLL_INTERVAL_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
  };
}
