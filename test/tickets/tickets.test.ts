import { asc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SORTS, sortOrder } from '../../src/server/modules/tickets/tickets.filters.js';
import { tickets } from '../../src/server/modules/tickets/tickets.table.js';
import { rowsOf } from '../../src/server/platform/db/migrations.js';
import { outbox } from '../../src/server/platform/events/outbox.table.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld } from './support.js';

let server: TestApp;
let world: TicketWorld;

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);

describe('opening tickets', () => {
  it('numbers a requester’s ticket TKT-YYYYMMDD-NNNNN and makes them the requester', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const today = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    expect(ticket.number).toMatch(new RegExp(`^TKT-${today}-\\d{5}$`));
    expect(ticket).toMatchObject({ status: 'new', priority: 'medium', channel: 'web', version: 1 });
    expect((ticket.requester as { id: string }).id).toBe(world.requester.id);
    expect(ticket).not.toHaveProperty('tags');
  });

  it('gives concurrent creates distinct consecutive numbers', async () => {
    const created = await Promise.all(Array.from({ length: 20 }, () => openTicket(server.app, world.agent)));
    const numbers = created.map((ticket) => ticket.number);
    expect(new Set(numbers).size).toBe(20);
  });

  it('lets an agent open a ticket on behalf of a requester, with team, tags and assignee', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      requesterId: world.requester.id,
      teamId: world.teamId,
      assigneeId: world.agent2.id,
      tags: ['VPN', 'vpn', 'remote'],
      priority: 'high',
      channel: 'api',
    });
    expect(ticket).toMatchObject({ priority: 'high', channel: 'api', tags: ['vpn', 'remote'] });
    expect((ticket.assignee as { id: string }).id).toBe(world.agent2.id);
    expect((ticket.team as { id: string }).id).toBe(world.teamId);
  });

  it('refuses agent-only fields from requesters and assignees outside the team', async () => {
    const forbidden = await api('POST', '/tickets', world.requester, { title: 'x', teamId: world.teamId });
    expect(forbidden.statusCode).toBe(403);
    const outside = await api('POST', '/tickets', world.agent, {
      title: 'x',
      teamId: world.teamId,
      assigneeId: world.outsider.id,
    });
    expect(outside.statusCode).toBe(422);
    expect(outside.json().details.assigneeId).toMatch(/not a member/);
  });

  it('rejects bad input in the common error shape and writes nothing', async () => {
    // The newest ticket: any ticket written by a bad request would take its place.
    const newest = async () => (await api('GET', '/tickets?limit=1', world.admin)).json().data[0]?.id;
    const before = await newest();
    expect(before).toBeDefined();
    const cases = [
      { title: 'x'.repeat(501) },
      { title: 'x'.repeat(2 * 1024 * 1024) },
      { title: '   ' },
      { title: 'bell\u0007' },
      { title: 'ok', priority: 'urgent' },
      { title: 'ok', unknownField: 1 },
      { title: 'ok', requesterId: 'not-a-uuid' },
    ];
    for (const payload of cases) {
      const response = await api('POST', '/tickets', world.agent, payload);
      expect([400, 413, 422]).toContain(response.statusCode);
      expect(response.json()).toMatchObject({
        statusCode: response.statusCode,
        code: expect.any(String),
        message: expect.any(String),
        requestId: expect.any(String),
      });
    }
    expect(await newest()).toBe(before);
  });

  it('stores script tags and SQL metacharacters verbatim', async () => {
    const title = `<script>alert(1)</script> '; drop table tickets; --`;
    const ticket = await openTicket(server.app, world.requester, {
      title,
      description: '{{ticket.number}} $1 %s \\x00',
    });
    const read = (await api('GET', `/tickets/${ticket.id}`, world.requester)).json();
    expect(read.title).toBe(title);
    expect(read.description).toBe('{{ticket.number}} $1 %s \\x00');
  });
});

