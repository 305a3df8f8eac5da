import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Column, entityKind, is, SQL, sql, Table } from 'drizzle-orm';
import { PgColumn, PgTable, PgUUID } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { users } from '../../src/server/modules/identity/identity.table.js';
import { tickets } from '../../src/server/modules/tickets/tickets.table.js';

/**
 * drizzle-orm's `is()` is patched (patches/, docs/decisions.md 028) to memoise each class's
 * entity kinds. These tests pin that the patch is installed (npm's postinstall runs
 * patch-package) and that it answers exactly as the original prototype walk does.
 */

/** drizzle-orm 0.45's `is`, as published. */
function originalIs(value: unknown, type: { [entityKind]?: string }): boolean {
  if (!value || typeof value !== 'object') return false;
  if (value instanceof (type as never)) return true;
  if (!Object.hasOwn(type, entityKind)) throw new Error('not a Drizzle entity');
  let cls = Object.getPrototypeOf(value).constructor;
  while (cls) {
    if (entityKind in cls && cls[entityKind] === type[entityKind]) return true;
    cls = Object.getPrototypeOf(cls);
  }
  return false;
}

describe('the drizzle-orm patch', () => {
  it('is installed in both module formats', () => {
    const require = createRequire(import.meta.url);
    const esm = fs.readFileSync(require.resolve('drizzle-orm').replace(/index\.cjs$/, 'entity.js'), 'utf8');
    const cjs = fs.readFileSync(require.resolve('drizzle-orm').replace(/index\.cjs$/, 'entity.cjs'), 'utf8');
    expect(esm).toContain('kindsByClass');
    expect(cjs).toContain('kindsByClass');
    expect(require('drizzle-orm').is).toBeTypeOf('function');
  });

  it('answers as the original for columns, tables, SQL and plain values', () => {
    const values: unknown[] = [
      tickets,
      users,
      tickets.id,
      tickets.createdAt,
      tickets.searchVector,
      users.email,
      sql`select 1`,
      sql`x`.as('x'),
      sql.placeholder('p'),
      { [entityKind]: 'PgColumn' },
      Object.create(null),
      new Date(),
      [],
      'text',
      42,
      null,
      undefined,
    ];
    const types = [Column, PgColumn, PgUUID, Table, PgTable, SQL, SQL.Aliased];
    for (const value of values)
      for (const type of types) {
        const expected = (() => {
          try {
            return originalIs(value, type as never);
          } catch {
            // The original reads the prototype of null-prototype objects and throws.
            return value instanceof type;
          }
        })();
        expect(is(value, type), `${String(type[entityKind])} of ${describeValue(value)}`).toBe(expected);
      }
    // Asked twice: the memoised answer is the same.
    expect(is(tickets.id, PgUUID)).toBe(true);
    expect(is(tickets.id, PgUUID)).toBe(true);
    expect(is(tickets.title, PgUUID)).toBe(false);
  });
});

function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.getPrototypeOf(value)?.constructor?.name ?? 'null-prototype object';
}
