import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import { migrate as migratePostgres } from 'drizzle-orm/node-postgres/migrator';
import type { Database } from './database.js';

/** `migrations/` at the repository root, from both `src/` (tsx) and `dist/` (built). */
export const MIGRATIONS_DIR = findMigrationsDir();

function findMigrationsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 8; depth += 1) {
    const candidate = path.join(dir, 'migrations', 'meta', '_journal.json');
    if (fs.existsSync(candidate)) return path.join(dir, 'migrations');
    dir = path.dirname(dir);
  }
  throw new Error('migrations/meta/_journal.json not found above the server code');
}

// Any fixed number shared by every Switchboard process: it serialises concurrent migrators.
const MIGRATION_LOCK_ID = 7_311_947_001;

/** Applies pending migrations; safe to run from several processes at once. */
export async function applyMigrations(database: Database): Promise<void> {
  const pglite = database.embeddedClient;
  if (pglite) {
    const [{ drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
      import('drizzle-orm/pglite'),
      import('drizzle-orm/pglite/migrator'),
    ]);
    await migratePglite(drizzlePglite({ client: pglite }), { migrationsFolder: MIGRATIONS_DIR });
    return;
  }
  const pool = database.postgresPool;
  if (!pool) throw new Error('database has neither engine open');
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    try {
      await migratePostgres(drizzlePostgres({ client }), { migrationsFolder: MIGRATIONS_DIR });
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]);
    }
  } finally {
    client.release();
  }
}

export interface MigrationStatus {
  expected: number;
  applied: number;
  pending: number;
}

/** Compares the checked-in journal with what the database has applied. */
export async function migrationStatus(database: Database): Promise<MigrationStatus> {
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  const expected = journal.entries.length;
  const exists = await database.db.execute<{ present: boolean }>(
    sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
  );
  if (!rowsOf<{ present: boolean }>(exists)[0]?.present) return { expected, applied: 0, pending: expected };
  const counted = await database.db.execute<{ applied: number }>(
    sql`select count(*)::int as applied from drizzle.__drizzle_migrations`,
  );
  const applied = rowsOf<{ applied: number }>(counted)[0]?.applied ?? 0;
  return { expected, applied, pending: Math.max(0, expected - applied) };
}

/** node-postgres and PGlite both answer `execute` with `{ rows }`. */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}
