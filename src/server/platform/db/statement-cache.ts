import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * A node-postgres client that runs recurring statements as named prepared statements, so
 * PostgreSQL parses and analyses each of them once per connection instead of on every
 * request (the parse, rewrite with row-level security policies, and planning of a small
 * statement cost about as much as running it).
 *
 * Only parameterised statements (extended protocol) seen `SEEN_BEFORE_NAMING` times are
 * named, and at most `MAX_NAMED` texts per process, so one-off texts (long IN lists,
 * ad-hoc filters) never accumulate in the server's memory. The name is a digest of the text:
 * the same text gets the same name on every connection, a different text never does.
 * PostgreSQL re-plans a prepared statement by itself when the schema, the role or the
 * row-security environment it was planned for changes.
 */
const SEEN_BEFORE_NAMING = 2;
const MAX_NAMED = 500;
/** Texts not named yet, with how often they were seen; cleared when it grows past the cap. */
const sightings = new Map<string, number>();
const names = new Map<string, string>();

/** The prepared-statement name for `text`, once it has recurred; undefined until then. */
export function statementName(text: string): string | undefined {
  const known = names.get(text);
  if (known) return known;
  if (names.size >= MAX_NAMED) return undefined;
  const seen = (sightings.get(text) ?? 0) + 1;
  if (seen < SEEN_BEFORE_NAMING) {
    if (sightings.size >= MAX_NAMED * 10) sightings.clear();
    sightings.set(text, seen);
    return undefined;
  }
  sightings.delete(text);
  const name = `sb_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
  names.set(text, name);
  return name;
}

interface QueryConfigLike {
  text?: unknown;
  name?: unknown;
  values?: unknown;
  submit?: unknown;
}

export class StatementCachingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's query() is heavily overloaded; this passes every form through
  override query(config: any, values?: any, callback?: any): any {
    const named = withName(config, values);
    return super.query(named as never, values, callback);
  }
}

function withName(config: unknown, values: unknown): unknown {
  if (typeof config !== 'object' || config === null) return config;
  const query = config as QueryConfigLike;
  if (typeof query.submit === 'function' || query.name || typeof query.text !== 'string') return config;
  const parameters = Array.isArray(values) ? values : query.values;
  if (!Array.isArray(parameters) || parameters.length === 0) return config;
  const name = statementName(query.text);
  return name ? { ...query, name } : config;
}
