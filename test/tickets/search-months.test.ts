import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  indexNameOf,
  monthConditions,
  monthOf,
  monthsToKeep,
  SEARCH_MONTHS,
  SearchMonths,
  searchedMonths,
} from '../../src/server/modules/tickets/search-months.js';
import { tickets } from '../../src/server/modules/tickets/tickets.table.js';
import { rowsOf } from '../../src/server/platform/db/migrations.js';
import { startTestApp, type TestApp } from '../support/harness.js';

const at = (iso: string) => new Date(iso);
const names = (months: ReadonlyArray<{ from: Date; to: Date }>) => months.map(indexNameOf);

describe('search months (pure)', () => {
  it('cuts calendar months in UTC, across year ends', () => {
    expect(monthOf(at('2026-12-31T23:59:59.999Z'))).toEqual({
      from: at('2026-12-01T00:00:00Z'),
      to: at('2027-01-01T00:00:00Z'),
    });
    expect(monthOf(at('2026-01-15T00:00:00Z'), -1).from).toEqual(at('2025-12-01T00:00:00Z'));
    expect(indexNameOf(monthOf(at('2027-03-01T00:00:00Z')))).toBe('tickets_search_m202703');
  });

  it('keeps the months searched and the next one', () => {
    expect(SEARCH_MONTHS).toEqual({ searched: 3, ahead: 1 });
    expect(names(monthsToKeep(at('2027-01-10T08:00:00Z')))).toEqual([
      'tickets_search_m202702',
      'tickets_search_m202701',
      'tickets_search_m202612',
      'tickets_search_m202611',
    ]);
  });

  it('searches started months newest first, and stops at a gap', () => {
    const now = at('2026-11-24T12:00:00Z');
    const months = [monthOf(now, 1), monthOf(now, -1), monthOf(now), monthOf(now, -2), monthOf(now, -3)];
    expect(names(searchedMonths(months, now))).toEqual([
      'tickets_search_m202611',
      'tickets_search_m202610',
      'tickets_search_m202609',
    ]);
    // Without October's index, September's tickets must not be read before October's.
    const gap = [monthOf(now), monthOf(now, -2), monthOf(now, -3)];
    expect(names(searchedMonths(gap, now))).toEqual(['tickets_search_m202611']);
    // The month ahead becomes the newest as soon as it starts.
    expect(names(searchedMonths(months, monthOf(now, 1).from))[0]).toBe('tickets_search_m202612');
    expect(searchedMonths([monthOf(now, 1)], now)).toEqual([]);
  });
});

describe('search months (database)', () => {
  let server: TestApp;
  beforeAll(async () => {
    server = await startTestApp();
  });
  afterAll(async () => server?.close());

  const monthIndexes = async () =>
    rowsOf<{ name: string }>(
      await server.platform.database.db.execute(
        sql`select indexname as name from pg_indexes where tablename = 'tickets' and indexname like 'tickets_search_m%'`,
      ),
    )
      .map((row) => row.name)
      .sort();

  it('creates the months to keep, once, and drops the aged-out ones', async () => {
    const months = new SearchMonths(server.platform.database);
    const now = new Date();
    const keep = names(monthsToKeep(now));
    const old = indexNameOf(monthOf(now, -12));
    await server.platform.database.db.execute(
      sql.raw(`create index ${old} on tickets using gin (search_vector) where created_at < '2000-01-01'`),
    );
    // Not a month index, though LIKE 'tickets_search_m%' matches it: left alone.
    await server.platform.database.db.execute(
      sql.raw(`create index tickets_search_messages_probe on tickets (created_at)`),
    );

    const first = await months.maintain(now);
    expect(first).toEqual({ created: keep, dropped: [old] });
    expect(await monthIndexes()).toEqual(['tickets_search_messages_probe', ...keep].sort());
    expect(await months.maintain(now)).toEqual({ created: [], dropped: [] });
    await server.platform.database.db.execute(sql`drop index tickets_search_messages_probe`);

    const searched = await server.platform.database.transaction((tx) => months.searched(tx, now));
    expect(names(searched)).toEqual(keep.slice(1));
  });

  it('writes each month’s condition so that the planner can use that month’s index', async () => {
    const now = new Date();
    await new SearchMonths(server.platform.database).maintain(now);
    const [current] = monthConditions([monthOf(now)]);
    const plan = await server.platform.database.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      const result = await tx.execute(
        sql`explain select ${tickets.id} from ${tickets} where ${tickets.searchVector} @@ websearch_to_tsquery('english', 'printer') and ${current}`,
      );
      return rowsOf<{ 'QUERY PLAN': string }>(result)
        .map((row) => row['QUERY PLAN'])
        .join('\n');
    });
    expect(plan).toContain(indexNameOf(monthOf(now)));
  });
});
