import { type SQL, sql } from 'drizzle-orm';
import type { Database, Executor, StatementRunner } from '../../platform/db/database.js';
import { rowsOf } from '../../platform/db/migrations.js';
import { createMonthIndex, dropIndex, indexesNamed } from './search-months.repository.js';
import { tickets } from './tickets.table.js';

/**
 * Full-text indexes of the newest months: besides `tickets_search_idx` over every ticket, a
 * partial GIN index per calendar month (UTC) of creation, `tickets_search_m202611` for
 * November 2026, kept for the last few months and the next one. docs/tickets.md ("Search")
 * and decision 029 say why.
 *
 * GIN can only read a word's whole posting list: a word found in 80,000 tickets costs its
 * 80,000 entries before the first candidate, however few a search keeps. Search therefore
 * reads the months newest first, each through its own small index, and stops as soon as
 * it has its candidates; only what those months cannot fill falls back to the full index.
 * A common word is then found within the newest month, a rare one costs what it did.
 *
 * A scheduled job (`maintain`) creates each month's index before the month starts and drops
 * those that have aged out, on PostgreSQL with `CREATE INDEX CONCURRENTLY`. Search reads the
 * valid indexes from the catalog (`pg_index`), so a month whose index is missing or still
 * building is simply searched through the full index.
 */
export const SEARCH_MONTHS = {
  /** Months searched through their own index, newest first (the current one included). */
  searched: 3,
  /** Months indexed ahead of time, so that a month's index exists when it starts. */
  ahead: 1,
} as const;

/** How long a process trusts its list of month indexes before reading the catalog again. */
const CATALOG_TTL_MS = 60_000;

/** Session advisory lock of `maintain`: one process at a time changes the month indexes. */
const MAINTENANCE_LOCK_ID = 7_311_947_029;

const INDEX_PREFIX = 'tickets_search_m';
const INDEX_NAME = /^tickets_search_m(\d{4})(\d{2})$/;

/** Creation times `from` (inclusive) to `to` (exclusive): one calendar month in UTC. */
export interface MonthRange {
  from: Date;
  to: Date;
}

/** The month (UTC) `offset` months after the one `at` lies in. */
export function monthOf(at: Date, offset = 0): MonthRange {
  const from = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + offset, 1));
  const to = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1));
  return { from, to };
}

/** `tickets_search_m202611` for November 2026. */
export function indexNameOf(month: MonthRange): string {
  return `${INDEX_PREFIX}${month.from.getUTCFullYear()}${String(month.from.getUTCMonth() + 1).padStart(2, '0')}`;
}

function monthOfIndexName(name: string): MonthRange | undefined {
  const match = INDEX_NAME.exec(name);
  if (!match) return undefined;
  return monthOf(new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, 1)));
}

/** The months whose indexes should exist at `now`, newest first. */
export function monthsToKeep(now: Date): MonthRange[] {
  const months: MonthRange[] = [];
  for (let offset = SEARCH_MONTHS.ahead; offset > -SEARCH_MONTHS.searched; offset -= 1)
    months.push(monthOf(now, offset));
  return months;
}

/**
 * The months search reads through their own indexes at `now`, newest first: the indexed
 * months that have started, as long as they follow each other without a gap (a gap's
 * tickets would otherwise be read after older ones), at most `SEARCH_MONTHS.searched`.
 */
export function searchedMonths(indexed: readonly MonthRange[], now: Date): MonthRange[] {
  const started = indexed
    .filter((month) => month.from.getTime() <= now.getTime())
    .sort((a, b) => b.from.getTime() - a.from.getTime());
  const months: MonthRange[] = [];
  for (const month of started) {
    if (months.length === SEARCH_MONTHS.searched) break;
    const newer = months.at(-1);
    if (newer && newer.from.getTime() !== month.to.getTime()) break;
    months.push(month);
  }
  return months;
}

const timestamp = (at: Date) => sql.raw(`'${at.toISOString()}'::timestamptz`);

/**
 * The conditions that split a search over `months` (from `searchedMonths`): one per month,
 * written as its index's predicate so that the planner can use it (constants, not
 * parameters), then one for every ticket outside them. Empty when there are no months.
 */
export function monthConditions(months: readonly MonthRange[]): SQL[] {
  if (months.length === 0) return [];
  const conditions = months.map(
    (month) =>
      sql`${tickets.createdAt} >= ${timestamp(month.from)} and ${tickets.createdAt} < ${timestamp(month.to)}`,
  );
  const newest = months[0]!.to;
  const oldest = months.at(-1)!.from;
  conditions.push(
    sql`(${tickets.createdAt} < ${timestamp(oldest)} or ${tickets.createdAt} >= ${timestamp(newest)})`,
  );
  return conditions;
}

/** What `maintain` changed. */
export interface MonthIndexChanges {
  created: string[];
  dropped: string[];
}

/** The month indexes: which exist (cached per process) and their upkeep. */
export class SearchMonths {
  private cached: { at: number; months: MonthRange[] } | undefined;

  constructor(private readonly database: Database) {}

  /** The months search reads through their own indexes, for a search starting now. */
  async searched(tx: Executor, now = new Date()): Promise<MonthRange[]> {
    if (!this.cached || now.getTime() - this.cached.at > CATALOG_TTL_MS) {
      const months = await indexedMonths(async (statement) => rowsOf(await tx.execute(sql.raw(statement))));
      this.cached = { at: now.getTime(), months };
    }
    return searchedMonths(this.cached.months, now);
  }

  /**
   * Creates the missing indexes of the months to keep (newest first) and drops the others,
   * including invalid leftovers of an interrupted build. One process at a time: another that
   * holds the lock is doing the same, and `undefined` says so.
   */
  async maintain(now = new Date()): Promise<MonthIndexChanges | undefined> {
    const changes = await this.database.exclusively(MAINTENANCE_LOCK_ID, (run) => maintainIndexes(run, now));
    this.cached = undefined;
    return changes;
  }
}

/** The months whose index exists and is valid, read from the catalog. */
export async function indexedMonths(run: StatementRunner): Promise<MonthRange[]> {
  return (await indexesNamed(run, INDEX_PREFIX)).flatMap((row) => {
    const month = row.valid ? monthOfIndexName(row.name) : undefined;
    return month ? [month] : [];
  });
}

async function maintainIndexes(run: StatementRunner, now: Date): Promise<MonthIndexChanges> {
  const keep = monthsToKeep(now);
  const wanted = new Set(keep.map(indexNameOf));
  // Only names of the form tickets_search_mYYYYMM: LIKE's prefix would also match others.
  const existing = (await indexesNamed(run, INDEX_PREFIX)).filter((index) => INDEX_NAME.test(index.name));
  const changes: MonthIndexChanges = { created: [], dropped: [] };
  for (const index of existing) {
    if (wanted.has(index.name) && index.valid) continue;
    await dropIndex(run, index.name);
    changes.dropped.push(index.name);
  }
  const valid = new Set(existing.filter((index) => index.valid).map((index) => index.name));
  for (const month of keep) {
    const name = indexNameOf(month);
    if (valid.has(name)) continue;
    await createMonthIndex(run, name, month.from, month.to);
    changes.created.push(name);
  }
  return changes;
}