describe('opening tickets together', () => {
  /** The rows of tickets by id, with the start of the transaction that wrote each. */
  const written = async (ids: readonly string[]) =>
    server.platform.database.db
      .select({
        id: tickets.id,
        number: tickets.number,
        createdById: tickets.createdById,
        createdAt: tickets.createdAt,
      })
      .from(tickets)
      .where(inArray(tickets.id, [...ids]));

  it('writes creates that arrive together in one transaction, each with its own number, author and event', async () => {
    const openers = [
      world.requester,
      world.agent,
      world.requester2,
      world.lead,
      world.agent2,
      world.requester,
    ];
    const created = await Promise.all(openers.map((who) => openTicket(server.app, who)));
    expect(new Set(created.map((ticket) => ticket.number)).size).toBe(openers.length);
    const rows = await written(created.map((ticket) => ticket.id));
    // now() is the transaction's start: tickets written together share it.
    expect(new Set(rows.map((row) => row.createdAt.getTime())).size).toBeLessThan(openers.length);
    for (const [index, ticket] of created.entries()) {
      expect(rows.find((row) => row.id === ticket.id)?.createdById).toBe(openers[index]!.id);
      const events = (await api('GET', `/tickets/${ticket.id}/events`, world.admin)).json().data;
      expect(events).toMatchObject([{ type: 'created', actor: { id: openers[index]!.id } }]);
    }
    const requesterView = created[0]!;
    expect((requesterView.requester as { id: string }).id).toBe(world.requester.id);
    expect(requesterView).not.toHaveProperty('tags');
    expect(created[1]).toHaveProperty('tags');
  });

  it('refuses one invalid create of a group with 422 and writes the others', async () => {
    const results = await Promise.all([
      api('POST', '/tickets', world.agent, { title: 'valid one', teamId: world.teamId }),
      api('POST', '/tickets', world.agent, {
        title: 'unknown team',
        teamId: '01900000-0000-7000-8000-000000000000',
      }),
      api('POST', '/tickets', world.agent, { title: 'valid two', requesterId: world.requester.id }),
    ]);
    expect(results.map((response) => response.statusCode)).toEqual([201, 422, 201]);
    expect(results[1]!.json()).toMatchObject({
      code: 'UNPROCESSABLE',
      details: { teamId: expect.any(String) },
    });
    expect((await written(results.flatMap((r) => (r.statusCode === 201 ? [r.json().id] : [])))).length).toBe(
      2,
    );
  });

  it('runs each create alone when the group’s transaction fails, so only the failing one fails', async () => {
    // A database error no validation foresees, for one title only.
    await server.platform.database.db.execute(sql`
      create function refuse_doomed_ticket() returns trigger language plpgsql as $$
      begin
        if new.title = 'doomed by a trigger' then raise exception 'refused by the test trigger'; end if;
        return new;
      end $$`);
    await server.platform.database.db.execute(
      sql`create trigger refuse_doomed before insert on tickets for each row execute function refuse_doomed_ticket()`,
    );
    try {
      const titles = [
        'first of the group',
        'doomed by a trigger',
        'third of the group',
        'fourth of the group',
      ];
      const results = await Promise.all(
        titles.map((title) => api('POST', '/tickets', world.agent, { title })),
      );
      expect(results.map((response) => response.statusCode)).toEqual([201, 500, 201, 201]);
      const rows = await written(results.flatMap((r) => (r.statusCode === 201 ? [r.json().id] : [])));
      expect(rows.map((row) => row.number).sort()).toEqual(
        results.flatMap((r) => (r.statusCode === 201 ? [r.json().number] : [])).sort(),
      );
    } finally {
      await server.platform.database.db.execute(sql`drop trigger refuse_doomed on tickets`);
      await server.platform.database.db.execute(sql`drop function refuse_doomed_ticket()`);
    }
  });
});

