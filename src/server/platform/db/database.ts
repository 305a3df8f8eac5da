import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { type Column, sql } from 'drizzle-orm';
import { drizzle as drizzlePostgres } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { rowsOf } from './migrations.js';
import { StatementCachingClient } from './statement-cache.js';
import { executeText, PreparedOnConnection, type Statement, statement } from './statements.js';

/**
 * Anything queries can run on: the database itself or an open transaction. Repository
 * functions take one of these as their first argument and never open transactions.
 */
export type Executor = PgDatabase<PgQueryResultHKT>;

/** The non-superuser role tenant transactions switch to, so row-level security applies. */
export const APP_ROLE = 'switchboard_app';

const outboxWritten = new WeakSet<object>();
const afterCommitCallbacks = new WeakMap<object, Array<() => void>>();

/** The settings of a tenant transaction (see `Database.withOrg`), as one statement. */
function orgSettings(orgId: string, options: { asyncCommit?: boolean }): Statement {
  return statement(
    (param) =>
      `select set_config('role', ${param(APP_ROLE)}, true), set_config('app.org', ${param(orgId)}, true)` +
      (options.asyncCommit ? `, set_config('synchronous_commit', 'off', true)` : ''),
  );
}

/**
 * One statement of a batch (`Database.withOrgBatch`): a single parameterised SQL statement
 * (statements.ts) and what its rows mean. Modules build their own, so one round trip can
 * carry the reads of several modules.
 */
export interface BatchStatement<T> extends Statement {
  read(rows: Record<string, unknown>[]): T;
}

/**
 * A statement a transaction runs first, in the round trip of its BEGIN (`Database.withOrg`'s
 * `ahead`): a single parameterised SQL statement (statements.ts), whose rows `took` hands to
 * the code that needs them (keyed by the transaction's executor), so that code saves a round
 * trip of its own. For reads and locks every change of a kind takes anyway.
 */
export interface AheadStatement extends Statement {
  took(tx: Executor, rows: Record<string, unknown>[]): void;
}

export type BatchResults<S extends readonly BatchStatement<unknown>[]> = {
  -readonly [K in keyof S]: S[K] extends BatchStatement<infer T> ? T : never;
};

/** A batch statement whose result is its rows (a text without parameters, or a built statement). */
export function rowsStatement<T>(source: string | Statement): BatchStatement<T[]> {
  const { text, values } = typeof source === 'string' ? { text: source, values: [] } : source;
  return { text, values, read: (rows) => rows as T[] };
}

/** A batch statement run as one of a transaction's ahead statements; `into` gets what it read (and the transaction). */
export function aheadOf<T>(
  statement: BatchStatement<T>,
  into: (value: T, tx: Executor) => void,
): AheadStatement {
  return {
    text: statement.text,
    values: statement.values,
    took: (tx, rows) => into(statement.read(rows), tx),
  };
}

/**
 * Runs a batch statement inside a transaction that is already open (one round trip of its
 * own), through the query builder: its values travel as parameters.
 */
export async function runStatement<T>(tx: Executor, statement: BatchStatement<T>): Promise<T> {
  const parts = statement.text.split(/\$(\d+)/);
  const query = sql.join(
    parts.map((part, index) =>
      index % 2 === 0 ? sql.raw(part) : sql.param(statement.values[Number(part) - 1]),
    ),
  );
  return statement.read(rowsOf(await tx.execute(query)));
}

/** `"column" as "field"` for each of `columns` (a table's, or a subset), for a statement's text. */
export function selectList(columns: Record<string, Column>): string {
  return Object.entries(columns)
    .map(([field, column]) => `"${column.name}" as "${field}"`)
    .join(', ');
}

/**
 * A row of a statement that selected `selectList(columns)`, as drizzle returns it: each value
 * through its column's own mapping (dates, JSON, arrays), so it does not matter which engine
 * or protocol parsed it.
 */
