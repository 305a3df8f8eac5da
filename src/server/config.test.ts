import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('configuration', () => {
  it('defaults to the embedded mode with sign-up, demo data and migrations on start', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      embedded: true,
      runMode: 'all',
      port: 3000,
      allowSignup: true,
      seedDemo: true,
      migrateOnStart: true,
      redisUrl: undefined,
    });
    expect(config.dataDir.endsWith('/data')).toBe(true);
  });

  it('turns sign-up, seeding and auto-migration off by default on PostgreSQL', () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://u@h/db', REDIS_URL: 'redis://h:6379' });
    expect(config).toMatchObject({
      embedded: false,
      allowSignup: false,
      seedDemo: false,
      migrateOnStart: false,
    });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', ALLOW_SIGNUP: 'true' }).allowSignup).toBe(true);
  });

  it('names every bad variable, and hides secret values', () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: 'eighty',
        RUN_MODE: 'sometimes',
        DATABASE_URL: 'mysql://x',
        SEED_ADMIN_PASSWORD: 'short',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const variable of ['PORT', 'RUN_MODE', 'DATABASE_URL', 'SEED_ADMIN_PASSWORD'])
      expect(message).toContain(variable);
    expect(message).toContain('"eighty"');
    expect(message).not.toContain('"short"');
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' })).toMatchObject({ embedded: true, port: 3000 });
  });

  it('refuses separate api/worker processes on the embedded database', () => {
    expect(() => loadConfig({ RUN_MODE: 'api' })).toThrow(/RUN_MODE.*DATABASE_URL/);
    expect(loadConfig({ RUN_MODE: 'worker', DATABASE_URL: 'postgres://u@h/db' }).runMode).toBe('worker');
  });

  it('rejects a boolean that is not one', () => {
    expect(() => loadConfig({ ALLOW_SIGNUP: 'maybe' })).toThrow(/ALLOW_SIGNUP/);
  });

  it('keeps files locally unless S3_BUCKET is set, and validates the S3 settings', () => {
    expect(loadConfig({})).toMatchObject({ s3: undefined, attachmentUrlTtlSeconds: 900 });
    expect(
      loadConfig({
        S3_BUCKET: 'sb-files',
        S3_ENDPOINT: 'http://minio:9000',
        S3_ACCESS_KEY_ID: 'id',
        S3_SECRET_ACCESS_KEY: 'secret',
        S3_FORCE_PATH_STYLE: 'true',
        S3_PREFIX: 'switchboard/',
        ATTACHMENT_URL_TTL_SECONDS: '60',
      }),
    ).toMatchObject({
      s3: {
        bucket: 'sb-files',
        region: 'us-east-1',
        endpoint: 'http://minio:9000',
        credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
        forcePathStyle: true,
        prefix: 'switchboard/',
      },
      attachmentUrlTtlSeconds: 60,
    });
    // Without keys the SDK's default chain (instance role, AWS_* variables) applies.
    expect(loadConfig({ S3_BUCKET: 'sb-files' }).s3).toMatchObject({
      credentials: undefined,
      forcePathStyle: false,
    });

    let error: unknown;
    try {
      loadConfig({
        S3_BUCKET: 'Not_A_Bucket',
        S3_ENDPOINT: 'ftp://minio',
        S3_FORCE_PATH_STYLE: 'sometimes',
        S3_PREFIX: '../escape',
        ATTACHMENT_URL_TTL_SECONDS: '0',
        S3_SECRET_ACCESS_KEY: 'very-secret-value',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const variable of [
      'S3_BUCKET',
      'S3_ENDPOINT',
      'S3_FORCE_PATH_STYLE',
      'S3_PREFIX',
      'ATTACHMENT_URL_TTL_SECONDS',
    ])
      expect(message).toContain(variable);
    expect(message).toContain('"Not_A_Bucket"');
    expect(message).not.toContain('very-secret-value');

    expect(() => loadConfig({ S3_BUCKET: 'sb-files', S3_ACCESS_KEY_ID: 'id' })).toThrow(/S3_ACCESS_KEY_ID/);
    expect(() => loadConfig({ S3_BUCKET: 'sb-files', S3_SECRET_ACCESS_KEY: 'secret' })).toThrow(
      /S3_ACCESS_KEY_ID: set together with S3_SECRET_ACCESS_KEY/,
    );
    expect(() => loadConfig({ S3_ENDPOINT: 'http://minio:9000' })).toThrow(/S3_BUCKET/);
  });
  it('reads SMTP from a URL or parts, and names a bad mail variable without showing credentials', () => {
    expect(loadConfig({ SMTP_URL: 'smtps://u:p@mail.example.com' }).smtp).toEqual({
      url: 'smtps://u:p@mail.example.com',
    });
    expect(loadConfig({ SMTP_HOST: 'mail.example.com', SMTP_PORT: '465', SMTP_USER: 'u' }).smtp).toEqual({
      host: 'mail.example.com',
      port: 465,
      secure: true,
      user: 'u',
    });
    expect(loadConfig({}).smtp).toBeUndefined();
    expect(() => loadConfig({ SMTP_URL: 'http://u:hunter2@mail' })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ SMTP_URL: 'http://u:hunter2@mail' })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ SMTP_PORT: '25' })).toThrow(/SMTP_HOST/);
    expect(() => loadConfig({ MAIL_FROM_DEFAULT: 'not-an-address' })).toThrow(/MAIL_FROM_DEFAULT/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u@h/db', SMTP_HOST: 'mail' })).toThrow(
      /MAIL_REPLY_SECRET/,
    );
  });
});