describe('timeline and events', () => {
  it('writes each change as a timeline row and an outbox event naming that row, together', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const status = await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'open' });
    expect(status.statusCode).toBe(200);
    const timeline = (await api('GET', `/tickets/${ticket.id}/events`, world.agent)).json().data as Array<{
      id: string;
      type: string;
    }>;
    const events = await server.platform.database.db
      .select({ event: outbox.event, payload: outbox.payload })
      .from(outbox)
      .where(eq(outbox.aggregateId, ticket.id as string))
      .orderBy(asc(outbox.id));
    expect(events.map((row) => (row.payload as { eventId: string }).eventId)).toEqual(
      timeline.map((entry) => entry.id),
    );
    expect(events.map((row) => row.event)).toEqual(['ticket.created', 'ticket.status_changed']);
  });
});

describe('visibility follows team membership', () => {
  it('shows a team agent the team’s tickets only while they are a member, from the next request on', async () => {
    const created = await api('POST', '/admin/teams', world.admin, {
      name: `Field service ${Date.now()}`,
      memberIds: [world.agent.id],
    });
    expect(created.statusCode).toBe(201);
    const teamId = created.json().id as string;
    const ticket = await openTicket(server.app, world.lead, { teamId, requesterId: world.requester.id });
    const read = () => api('GET', `/tickets/${ticket.id}`, world.agent);
    expect((await read()).statusCode).toBe(200);

    expect((await api('PATCH', `/admin/teams/${teamId}`, world.admin, { memberIds: [] })).statusCode).toBe(
      200,
    );
    expect((await read()).statusCode).toBe(404);
    const listed = (await api('GET', `/tickets?team=${teamId}`, world.agent)).json().data as unknown[];
    expect(listed).toHaveLength(0);

    expect(
      (await api('PATCH', `/admin/teams/${teamId}`, world.admin, { memberIds: [world.agent.id] })).statusCode,
    ).toBe(200);
    expect((await read()).statusCode).toBe(200);
  });
});

