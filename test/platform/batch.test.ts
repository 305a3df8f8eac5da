import { afterAll, beforeAll, expect, it } from 'vitest';
import { senderStatement } from '../../src/server/modules/identity/index.js';
import {
  aheadOf,
  type Executor,
  rowsStatement,
  runStatement,
} from '../../src/server/platform/db/database.js';
import { preparedName, quote, statement } from '../../src/server/platform/db/statements.js';
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
    tickets.numbersStatement(orgA.orgId, 1, { now, unless: () => 'true' }),
  ]);
  const [next] = await database.withOrgBatch(orgA.orgId, [
    tickets.numbersStatement(orgA.orgId, 1, { now, unless: (param) => `${param('x')}::text = 'y'` }),
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
        {
          ...statement((param) => `select current_setting(${param('app.org')}) as org`),
          took: (tx, rows) => took.push({ tx, rows }),
        },
        {
          ...statement(() => 'select email from users order by email'),
          took: (tx, rows) => took.push({ tx, rows }),
        },
      ],
    },
  );
  // The settings apply before them: row-level security already hides org B's users.
  expect(seen).toEqual([[{ org: orgA.orgId }], [{ email: orgA.adminEmail }]]);
});

it('runs each statement as EXECUTE of a statement its connection prepared, with every kind of value intact', async () => {
  const database = server.platform.database;
  const awkward = `it's "quoted", back\\slashed, {braced}, comma'd; and unicode: ü 漢字`;
  const at = new Date('2026-05-06T07:08:09.123Z');
  const typed = statement(
    (param) =>
      `select ${param(awkward)}::text as text, ${param(null)}::text as none, ${param(42.5)}::numeric as number,
        ${param(true)}::boolean as flag, ${param(at)}::timestamptz as at,
        ${param(['a', awkward, '', 'NULL'])}::text[] as list`,
  );
  // The statement reads the connection's prepared statements: its own name is among them.
  const own = statement(() => 'select name from pg_prepared_statements');
  const [[row], names] = await database.withOrgBatch(orgA.orgId, [
    rowsStatement<Record<string, unknown>>(typed),
    rowsStatement<{ name: string }>(own),
  ]);
  expect(row).toMatchObject({ text: awkward, none: null, flag: true, list: ['a', awkward, '', 'NULL'] });
  expect(Number(row!.number)).toBe(42.5);
  expect(new Date(row!.at as string).toISOString()).toBe(at.toISOString());
  expect(names.map((entry) => entry.name)).toEqual(
    expect.arrayContaining([preparedName(typed.text), preparedName(own.text)]),
  );
  // Again, on whichever connection: the same text is the same prepared statement.
  const [again] = await database.withOrgBatch(orgA.orgId, [rowsStatement<{ text: string }>(typed)]);
  expect(again[0]?.text).toBe(awkward);
});

it('surfaces a statement that cannot be prepared, and the next batch still runs', async () => {
  const database = server.platform.database;
  // Prepared before the failing one (PREPARE is not rolled back): it must still run afterwards.
  const fresh = statement((param) => `select ${param(1)}::int as one`);
  const failed = await database
    .withOrgBatch(orgA.orgId, [
      rowsStatement(fresh),
      rowsStatement(statement(() => 'select no_such_column from users')),
    ])
    .then(
      () => undefined,
      (error: Error) => error,
    );
  expect(`${failed?.message} ${(failed?.cause as Error | undefined)?.message}`).toMatch(/no_such_column/);
  for (let round = 0; round < 3; round += 1) {
    const [rows] = await database.withOrgBatch(orgA.orgId, [rowsStatement<{ one: number }>(fresh)]);
    expect(rows).toEqual([{ one: 1 }]);
  }
});

it('reads a ticket through a statement exactly as through the query builder, on either engine', async () => {
  const database = server.platform.database;
  const system = server.domain.tickets.system;
  const created = await server.app.inject({
    method: 'POST',
    url: '/api/v1/tickets',
    headers: orgA.auth,
    payload: { title: "It's the VPN", priority: 'high', tags: ['vpn', 'remote'] },
  });
  expect(created.statusCode, created.body).toBe(201);
  const ticketId = created.json().id as string;
  const resolved = await server.app.inject({
    method: 'POST',
    url: `/api/v1/tickets/${ticketId}/status`,
    headers: orgA.auth,
    payload: { status: 'resolved' },
  });
  expect(resolved.statusCode, resolved.body).toBe(200);

  const viaBuilder = await database.withOrg(orgA.orgId, (tx) => system.find(tx, orgA.orgId, ticketId));
  const [viaBatch] = await database.withOrgBatch(orgA.orgId, [system.findStatement(orgA.orgId, ticketId)]);
  // Inside an open transaction, its values as the query builder's parameters.
  const viaRun = await database.withOrg(orgA.orgId, (tx) =>
    runStatement(tx, system.findStatement(orgA.orgId, ticketId)),
  );
  let viaAhead: unknown;
  await database.withOrg(orgA.orgId, async () => undefined, {
    ahead: [aheadOf(system.findStatement(orgA.orgId, ticketId), (row) => (viaAhead = row))],
  });
  expect(viaBuilder).toMatchObject({ title: "It's the VPN", tags: ['vpn', 'remote'], priorityRank: 3 });
  expect(viaBuilder!.resolvedAt).toBeInstanceOf(Date);
  expect(viaBatch).toEqual(viaBuilder);
  expect(viaAhead).toEqual(viaBuilder);
  expect(viaRun).toEqual(viaBuilder);
  // Row-level security and the organisation filter: another organisation reads nothing.
  const [foreign] = await database.withOrgBatch(orgB.orgId, [system.findStatement(orgB.orgId, ticketId)]);
  expect(foreign).toBeUndefined();
});
