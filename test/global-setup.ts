import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { Database } from '../src/server/platform/db/database.js';
import { applyMigrations } from '../src/server/platform/db/migrations.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Embedded mode: a migrated PGlite data directory tarball, restored per test file. */
    snapshotPath: string;
    /** PostgreSQL mode: a migrated template database, copied per test file. */
    templateDatabaseUrl: string;
  }
}

/**
 * Migrates once per run. Tests run against PostgreSQL + Redis when DATABASE_URL and
 * REDIS_URL are set, and against the embedded engines otherwise.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    const database = await Database.open({ dataDir: 'memory://' });
    await applyMigrations(database);
    const snapshot = await database.dumpSnapshot();
    await database.close();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-'));
    const snapshotPath = path.join(dir, 'migrated.tar');
    fs.writeFileSync(snapshotPath, Buffer.from(await snapshot.arrayBuffer()));
    project.provide('snapshotPath', snapshotPath);
    project.provide('templateDatabaseUrl', '');
    return async () => fs.rmSync(dir, { recursive: true, force: true });
  }

  const template = `sb_test_template_${process.pid}`;
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${template}`);
  await admin.query(`create database ${template}`);
  const templateUrl = withDatabase(databaseUrl, template);
  const database = await Database.open({ url: templateUrl, poolSize: 2 });
  await applyMigrations(database);
  await database.close();
  project.provide('snapshotPath', '');
  project.provide('templateDatabaseUrl', templateUrl);
  return async () => {
    const leftovers = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like 'sb_test_%' and datname like $1`,
      [`%_${process.pid}_%`],
    );
    for (const row of leftovers.rows)
      await admin.query(`drop database if exists ${row.datname} with (force)`);
    await admin.query(`drop database if exists ${template} with (force)`);
    await admin.end();
  };
}

export function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}
