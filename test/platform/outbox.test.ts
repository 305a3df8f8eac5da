import { eq, isNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newId } from '../../src/server/platform/db/columns.js';
import { defineEvent, EventEnvelope, recordEvent } from '../../src/server/platform/events/events.js';
import { outbox } from '../../src/server/platform/events/outbox.table.js';
import { DOMAIN_EVENTS_CHANNEL } from '../../src/server/platform/events/outbox-relay.js';
import { signupOrg, startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';

const Pinged = defineEvent('test.pinged', 'test', z.object({ n: z.number() }));

describe('transactional outbox', () => {
  let t: TestApp;
  const delivered: EventEnvelope[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    t.platform.jobs.define({
      name: 'test.on-pinged',
      queue: 'test',
      payload: EventEnvelope,
      async handle(envelope) {
        delivered.push(envelope as EventEnvelope);
      },
    });
    t.platform.subscriptions.on('test.pinged', 'test.on-pinged');
  });
  afterAll(async () => t?.close());

  it('publishes nothing for a rolled-back change', async () => {
    const org = await signupOrg(t.app);
    await expect(
      t.platform.database.withOrg(org.orgId, async (tx) => {
        await recordEvent(tx, Pinged, { orgId: org.orgId }, null, { n: -1 });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const rows = await t.platform.database.db.select().from(outbox).where(eq(outbox.event, 'test.pinged'));
    expect(rows).toEqual([]);
  });

  it('keeps committed events while no relay runs (a crash after commit) and delivers them once a relay starts', async () => {
    const org = await signupOrg(t.app);
    // No worker is running yet: this is the window where a crash would lose an enqueue-after-commit.
    const ids: string[] = [];
    for (let n = 1; n <= 3; n += 1) {
      ids.push(
        await t.platform.database.withOrg(org.orgId, (tx) =>
          recordEvent(tx, Pinged, { orgId: org.orgId, actorId: org.adminId, requestId: 'req-1' }, newId(), {
            n,
          }),
        ),
      );
    }
    const pending = await t.platform.database.db.select().from(outbox).where(isNull(outbox.publishedAt));
    expect(pending.map((row) => row.id)).toEqual(expect.arrayContaining(ids));

    const published: EventEnvelope[] = [];
    await t.platform.pubsub.subscribe(DOMAIN_EVENTS_CHANNEL, (message) =>
      published.push(JSON.parse(message)),
    );
    await startWorkers(t.platform);

    await until(() => delivered.filter((event) => ids.includes(event.id)).length === 3);
    const mine = delivered.filter((event) => ids.includes(event.id));
    expect(mine.map((event) => (event.payload as { n: number }).n).sort()).toEqual([1, 2, 3]);
    expect(mine[0]).toMatchObject({
      event: 'test.pinged',
      orgId: org.orgId,
      actorId: org.adminId,
      requestId: 'req-1',
    });
    await until(() => published.filter((event) => ids.includes(event.id)).length === 3);
    const after = await t.platform.database.db.select().from(outbox).where(isNull(outbox.publishedAt));
    expect(after.map((row) => row.id)).not.toEqual(expect.arrayContaining(ids));
  });

  it('relays a change made through the API: sign-up writes organization.created and user.created', async () => {
    const seen: EventEnvelope[] = [];
    await t.platform.pubsub.subscribe(DOMAIN_EVENTS_CHANNEL, (message) => seen.push(JSON.parse(message)));
    const org = await signupOrg(t.app);
    await until(
      () => seen.some((event) => event.orgId === org.orgId && event.event === 'user.created') || undefined,
    );
    const names = seen.filter((event) => event.orgId === org.orgId).map((event) => event.event);
    expect(names).toEqual(expect.arrayContaining(['organization.created', 'user.created']));
  });

  it('a second relay pass over the same rows publishes nothing twice', async () => {
    const org = await signupOrg(t.app);
    const id = await t.platform.database.withOrg(org.orgId, (tx) =>
      recordEvent(tx, Pinged, { orgId: org.orgId }, null, { n: 99 }),
    );
    await until(() => delivered.some((event) => event.id === id));
    expect(await t.platform.relay.relayBatch()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(delivered.filter((event) => event.id === id)).toHaveLength(1);
  });
});