describe('conversation', () => {
  it('keeps internal notes from the requester and sets first_response_at on the first agent reply', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Cannot log in' });
    await api('POST', `/tickets/${ticket.id}/assign`, world.agent, { teamId: world.teamId }).then((r) =>
      expect(r.statusCode).toBe(200),
    );
    const note = await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
      body: 'Looks like an expired password',
    });
    expect(note.statusCode).toBe(201);
    expect(note.json().isInternal).toBe(true);
    let agentView = (await api('GET', `/tickets/${ticket.id}`, world.agent)).json();
    expect(agentView.firstResponseAt).toBeNull();
    const reply = await api('POST', `/tickets/${ticket.id}/comments`, world.agent, {
      body: 'Please reset it at https://id.example',
    });
    expect(reply.statusCode).toBe(201);
    agentView = (await api('GET', `/tickets/${ticket.id}`, world.agent)).json();
    expect(agentView.firstResponseAt).not.toBeNull();
    expect(agentView.status).toBe('open');
    expect(agentView.messages.map((m: { isInternal: boolean }) => m.isInternal)).toEqual([true, false]);

    const requesterView = (await api('GET', `/tickets/${ticket.id}`, world.requester)).json();
    expect(requesterView.messages).toHaveLength(1);
    expect(JSON.stringify(requesterView)).not.toContain('expired password');
    const events = (await api('GET', `/tickets/${ticket.id}/events`, world.requester)).json().data;
    expect(events.some((event: { type: string }) => event.type === 'note_added')).toBe(false);
    const agentEvents = (await api('GET', `/tickets/${ticket.id}/events`, world.agent)).json().data;
    expect(agentEvents.map((event: { type: string }) => event.type)).toEqual(
      expect.arrayContaining(['created', 'assigned', 'note_added', 'comment_added', 'status_changed']),
    );
  });

  it('never shows a requester which team a ticket moved to, in its timeline', async () => {
    type Event = { type: string; changes: Record<string, unknown> };
    const ticket = await openTicket(server.app, world.requester);
    const assign = (body: Record<string, unknown>) =>
      api('POST', `/tickets/${ticket.id}/assign`, world.admin, body).then((response) =>
        expect(response.statusCode, response.body).toBe(200),
      );
    await assign({ teamId: world.teamId, assigneeId: world.agent.id });
    await assign({ teamId: world.otherTeamId });
    const timeline = async (who: typeof world.agent) =>
      ((await api('GET', `/tickets/${ticket.id}/events`, who)).json().data as Event[]).filter(
        (event) => event.type === 'assigned',
      );

    const agentView = await timeline(world.admin);
    expect(agentView.map((event) => Object.keys(event.changes).sort())).toEqual([
      ['assigneeId', 'teamId'],
      ['assigneeId', 'teamId'],
    ]);
    // The first assignment without its team, the move (which also unassigned) as an unassignment.
    const requesterView = await timeline(world.requester);
    expect(requesterView.map((event) => event.changes)).toEqual([
      { assigneeId: { from: null, to: world.agent.id } },
      { assigneeId: { from: world.agent.id, to: null } },
    ]);
    expect(JSON.stringify(requesterView)).not.toContain(world.otherTeamId);

    // A move alone is not an event for the requester at all.
    await assign({ teamId: world.teamId });
    expect(await timeline(world.requester)).toHaveLength(2);
    expect(await timeline(world.admin)).toHaveLength(3);
  });

  it('forbids notes to requesters and replies on closed tickets', async () => {
    const ticket = await openTicket(server.app, world.requester);
    expect(
      (await api('POST', `/tickets/${ticket.id}/notes`, world.requester, { body: 'sneaky' })).statusCode,
    ).toBe(403);
    expect((await api('POST', `/tickets/${ticket.id}/close`, world.requester)).statusCode).toBe(200);
    const late = await api('POST', `/tickets/${ticket.id}/comments`, world.requester, {
      body: 'one more thing',
    });
    expect(late.statusCode).toBe(422);
  });

  it('reopens a resolved ticket when the requester replies', async () => {
    const ticket = await openTicket(server.app, world.requester);
    expect(
      (await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'resolved' })).json()
        .resolvedAt,
    ).not.toBeNull();
    await api('POST', `/tickets/${ticket.id}/comments`, world.requester, { body: 'Still broken' });
    const read = (await api('GET', `/tickets/${ticket.id}`, world.agent)).json();
    expect(read).toMatchObject({ status: 'open', resolvedAt: null });
  });

  it('records mentions of users by @email', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const lead = (await api('GET', '/me', world.lead)).json();
    const note = await api('POST', `/tickets/${ticket.id}/notes`, world.agent, {
      body: `@${lead.user.email} can you approve?`,
    });
    expect(note.json().mentions).toEqual([world.lead.id]);
  });
});

describe('status, versions and assignment', () => {
  it('answers 422 for an illegal transition and 409 for a stale version', async () => {
    const ticket = await openTicket(server.app, world.requester);
    expect(
      (await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'closed' })).statusCode,
    ).toBe(200);
    const illegal = await api('POST', `/tickets/${ticket.id}/status`, world.agent, { status: 'open' });
    expect(illegal.statusCode).toBe(422);
    expect(illegal.json().details).toMatchObject({ from: 'closed', to: 'open' });

    const other = await openTicket(server.app, world.requester);
    const first = await api(
      'PATCH',
      `/tickets/${other.id}`,
      world.agent,
      { priority: 'high' },
      { 'if-match': '"1"' },
    );
    expect(first.statusCode).toBe(200);
    expect(first.headers.etag).toBe('"2"');
    const stale = await api(
      'PATCH',
      `/tickets/${other.id}`,
      world.agent2,
      { priority: 'low' },
      { 'if-match': '"1"' },
    );
    expect(stale.statusCode).toBe(409);
    expect(stale.json().details).toEqual({ currentVersion: 2 });
    expect((await api('GET', `/tickets/${other.id}`, world.agent)).json().priority).toBe('high');
  });

  it('lets exactly one of two simultaneous claims win', async () => {
    const ticket = await openTicket(server.app, world.requester, {});
    await api('POST', `/tickets/${ticket.id}/assign`, world.agent, { teamId: world.teamId });
    const results = await Promise.all([
      api('POST', `/tickets/${ticket.id}/claim`, world.agent),
      api('POST', `/tickets/${ticket.id}/claim`, world.agent2),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const winner = results.find((r) => r.statusCode === 200)!.json().assignee.id;
    expect((await api('GET', `/tickets/${ticket.id}`, world.admin)).json().assignee.id).toBe(winner);
  });

  it('needs ticket:reassign to move someone else’s ticket', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      teamId: world.teamId,
      assigneeId: world.agent.id,
      requesterId: world.requester.id,
    });
    expect(
      (await api('POST', `/tickets/${ticket.id}/assign`, world.agent2, { assigneeId: world.agent2.id }))
        .statusCode,
    ).toBe(403);
    expect((await api('DELETE', `/tickets/${ticket.id}/assign`, world.agent2)).statusCode).toBe(403);
    const moved = await api('POST', `/tickets/${ticket.id}/assign`, world.lead, {
      assigneeId: world.agent2.id,
    });
    expect(moved.statusCode).toBe(200);
    expect(moved.json().assignee.id).toBe(world.agent2.id);
    expect((await api('DELETE', `/tickets/${ticket.id}/assign`, world.agent2)).json().assignee).toBeNull();
  });
});