export function mapRow<T>(columns: Record<string, Column>, row: Record<string, unknown>): T {
  const mapped: Record<string, unknown> = {};
  for (const [field, column] of Object.entries(columns)) {
    const value = row[field];
    // A driver that already made a Date of a timestamp (node-postgres' own parser) is left as is.
    mapped[field] =
      value === null || value === undefined
        ? null
        : value instanceof Date
          ? value
          : column.mapFromDriverValue(value);
  }
  return mapped as T;
}

/**
 * Runs `callback` after `tx` commits (never when it rolls back). For fast paths only, such
 * as scheduling a delayed job: a crash between commit and callback loses the call, so what
 * it does must also be recovered another way (a sweep, the outbox). Errors are the
 * callback's to handle.
 */
export function afterCommit(tx: Executor, callback: () => void): void {
  const callbacks = afterCommitCallbacks.get(tx);
  if (callbacks) callbacks.push(callback);
  else afterCommitCallbacks.set(tx, [callback]);
}

function runAfterCommit(tx: object): void {
  for (const callback of afterCommitCallbacks.get(tx) ?? []) callback();
}

/** Marks a transaction as having written outbox rows, so the relay is woken after commit. */
export function markOutboxWritten(tx: Executor): void {
  outboxWritten.add(tx);
}

/** Runs one statement (no parameters) and returns its rows. */
export type StatementRunner = (statement: string) => Promise<Array<Record<string, unknown>>>;

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent, an embedded PGlite database is opened in `dataDir`. */
  url?: string | undefined;
  /** Embedded data directory; `memory://` for a throw-away database. */
  dataDir?: string;
  /** A tarball produced by `dumpSnapshot()`, restored instead of running initdb (tests). */
  snapshot?: Blob;
  poolSize?: number;
}

/**
 * One database, two engines: PostgreSQL through node-postgres, or PGlite (PostgreSQL in
 * WASM) for the embedded mode. Both run the same SQL, migrations and policies.
 */
export class Database {
  readonly driver: 'postgres' | 'pglite';
  readonly db: Executor;
  private readonly pool: pg.Pool | undefined;
  private readonly pglite: PGlite | undefined;
  private readonly commitListeners: Array<() => void> = [];
  /** Batch and ahead statements prepared per connection (a pooled client, or the embedded engine). */
  private readonly prepared = new PreparedOnConnection();

  private constructor(driver: 'postgres' | 'pglite', db: Executor, pool?: pg.Pool, pglite?: PGlite) {
    this.driver = driver;
    this.db = db;
    this.pool = pool;
    this.pglite = pglite;
  }

  /** Opens the database named by the options (PostgreSQL when `url` is set). */
  static async open(options: DatabaseOptions): Promise<Database> {
    if (options.url) {
      const pool = new pg.Pool({
        connectionString: options.url,
        Client: StatementCachingClient,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: 5_000,
        idleTimeoutMillis: 30_000,
      });
      // An idle client losing its connection emits 'error' on the pool; without a listener
      // that would crash the process. The next query reconnects.
      pool.on('error', (error) => process.emitWarning(`PostgreSQL idle client error: ${error.message}`));
      return new Database('postgres', drizzlePostgres({ client: pool }) as unknown as Executor, pool);
    }
    const dataDir = options.dataDir ?? 'memory://';
    if (!dataDir.startsWith('memory://'))
      fs.mkdirSync(path.dirname(path.resolve(dataDir)), { recursive: true });
    // The embedded engine is loaded only here: a process on PostgreSQL never needs it.
    const [{ PGlite }, { pg_trgm }, { drizzle: drizzlePglite }] = await Promise.all([
      import('@electric-sql/pglite'),
      import('@electric-sql/pglite/contrib/pg_trgm'),
      import('drizzle-orm/pglite'),
    ]);
    const client = await PGlite.create({
      dataDir,
      extensions: { pg_trgm },
      ...(options.snapshot ? { loadDataDir: options.snapshot } : {}),
    });
    return new Database('pglite', drizzlePglite({ client }) as unknown as Executor, undefined, client);
  }

  /**
   * Runs `work` in a transaction with the connection's own rights (no row-level security).
   * For system work only: sign-in lookups, sign-up, the outbox relay, migrations, seeding.
   */
  async transaction<T>(work: (tx: Executor) => Promise<T>): Promise<T> {
    return this.inTransaction(undefined, work);
  }

