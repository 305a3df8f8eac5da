import { performance } from 'node:perf_hooks';
import pg from 'pg';

/**
 * Secondary indexes of the two big ticket tables, dropped before a bulk load and rebuilt
 * afterwards from their recorded definitions: building a GIN index once is far cheaper than
 * maintaining it row by row.
 */

export interface IndexBuild {
  name: string;
  ms: number;
}

export interface IndexDefinition {
  name: string;
  definition: string;
}

/** Indexes that are not constraints (primary keys stay), on the two big tables. */
const SECONDARY_INDEXES = `
  select c.relname as name, pg_get_indexdef(i.indexrelid) as definition
  from pg_index i
  join pg_class c on c.oid = i.indexrelid
  join pg_class t on t.oid = i.indrelid
  where t.relname in ('tickets', 'ticket_messages') and t.relnamespace = 'public'::regnamespace
    and not exists (select 1 from pg_constraint where conindid = i.indexrelid)
  order by pg_relation_size(i.indexrelid) desc, c.relname`;

export async function dropIndexes(client: pg.Client): Promise<IndexDefinition[]> {
  const { rows } = await client.query<IndexDefinition>(SECONDARY_INDEXES);
  for (const index of rows) await client.query(`drop index ${pg.escapeIdentifier(index.name)}`);
  return rows;
}

/**
 * Rebuilds the dropped indexes from their recorded definitions, two at a time, biggest
 * (GIN) first, then checks the table's index set equals the original exactly.
 */
export async function rebuildIndexes(
  connections: pg.Client[],
  indexes: readonly IndexDefinition[],
  log: (line: string) => void,
): Promise<IndexBuild[]> {
  const cost = (index: IndexDefinition) =>
    (index.definition.includes('USING gin') ? 10 : 1) *
    (index.definition.includes('ticket_messages') ? 3 : 1);
  const queue = [...indexes].sort((a, b) => cost(b) - cost(a));
  const builds: IndexBuild[] = [];
  await Promise.all(
    connections.map(async (connection) => {
      for (let index = queue.shift(); index; index = queue.shift()) {
        const started = performance.now();
        await connection.query(index.definition);
        builds.push({ name: index.name, ms: performance.now() - started });
        log(`    ${index.name}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
    }),
  );
  const { rows } = await connections[0]!.query<IndexDefinition>(SECONDARY_INDEXES);
  const expected = new Set(indexes.map((index) => index.definition));
  const differs = rows.length !== expected.size || rows.some((row) => !expected.has(row.definition));
  if (differs) throw new Error('the rebuilt indexes differ from the migrated ones');
  return builds;
}
