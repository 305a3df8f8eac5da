import type { StatementRunner } from '../../platform/db/database.js';

/**
 * The catalog reads and DDL of search's month indexes (search-months.ts). Statements go
 * through a `StatementRunner`: `CREATE INDEX CONCURRENTLY` refuses a transaction, and reads
 * run in the caller's. Index names are the caller's `tickets_search_mYYYYMM`, never input.
 */

export interface MonthIndexRow extends Record<string, unknown> {
  name: string;
  /** False for the leftover of an interrupted concurrent build. */
  valid: boolean;
}

/** The indexes on `tickets` whose name starts with `prefix`, valid or not. */
export async function indexesNamed(run: StatementRunner, prefix: string): Promise<MonthIndexRow[]> {
  return (await run(`select c.relname as name, i.indisvalid and i.indisready as valid
    from pg_catalog.pg_index i
    join pg_catalog.pg_class c on c.oid = i.indexrelid
    where i.indrelid = 'public.tickets'::regclass and c.relname like '${prefix}%'`)) as MonthIndexRow[];
}

/**
 * Creates the full-text index of tickets created in [from, to). Its predicate is what
 * `monthConditions` writes, so that the planner can match the two.
 */
export async function createMonthIndex(
  run: StatementRunner,
  name: string,
  from: Date,
  to: Date,
): Promise<void> {
  await run(`create index concurrently if not exists ${name} on tickets using gin (search_vector)
    where created_at >= '${from.toISOString()}'::timestamptz and created_at < '${to.toISOString()}'::timestamptz`);
}

export async function dropIndex(run: StatementRunner, name: string): Promise<void> {
  await run(`drop index concurrently if exists ${name}`);
}
