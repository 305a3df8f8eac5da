import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database } from '../../src/server/platform/db/database.js';
import { rowsOf } from '../../src/server/platform/db/migrations.js';
import { statementName } from '../../src/server/platform/db/statement-cache.js';
import { freshDatabase, type TestDatabase, usingServices } from '../support/harness.js';

describe('prepared statements for recurring SQL', () => {
  it('names a text once it recurs, with the same name every time, and never a one-off', () => {
    const text = `select ${Math.random()} where $1::int = 1`;
    expect(statementName(text)).toBeUndefined();
    const name = statementName(text);
    expect(name).toMatch(/^sb_[0-9a-f]{24}$/);
    expect(statementName(text)).toBe(name);
    expect(statementName(`${text} `)).toBeUndefined();
  });

  describe.runIf(usingServices)('on PostgreSQL', () => {
    let fresh: TestDatabase;
    let database: Database;
    beforeAll(async () => {
      fresh = await freshDatabase();
      database = await Database.open({ url: fresh.url, poolSize: 1 });
    });
    afterAll(async () => {
      await database?.close();
      await fresh?.drop();
    });

    it('prepares a recurring parameterised statement on the connection and keeps answering correctly', async () => {
      const marker = `statement-cache-${Date.now()}`;
      const answers: string[] = [];
      for (let round = 0; round < 3; round += 1) {
        const result = await database.transaction((tx) =>
          tx.execute(sql`select ${marker}::text || ${String(round)}::text as answer`),
        );
        answers.push(rowsOf<{ answer: string }>(result)[0]!.answer);
      }
      expect(answers).toEqual([`${marker}0`, `${marker}1`, `${marker}2`]);
      const text = 'select $1::text || $2::text as answer';
      const prepared = await database.transaction((tx) =>
        tx.execute(sql`select name from pg_prepared_statements where statement = ${text}`),
      );
      expect(rowsOf<{ name: string }>(prepared).map((row) => row.name)).toEqual([statementName(text)]);
    });
  });
});