  /**
   * Runs `work` in a transaction scoped to one organisation: the role drops to APP_ROLE
   * and `app.org` is set for this transaction only, so PostgreSQL's row-level security
   * hides every other organisation's rows even if a query forgets its `org_id` filter.
   *
   * `asyncCommit` commits without waiting for the log flush (`synchronous_commit = off`):
   * only for writes whose loss in a crash is harmless or covered by a later synchronous commit.
   * `ahead` statements run right after the settings, in the same round trip (see
   * `AheadStatement`).
   */
  async withOrg<T>(
    orgId: string,
    work: (tx: Executor) => Promise<T>,
    options: { asyncCommit?: boolean; ahead?: readonly AheadStatement[] } = {},
  ): Promise<T> {
    return this.inTransaction(orgSettings(orgId, options), work, options.ahead);
  }

  /**
   * One statement as its own transaction, scoped like `withOrg` (see `withOrgBatch`).
   * Returns its rows.
   */
  async withOrgStatement<T>(orgId: string, single: Statement, options: { asyncCommit?: boolean } = {}) {
    const [rows] = await this.withOrgBatch(orgId, [rowsStatement<T>(single)], options);
    return rows;
  }

  /**
   * Statements as one transaction of their own, scoped like `withOrg`. On PostgreSQL the
   * settings and the statements travel in one simple-protocol batch, which runs as one
   * implicit transaction: one round trip, and any row lock a statement takes is released
   * without waiting on the network. Each statement runs as `EXECUTE` of a statement the
   * connection prepared once (statements.ts). Returns what each statement's `read` makes of
   * its rows, in order.
   */
  async withOrgBatch<const S extends readonly BatchStatement<unknown>[]>(
    orgId: string,
    statements: S,
    options: { asyncCommit?: boolean } = {},
  ): Promise<BatchResults<S>> {
    const settings = orgSettings(orgId, options);
    let rows: Record<string, unknown>[][];
    if (this.pool) {
      const client = await this.preparedClient([settings, ...statements]);
      let results: pg.QueryResult[];
      try {
        results = (await client.query(
          [settings, ...statements].map(executeText).join('; '),
        )) as unknown as pg.QueryResult[];
      } finally {
        // A failed batch rolled itself back (one implicit transaction): the connection is clean.
        client.release();
      }
      if (results.length !== statements.length + 1)
        throw new Error(`a batch of ${statements.length} statements returned ${results.length - 1} results`);
      rows = results.slice(1).map((result) => result.rows);
    } else {
      // The embedded engine runs them as a transaction's ahead statements.
      rows = [];
      await this.inTransaction(
        settings,
        async () => undefined,
        statements.map(({ text, values }) => ({ text, values, took: (_tx, taken) => rows.push(taken) })),
      );
    }
    return statements.map((statement, index) => statement.read(rows[index]!)) as BatchResults<S>;
  }

