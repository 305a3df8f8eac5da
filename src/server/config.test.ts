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
});
