import { createHash } from 'node:crypto';

/**
 * Statements that travel in a simple-protocol batch (`Database.withOrgBatch`, a transaction's
 * `ahead` statements) as `EXECUTE name(…)` of a statement prepared once per connection.
 *
 * A simple-protocol batch saves round trips, but a statement sent as text is parsed, analysed
 * (row-level security policies included) and planned on every call: for the small statements
 * on a request's path that costs about as much as running them. `PREPARE` once per connection
 * and `EXECUTE` in the batch keep the round trip and skip that work, as the query builder's
 * named statements (statement-cache.ts) do for the extended protocol.
 *
 * A statement's text is fixed ($1, $2, … for what varies); its values travel as literals in
 * the EXECUTE, which PostgreSQL reads as the parameters' types (cast a parameter in the text
 * where its type cannot be inferred, as `$2::text[]`).
 */

/** What a statement's parameter may be. Arrays are of text, for `= any($n::text[])`. */
export type StatementValue = string | number | boolean | Date | null | readonly string[];

/** A parameterised statement: a fixed text and the values of its `$n`. */
export interface Statement {
  readonly text: string;
  readonly values: readonly StatementValue[];
}

/**
 * Builds a statement: `param(value)` returns the placeholder of a new parameter. Conditions
 * built elsewhere take the same `param`, so they compose without renumbering.
 */
export function statement(build: (param: (value: StatementValue) => string) => string): Statement {
  const values: StatementValue[] = [];
  const text = build((value) => {
    values.push(value);
    return `$${values.length}`;
  });
  return { text, values };
}

/** A condition in SQL for a statement built elsewhere: it takes the statement's `param`. */
export type Condition = (param: (value: StatementValue) => string) => string;

/** A SQL string literal (standard_conforming_strings is on in every supported version). */
export function quote(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A value as a SQL literal, for an EXECUTE's argument list. */
function literal(value: StatementValue): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`statement value ${value} is not a finite number`);
    return String(value);
  }
  if (value instanceof Date) return quote(value.toISOString());
  // An array literal: every element double-quoted, with its quotes and backslashes escaped.
  return quote(`{${value.map((item) => `"${item.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
}

/**
 * Texts are fixed by construction (values are parameters), so this stays small; passing this
 * many means a statement's text carries values, which would fill every connection's memory.
 */
const MAX_TEXTS = 1_000;
const names = new Map<string, string>();

/** The prepared statement's name for a text: the same on every connection, distinct from the statement cache's. */
export function preparedName(text: string): string {
  let name = names.get(text);
  if (name) return name;
  if (names.size >= MAX_TEXTS)
    throw new Error(
      `more than ${MAX_TEXTS} batch statement texts: a text carries values instead of parameters`,
    );
  name = `sbp_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
  names.set(text, name);
  return name;
}

/** `PREPARE` for a statement (run once per connection before its first EXECUTE). */
function prepareText(statement: Statement): string {
  return `prepare ${preparedName(statement.text)} as ${statement.text}`;
}

/** The statement as it travels in a batch: `EXECUTE` of its prepared statement with literal values. */
export function executeText(statement: Statement): string {
  const name = preparedName(statement.text);
  return statement.values.length === 0
    ? `execute ${name}`
    : `execute ${name}(${statement.values.map(literal).join(', ')})`;
}

/**
 * Which statements a connection has prepared. Prepared statements outlive transactions
 * (PREPARE is not rolled back), so a name stays prepared until its connection ends.
 */
export class PreparedOnConnection {
  private readonly prepared = new WeakMap<object, Set<string>>();

  /** The PREPAREs a connection still needs before it can run `statements` (undefined: none). */
  missing(
    connection: object,
    statements: readonly Statement[],
  ): { prepares: string[]; names: string[] } | undefined {
    const done = this.prepared.get(connection);
    const needed = new Map<string, Statement>();
    for (const statement of statements) {
      const name = preparedName(statement.text);
      if (!done?.has(name)) needed.set(name, statement);
    }
    if (needed.size === 0) return undefined;
    return { prepares: [...needed.values()].map(prepareText), names: [...needed.keys()] };
  }

  /** Records that the connection prepared `names` (after the PREPAREs succeeded). */
  add(connection: object, names: readonly string[]): void {
    let done = this.prepared.get(connection);
    if (!done) {
      done = new Set();
      this.prepared.set(connection, done);
    }
    for (const name of names) done.add(name);
  }
}