  /**
   * A pooled connection that has prepared `statements`: the missing PREPAREs run first, in one
   * round trip, once per connection. A connection whose PREPARE failed is closed, not pooled
   * (which of its statements were prepared is unknown).
   */
  private async preparedClient(statements: readonly Statement[]): Promise<pg.PoolClient> {
    const client = await this.pool!.connect();
    const missing = this.prepared.missing(client, statements);
    if (!missing) return client;
    try {
      await client.query(missing.prepares.join('; '));
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    this.prepared.add(client, missing.names);
    return client;
  }

  /**
   * One transaction. On PostgreSQL, BEGIN, the transaction's settings and its `ahead`
   * statements travel in one round trip (a simple-protocol batch): requests run a handful of
   * statements each, so a round trip saved is a large share of one.
   */
  private async inTransaction<T>(
    settings: Statement | undefined,
    work: (tx: Executor) => Promise<T>,
    ahead: readonly AheadStatement[] = [],
  ): Promise<T> {
    const first = settings ? [settings, ...ahead] : [...ahead];
    if (!this.pool) {
      let transaction: object | undefined;
      const result = await this.db.transaction(async (tx) => {
        transaction = tx;
        const executor = tx as unknown as Executor;
        // Transactions of the embedded engine run one at a time: no other can prepare meanwhile.
        const missing = this.prepared.missing(this.pglite!, first);
        if (missing) {
          // One statement per call (the embedded driver's queries take one each), each recorded
          // once done: a later one failing rolls the transaction back, not the PREPAREs before it.
          for (const [index, prepare] of missing.prepares.entries()) {
            await tx.execute(sql.raw(prepare));
            this.prepared.add(this.pglite!, [missing.names[index]!]);
          }
        }
        if (settings) await tx.execute(sql.raw(executeText(settings)));
        for (const statement of ahead)
          statement.took(executor, rowsOf(await tx.execute(sql.raw(executeText(statement)))));
        return work(executor);
      });
      if (transaction && outboxWritten.has(transaction)) this.notifyCommit();
      if (transaction) runAfterCommit(transaction);
      return result;
    }
    const client = await this.preparedClient(first);
    // A new drizzle instance per transaction (under a microsecond): code keys per-transaction
    // state on the executor (outbox writes, loaded view conditions).
    const tx = drizzlePostgres({ client }) as unknown as Executor;
    // A connection whose ROLLBACK failed is in an unknown state: it is closed, not pooled.
    let broken: Error | undefined;
    let result: T;
    try {
      const began = (await client.query(['begin', ...first.map(executeText)].join('; '))) as unknown as
        | pg.QueryResult
        | pg.QueryResult[];
      if (ahead.length > 0) {
        const results = (began as pg.QueryResult[]).slice(-ahead.length);
        for (const [index, statement] of ahead.entries()) statement.took(tx, results[index]!.rows);
      }
      result = await work(tx);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch((rollbackError: Error) => {
        broken = rollbackError;
        process.emitWarning(`PostgreSQL rollback failed, connection discarded: ${rollbackError.message}`);
      });
      throw error;
    } finally {
      client.release(broken);
    }
    if (outboxWritten.has(tx)) this.notifyCommit();
    runAfterCommit(tx);
    return result;
  }

  /**
   * Runs `work` on one connection outside any transaction (for statements that refuse one,
   * such as `CREATE INDEX CONCURRENTLY`), with the connection's own rights, while holding the
   * session advisory lock `lockId`. When another process holds the lock, `work` does not run
   * and the answer is `undefined`: for maintenance that one process at a time does for all.
   * The embedded engine belongs to one process and needs no lock.
   */
  async exclusively<T>(lockId: number, work: (run: StatementRunner) => Promise<T>): Promise<T | undefined> {
    if (!this.pool) return work(async (statement) => rowsOf(await this.db.execute(sql.raw(statement))));
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [
        lockId,
      ]);
      if (!rows[0]!.locked) return undefined;
      try {
        return await work(async (statement) => (await client.query(statement)).rows);
      } finally {
        await client.query('select pg_advisory_unlock($1)', [lockId]);
      }
    } finally {
      client.release();
    }
  }

  /** Called after every commit of a transaction that wrote outbox rows. */
  onOutboxCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  private notifyCommit(): void {
    for (const listener of this.commitListeners) listener();
  }

  /** Throws when the database does not answer. */
  async ping(): Promise<void> {
    await this.db.execute(sql`select 1`);
  }

  /** The embedded engine, for the migrator and snapshots; undefined on PostgreSQL. */
  get embeddedClient(): PGlite | undefined {
    return this.pglite;
  }

  /** The PostgreSQL pool, for the migrator's advisory lock; undefined when embedded. */
  get postgresPool(): pg.Pool | undefined {
    return this.pool;
  }

  /** A tarball of the embedded database, restorable through `snapshot` (test speed-up). */
  async dumpSnapshot(): Promise<Blob> {
    if (!this.pglite) throw new Error('snapshots exist for the embedded database only');
    return this.pglite.dumpDataDir('none');
  }

  async close(): Promise<void> {
    if (this.pool) await this.pool.end();
    if (this.pglite && !this.pglite.closed) await this.pglite.close();
  }
}