describe('list paging', () => {
  it('walks every ticket exactly once by cursor, oldest and newest first', async () => {
    const mine = await Promise.all(
      Array.from({ length: 7 }, () =>
        openTicket(server.app, world.agent, { requesterId: world.requester2.id, tags: ['paging'] }),
      ),
    );
    const orders = new Map<string, string[]>();
    for (const sort of SORTS.filter((sort) => sort !== 'relevance')) {
      const seen: string[] = [];
      let url: string | null = `/tickets?tag=paging&limit=2&sort=${sort}`;
      while (url) {
        const page: { data: Array<{ id: string }>; links: { next: string | null } } = (
          await api('GET', url, world.agent)
        ).json();
        seen.push(...page.data.map((ticket) => ticket.id));
        url = page.links.next ? page.links.next.replace('/api/v1', '') : null;
      }
      orders.set(sort, [...seen]);
      expect(seen.sort(), sort).toEqual(mine.map((ticket) => ticket.id).sort());
    }
    // Ascending is descending reversed (ties broken by id both ways).
    for (const column of ['createdAt', 'updatedAt', 'lastActivityAt', 'priority'])
      expect(orders.get(column), column).toEqual(orders.get(`-${column}`)!.toReversed());
  });

  it('walks an index for every sort, in both directions, instead of sorting the organisation', async () => {
    const { database } = server.platform;
    for (const sort of SORTS.filter((sort) => sort !== 'relevance')) {
      const plan = await database.withOrg(world.admin.orgId, async (tx) => {
        await tx.execute(sql`set local enable_sort = off`);
        const result = await tx.execute(
          sql`explain select ${tickets.id} from ${tickets}
            where ${tickets.orgId} = ${world.admin.orgId}::uuid and ${tickets.deletedAt} is null
            order by ${sql.join(sortOrder(sort), sql`, `)} limit 51`,
        );
        return rowsOf<{ 'QUERY PLAN': string }>(result)
          .map((row) => row['QUERY PLAN'])
          .join('\n');
      });
      expect(plan, sort).toMatch(/Index (Only )?Scan (Backward )?using tickets_org_/);
      expect(plan, sort).not.toMatch(/Sort/);
    }
  });

  it('rejects a forged cursor and a cursor of another sort', async () => {
    expect((await api('GET', '/tickets?cursor=not-a-cursor', world.agent)).statusCode).toBe(400);
    const page = (await api('GET', '/tickets?limit=1&sort=createdAt', world.agent)).json();
    expect(
      (await api('GET', `/tickets?limit=1&cursor=${page.meta.nextCursor}`, world.agent)).statusCode,
    ).toBe(400);
  });
});
