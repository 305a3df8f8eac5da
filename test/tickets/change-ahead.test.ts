import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { changingTicket, viewerOf, visibleTicket } from '../../src/server/modules/tickets/tickets.context.js';
import { tickets } from '../../src/server/modules/tickets/tickets.table.js';
import { ViewCounts } from '../../src/server/modules/tickets/views.counts.js';
import { rowsStatement } from '../../src/server/platform/db/database.js';
import { statement } from '../../src/server/platform/db/statements.js';
import { type SignedUp, signupOrg, startTestApp, type TestApp } from '../support/harness.js';

let server: TestApp;
let org: SignedUp;
beforeAll(async () => {
  server = await startTestApp();
  org = await signupOrg(server.app);
});
afterAll(async () => server?.close());

/** What `changingTicket` and `viewerOf` need of the tickets module's context. */
const context = { viewCounts: new ViewCounts(), teamIdsOf: async () => [] };

async function newTicket(title: string): Promise<string> {
  const created = await server.app.inject({
    method: 'POST',
    url: '/api/v1/tickets',
    headers: org.auth,
    payload: { title },
  });
  expect(created.statusCode, created.body).toBe(201);
  return created.json().id as string;
}

/** On PostgreSQL, another connection cannot lock the ticket now (the embedded engine has one connection). */
async function expectLockedElsewhere(ticketId: string): Promise<void> {
  const database = server.platform.database;
  if (database.driver !== 'postgres') return;
  const probe = statement(
    (param) => `select id from tickets where id = ${param(ticketId)} for update nowait`,
  );
  const refused = await database.withOrgBatch(org.orgId, [rowsStatement(probe)]).then(
    () => undefined,
    (error: Error) => error,
  );
  expect(refused?.message).toMatch(/could not obtain lock/);
}

it('reads and locks the ticket a change is about in the round trip of its BEGIN, for its first locked read only', async () => {
  const database = server.platform.database;
  const ticketId = await newTicket('Printer on fire');
  const actor = await server.identity.auth.authenticate(org.auth.authorization);
  const seen = await database.withOrg(
    org.orgId,
    async (tx) => {
      // Before any statement of its own, the transaction holds the row lock already.
      await expectLockedElsewhere(ticketId);
      const viewer = await viewerOf(context, tx, actor);
      const first = await visibleTicket(tx, viewer, ticketId, { lock: true });
      await tx.update(tickets).set({ title: 'Printer no longer on fire' }).where(eq(tickets.id, ticketId));
      // The row read ahead is used once: a later read sees the transaction's own write.
      const again = await visibleTicket(tx, viewer, ticketId, { lock: true });
      return [first.title, again.title];
    },
    changingTicket(context, org.orgId, ticketId),
  );
  expect(seen).toEqual(['Printer on fire', 'Printer no longer on fire']);
});

it('answers 404 for a ticket the read ahead did not find', async () => {
  const database = server.platform.database;
  const actor = await server.identity.auth.authenticate(org.auth.authorization);
  const missing = '01a21096-0000-7000-8000-000000000000';
  const failed = await database
    .withOrg(
      org.orgId,
      async (tx) => visibleTicket(tx, await viewerOf(context, tx, actor), missing, { lock: true }),
      changingTicket(context, org.orgId, missing),
    )
    .then(
      () => undefined,
      (error: { statusCode?: number }) => error,
    );
  expect(failed?.statusCode).toBe(404);
});

it("gives another module's change (inbound mail) the ticket read and locked ahead, through the system door", async () => {
  const database = server.platform.database;
  const system = server.domain.tickets.system;
  const ticketId = await newTicket('Reply by mail');
  const title = await database.withOrg(
    org.orgId,
    async (tx) => {
      // Before any statement of its own, the transaction holds the row lock already.
      await expectLockedElsewhere(ticketId);
      return (await system.find(tx, org.orgId, ticketId, { lock: true }))?.title;
    },
    system.changing(org.orgId, ticketId),
  );
  expect(title).toBe('Reply by mail');
});
