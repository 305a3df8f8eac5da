import { afterAll, beforeAll, expect, it } from 'vitest';
import { senderStatement } from '../../src/server/modules/identity/index.js';
import { type Executor, quote, rowsStatement } from '../../src/server/platform/db/database.js';
import { type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';

let server: TestApp;
let orgA: SignedUp;
let orgB: SignedUp;
beforeAll(async () => {
  server = await startTestApp();
  orgA = await signupOrg(server.app);
  orgB = await signupOrg(server.app);
});
afterAll(async () => server?.close());

it('runs a batch as one tenant transaction and gives each statement its own result, in order', async () => {
  const database = server.platform.database;
  const [org, users, sender, none] = await database.withOrgBatch(orgA.orgId, [
    rowsStatement<{ org: string }>(`select current_setting('app.org') as org`),
    // Row-level security applies: no organisation id in the statement, only org A's users.
    rowsStatement<{ email: string }>('select email from users order by email'),
    senderStatement(orgA.orgId, ` ${orgA.adminEmail.toUpperCase()} `),
    senderStatement(orgA.orgId, orgB.adminEmail),
  ]);
  expect(org).toEqual([{ org: orgA.orgId }]);
  expect(users).toEqual([{ email: orgA.adminEmail }]);
  expect(sender).toEqual({ id: orgA.adminId, role: 'admin', isActive: true });
  expect(none).toBeNull();
});

it('rolls the whole batch back when one of its statements fails', async () => {
  const database = server.platform.database;
  const name = `batch ${Date.now()}`;
  const failed = await database
    .withOrgBatch(orgA.orgId, [
      rowsStatement(`update organizations set name = ${quote(name)} where id = ${quote(orgA.orgId)}`),
      rowsStatement('select 1 / 0'),
    ])
    .then(
      () => undefined,
      (error: Error) => error,
    );
  // PGlite's driver wraps the database's error (as its cause).
  expect(`${failed?.message} ${(failed?.cause as Error | undefined)?.message}`).toMatch(/division by zero/);
  const [rows] = await database.withOrgBatch(orgA.orgId, [
    rowsStatement<{ name: string }>(`select name from organizations where id = ${quote(orgA.orgId)}`),
  ]);
  expect(rows[0]?.name).not.toBe(name);
});

it('takes ticket numbers in a batch only while its condition does not hold', async () => {
  const database = server.platform.database;
  const tickets = server.domain.tickets.tickets;
  const now = new Date('2026-03-04T10:00:00Z');
  const [taken] = await database.withOrgBatch(
    orgA.orgId,
    [tickets.numbersStatement(orgA.orgId, 2, { now })],
    {
      asyncCommit: true,
    },
  );
  const [skipped] = await database.withOrgBatch(orgA.orgId, [
    tickets.numbersStatement(orgA.orgId, 1, { now, unless: 'true' }),
  ]);
  const [next] = await database.withOrgBatch(orgA.orgId, [
    tickets.numbersStatement(orgA.orgId, 1, { now, unless: 'false' }),
  ]);
  expect(taken).toEqual(['TKT-20260304-00001', 'TKT-20260304-00002']);
  expect(skipped).toEqual([]);
  expect(next).toEqual(['TKT-20260304-00003']);
});

it("hands a transaction's ahead statements' rows to `took`, keyed by the transaction", async () => {
  const database = server.platform.database;
  const took: Array<{ tx: Executor; rows: Record<string, unknown>[] }> = [];
  const seen = await database.withOrg(
    orgA.orgId,
    async (tx) => {
      expect(took).toHaveLength(2);
      expect(took.every((entry) => entry.tx === tx)).toBe(true);
      return took.map((entry) => entry.rows);
    },
    {
      ahead: [
        { text: `select current_setting('app.org') as org`, took: (tx, rows) => took.push({ tx, rows }) },
        { text: 'select email from users order by email', took: (tx, rows) => took.push({ tx, rows }) },
      ],
    },
  );
  // The settings apply before them: row-level security already hides org B's users.
  expect(seen).toEqual([[{ org: orgA.orgId }], [{ email: orgA.adminEmail }]]);
});
