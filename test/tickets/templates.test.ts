import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser, signupOrg, startTestApp, type TestApp } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld, type Who } from './support.js';

let server: TestApp;
let world: TicketWorld;
/** An agent of another organisation. */
let stranger: { auth: Record<string, string> };

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
  stranger = await createUser(server.app, await signupOrg(server.app), 'agent');
});
afterAll(async () => server?.close());

const api = apiClient(() => server.app);

async function created(method: 'POST', url: string, who: Who, payload: unknown) {
  const response = await api(method, url, who, payload);
  if (response.statusCode !== 201) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return response.json() as { id: string } & Record<string, unknown>;
}

const cannedResponse = (who: Who, payload: Record<string, unknown>) =>
  created('POST', '/canned-responses', who, { title: 'Greeting', body: 'Hello', ...payload });
const macro = (who: Who, payload: Record<string, unknown>) =>
  created('POST', '/macros', who, { name: 'Macro', ...payload });

/** Everything a failed macro must leave alone. */
async function snapshot(ticketId: string) {
  const ticket = (await api('GET', `/tickets/${ticketId}`, world.admin)).json();
  const events = (await api('GET', `/tickets/${ticketId}/events`, world.admin)).json().data;
  return {
    status: ticket.status,
    version: ticket.version,
    tags: ticket.tags,
    assignee: ticket.assignee?.id ?? null,
    messages: ticket.messages.length,
    events: events.length,
  };
}

describe('canned responses', () => {
  it('keeps personal ones to their owner and shared ones to curators', async () => {
    const mine = await cannedResponse(world.agent, { title: 'My VPN steps', body: 'Reconnect the VPN.' });
    expect(mine).toMatchObject({ shared: false, ownerId: world.agent.id });
    expect(
      (await api('POST', '/canned-responses', world.agent, { title: 'x', body: 'y', shared: true }))
        .statusCode,
    ).toBe(403);
    const byLead = await cannedResponse(world.lead, { title: 'Shared VPN steps', shared: true });
    const byAdmin = await cannedResponse(world.admin, { title: 'Shared closing', shared: true });
    expect(byLead).toMatchObject({ shared: true, ownerId: null });

    const listed = (await api('GET', '/canned-responses', world.agent))
      .json()
      .data.map((row: { id: string }) => row.id);
    expect(listed).toEqual(expect.arrayContaining([mine.id, byLead.id, byAdmin.id]));
    const othersList = (await api('GET', '/canned-responses', world.agent2)).json().data;
    expect(othersList.map((row: { id: string }) => row.id)).not.toContain(mine.id);
    const filtered = (await api('GET', '/canned-responses?q=vpn', world.agent)).json().data;
    expect(filtered.map((row: { title: string }) => row.title).sort()).toEqual([
      'My VPN steps',
      'Shared VPN steps',
    ]);
    expect((await api('GET', '/canned-responses?q=%25', world.agent)).json().data).toEqual([]);

    // Another agent's personal template does not exist for anyone else, admins included.
    for (const who of [world.agent2, world.admin]) {
      expect((await api('GET', `/canned-responses/${mine.id}`, who)).statusCode).toBe(404);
      expect(
        (await api('PATCH', `/canned-responses/${mine.id}`, who, { title: 'Mine now' })).statusCode,
      ).toBe(404);
      expect((await api('DELETE', `/canned-responses/${mine.id}`, who)).statusCode).toBe(404);
    }
    // Any agent uses shared ones; only curators change them.
    expect((await api('GET', `/canned-responses/${byLead.id}`, world.agent)).statusCode).toBe(200);
    expect(
      (await api('PATCH', `/canned-responses/${byLead.id}`, world.agent, { title: 'Hijacked' })).statusCode,
    ).toBe(403);
    expect((await api('DELETE', `/canned-responses/${byAdmin.id}`, world.agent)).statusCode).toBe(403);
    expect(
      (await api('PATCH', `/canned-responses/${mine.id}`, world.agent, { shared: true })).statusCode,
    ).toBe(403);
    const edited = await api('PATCH', `/canned-responses/${byAdmin.id}`, world.lead, {
      body: 'Closing now.',
    });
    expect(edited.statusCode).toBe(200);
    expect(edited.json()).toMatchObject({ title: 'Shared closing', body: 'Closing now.', shared: true });

    expect(
      (await api('PATCH', `/canned-responses/${mine.id}`, world.agent, { title: 'VPN' })).json().title,
    ).toBe('VPN');
    expect((await api('DELETE', `/canned-responses/${mine.id}`, world.agent)).statusCode).toBe(204);
    expect((await api('GET', `/canned-responses/${mine.id}`, world.agent)).statusCode).toBe(404);
  });

  it('answers 403 to requesters and 404 to other organisations', async () => {
    const shared = await cannedResponse(world.admin, { shared: true });
    const ticket = await openTicket(server.app, world.requester);
    const requesterCalls = [
      api('GET', '/canned-responses', world.requester),
      api('POST', '/canned-responses', world.requester, { title: 'x', body: 'y' }),
      api('GET', `/canned-responses/${shared.id}`, world.requester),
      api('PATCH', `/canned-responses/${shared.id}`, world.requester, { title: 'x' }),
      api('DELETE', `/canned-responses/${shared.id}`, world.requester),
      api('POST', `/canned-responses/${shared.id}/render`, world.requester, { ticketId: ticket.id }),
      api('GET', '/macros', world.requester),
      api('POST', '/macros', world.requester, { name: 'x', actions: { priority: 'low' } }),
    ];
    for (const response of await Promise.all(requesterCalls)) expect(response.statusCode).toBe(403);

    expect((await api('GET', `/canned-responses/${shared.id}`, stranger)).statusCode).toBe(404);
    expect((await api('DELETE', `/canned-responses/${shared.id}`, stranger)).statusCode).toBe(404);
    const own = await cannedResponse(stranger, { body: 'Hi {{requester.name}}' });
    const render = await api('POST', `/canned-responses/${own.id}/render`, stranger, { ticketId: ticket.id });
    expect(render.statusCode).toBe(404);
    expect(
      (await api('GET', '/canned-responses', stranger)).json().data.map((row: { id: string }) => row.id),
    ).toEqual([own.id]);
  });

  it('renders every variable for a real ticket, as the calling agent, verbatim', async () => {
    const requester = await createUser(server.app, world.admin, 'requester');
    const agent = await createUser(server.app, world.admin, 'agent', { teamIds: [world.teamId] });
    for (const [user, name] of [
      [requester, 'Ada  Lovelace'],
      [agent, 'Grace Hopper'],
    ] as const) {
      expect((await api('PATCH', `/admin/users/${user.id}`, world.admin, { name })).statusCode).toBe(200);
    }
    const title = 'Laptop <b>fan</b> & {{agent.name}} $1';
    const ticket = await openTicket(server.app, requester, { title, priority: 'high' });
    const template = await cannedResponse(agent, {
      body: [
        'Hi {{requester.first_name}} ({{requester.name}}, {{requester.email}}),',
        '{{ticket.number}} "{{ticket.title}}" is {{ticket.status}} at {{ ticket.priority }} priority: {{ticket.url}}',
        '{{agent.first_name}} / {{agent.name}} / {{agent.email}}',
      ].join('\n'),
    });
    const render = await api('POST', `/canned-responses/${template.id}/render`, agent, {
      ticketId: ticket.id,
    });
    expect(render.statusCode).toBe(200);
    expect(render.json().body).toBe(
      [
        `Hi Ada (Ada  Lovelace, ${requester.email}),`,
        `${ticket.number} "${title}" is new at high priority: ${server.config.publicUrl}/tickets/${ticket.id}`,
        `Grace / Grace Hopper / ${agent.email}`,
      ].join('\n'),
    );

    // The same template, rendered by someone else, speaks as them.
    const shared = await cannedResponse(world.admin, { body: 'Regards, {{agent.name}}', shared: true });
    const asAdmin = await api('POST', `/canned-responses/${shared.id}/render`, world.admin, {
      ticketId: ticket.id,
    });
    const adminName = (await api('GET', '/me', world.admin)).json().user.name;
    expect(asAdmin.json().body).toBe(`Regards, ${adminName}`);
    const asAgent = await api('POST', `/canned-responses/${shared.id}/render`, agent, {
      ticketId: ticket.id,
    });
    expect(asAgent.json().body).toBe('Regards, Grace Hopper');
  });

  it('answers 404 for a ticket the agent may not see', async () => {
    const ticket = await openTicket(server.app, world.agent, {
      teamId: world.teamId,
      requesterId: world.requester.id,
    });
    const template = await cannedResponse(world.outsider, { body: '{{ticket.number}}' });
    const hidden = await api('POST', `/canned-responses/${template.id}/render`, world.outsider, {
      ticketId: ticket.id,
    });
    expect(hidden.statusCode).toBe(404);
    const missing = await api('POST', `/canned-responses/${template.id}/render`, world.outsider, {
      ticketId: '00000000-0000-0000-0000-000000000000',
    });
    expect(missing.statusCode).toBe(404);
  });

  it('refuses unknown variables and anything but plain variables at save time', async () => {
    const unknown = await api('POST', '/canned-responses', world.agent, {
      title: 'Bad',
      body: 'Hi {{requester.name}} {{ticket.secret}} {{ org.name }}',
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().details).toMatchObject({
      field: 'body',
      unknownVariables: ['ticket.secret', 'org.name'],
    });
    expect(unknown.json().message).toContain('{{ticket.secret}}');

    for (const body of [
      '{{#ticket}}{{number}}{{/ticket}}',
      '{{^ticket.title}}untitled{{/ticket.title}}',
      '{{> footer}}',
      '{{{ticket.title}}}',
      '{{=<% %>=}} <% ticket.title %>',
      '{{! a comment }}',
    ]) {
      const refused = await api('POST', '/canned-responses', world.agent, { title: 'Logic', body });
      expect(refused.statusCode, body).toBe(422);
      expect(refused.json().details.unsupportedTags, body).toBeDefined();
    }
    const unclosed = await api('POST', '/canned-responses', world.agent, {
      title: 'x',
      body: 'Hi {{requester.name',
    });
    expect(unclosed.statusCode).toBe(422);
    expect(unclosed.json().details.syntax).toMatch(/Unclosed tag/);

    const good = await cannedResponse(world.agent, { body: 'Hi {{requester.name}}' });
    const badEdit = await api('PATCH', `/canned-responses/${good.id}`, world.agent, {
      body: '{{agent.password}}',
    });
    expect(badEdit.statusCode).toBe(422);
    expect((await api('GET', `/canned-responses/${good.id}`, world.agent)).json().body).toBe(
      'Hi {{requester.name}}',
    );
  });
});

describe('macros', () => {
  const askForInfo = {
    status: 'pending_user',
    addTags: ['Needs-Info'],
    reply: {
      body: 'Hi {{requester.first_name}}, {{ticket.number}} is now {{ticket.status}}; please send a screenshot. {{agent.name}}',
      internal: false,
    },
  };

  it('validates actions on save and keeps personal macros to their owner', async () => {
    const bad = [
      { actions: {} },
      { actions: { status: 'new' } },
      { actions: { status: 'sleeping' } },
      { actions: { assigneeId: 'someone' } },
      { actions: { reply: { body: '   ' } } },
      { actions: { priority: 'low', extra: true } },
    ];
    for (const payload of bad) {
      expect(
        (await api('POST', '/macros', world.agent, { name: 'x', ...payload })).statusCode,
        JSON.stringify(payload),
      ).toBe(400);
    }
    const unknown = await api('POST', '/macros', world.agent, {
      name: 'x',
      actions: { reply: { body: '{{ticket.owner}}' } },
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().details).toMatchObject({
      field: 'actions.reply.body',
      unknownVariables: ['ticket.owner'],
    });
    const section = await api('POST', '/macros', world.agent, {
      name: 'x',
      actions: { reply: { body: '{{#agent}}x{{/agent}}' } },
    });
    expect(section.statusCode).toBe(422);

    const mine = await macro(world.agent, { actions: askForInfo });
    expect(mine).toMatchObject({
      shared: false,
      ownerId: world.agent.id,
      actions: { status: 'pending_user', addTags: ['needs-info'], reply: { internal: false } },
    });
    expect(
      (await api('POST', '/macros', world.agent, { name: 'x', actions: askForInfo, shared: true }))
        .statusCode,
    ).toBe(403);
    const shared = await macro(world.lead, {
      name: 'Escalate',
      actions: { priority: 'critical' },
      shared: true,
    });

    expect(
      (await api('GET', '/macros', world.agent)).json().data.map((row: { id: string }) => row.id),
    ).toEqual(expect.arrayContaining([mine.id, shared.id]));
    expect(
      (await api('GET', '/macros', world.agent2)).json().data.map((row: { id: string }) => row.id),
    ).not.toContain(mine.id);
    const ticket = await openTicket(server.app, world.requester);
    for (const who of [world.agent2, world.admin]) {
      expect((await api('GET', `/macros/${mine.id}`, who)).statusCode).toBe(404);
      expect((await api('POST', `/tickets/${ticket.id}/macros/${mine.id}/apply`, who)).statusCode).toBe(404);
    }
    expect((await api('GET', `/macros/${shared.id}`, stranger)).statusCode).toBe(404);
    expect((await api('POST', `/tickets/${ticket.id}/macros/${shared.id}/apply`, stranger)).statusCode).toBe(
      404,
    );
    expect(
      (await api('POST', `/tickets/${ticket.id}/macros/${shared.id}/apply`, world.requester)).statusCode,
    ).toBe(403);
    expect((await api('PATCH', `/macros/${shared.id}`, world.agent, { name: 'Mine' })).statusCode).toBe(403);
    const renamed = await api('PATCH', `/macros/${mine.id}`, world.agent, { name: 'Ask for info' });
    expect(renamed.json()).toMatchObject({ name: 'Ask for info', actions: { status: 'pending_user' } });
    expect(
      (await api('PATCH', `/macros/${mine.id}`, world.agent, { actions: { reply: { body: '{{x}}' } } }))
        .statusCode,
    ).toBe(422);
    expect((await api('DELETE', `/macros/${mine.id}`, world.agent)).statusCode).toBe(204);
    expect((await api('GET', `/macros/${mine.id}`, world.agent)).statusCode).toBe(404);
  });

  it('sets fields and replies in one action, with the usual timeline', async () => {
    const ask = await macro(world.agent, { actions: askForInfo });
    const ticket = await openTicket(server.app, world.requester, { title: 'Outlook crashes' });
    const applied = await api('POST', `/tickets/${ticket.id}/macros/${ask.id}/apply`, world.agent, {
      version: ticket.version,
    });
    expect(applied.statusCode).toBe(200);
    const body = applied.json();
    expect(body).toMatchObject({ status: 'pending_user', tags: ['needs-info'] });
    expect(applied.headers.etag).toBe(`"${body.version}"`);
    expect(body.firstResponseAt).not.toBeNull();
    expect(body.messages).toHaveLength(1);
    expect(body.messages[0]).toMatchObject({
      isInternal: false,
      author: { id: world.agent.id },
      body: `Hi Test, ${ticket.number} is now pending user; please send a screenshot. Test agent`,
    });

    const requesterView = (await api('GET', `/tickets/${ticket.id}`, world.requester)).json();
    expect(requesterView.messages.map((message: { body: string }) => message.body)).toEqual([
      body.messages[0].body,
    ]);
    const events = (await api('GET', `/tickets/${ticket.id}/events`, world.agent)).json().data;
    expect(events.map((event: { type: string }) => event.type)).toEqual([
      'created',
      'status_changed',
      'updated',
      'comment_added',
    ]);
    expect(events[1].changes).toEqual({ status: { from: 'new', to: 'pending_user' } });
    expect(events[2]).toMatchObject({
      isInternal: true,
      changes: { tags: { from: [], to: ['needs-info'] } },
    });
    expect(events[3].data.messageId).toBe(body.messages[0].id);
  });

  it('writes an internal note, assigns to "me" and changes priority and tags', async () => {
    const triage = await macro(world.agent, {
      actions: {
        priority: 'high',
        teamId: world.teamId,
        assigneeId: 'me',
        removeTags: ['new-hire'],
        addTags: ['hardware'],
        reply: { body: 'Taking this one ({{ticket.priority}}).', internal: true },
      },
    });
    const ticket = await openTicket(server.app, world.agent, {
      requesterId: world.requester.id,
      tags: ['new-hire', 'laptop'],
    });
    const applied = await api('POST', `/tickets/${ticket.id}/macros/${triage.id}/apply`, world.agent);
    expect(applied.statusCode).toBe(200);
    expect(applied.json()).toMatchObject({
      status: 'new',
      priority: 'high',
      tags: ['laptop', 'hardware'],
      assignee: { id: world.agent.id },
      team: { id: world.teamId },
      firstResponseAt: null,
    });
    expect(applied.json().messages).toMatchObject([{ isInternal: true, body: 'Taking this one (high).' }]);
    expect((await api('GET', `/tickets/${ticket.id}`, world.requester)).json().messages).toEqual([]);
    const types = (await api('GET', `/tickets/${ticket.id}/events`, world.agent))
      .json()
      .data.map((e: { type: string }) => e.type);
    expect(types).toEqual(['created', 'assigned', 'updated', 'updated', 'note_added']);
  });

  it('replies before closing when a macro does both', async () => {
    const closeWithReply = await macro(world.agent, {
      actions: {
        status: 'closed',
        addTags: ['done'],
        reply: { body: '{{ticket.number}} is {{ticket.status}}.', internal: false },
      },
    });
    const ticket = await openTicket(server.app, world.requester);
    const applied = await api('POST', `/tickets/${ticket.id}/macros/${closeWithReply.id}/apply`, world.agent);
    expect(applied.statusCode).toBe(200);
    expect(applied.json()).toMatchObject({ status: 'closed', tags: ['done'] });
    expect(applied.json().closedAt).not.toBeNull();
    expect(applied.json().messages).toMatchObject([{ body: `${ticket.number} is closed.` }]);
    const events = (await api('GET', `/tickets/${ticket.id}/events`, world.agent)).json().data;
    expect(
      events.map((event: { type: string; changes: { status?: { to: string } } }) => [
        event.type,
        event.changes.status?.to,
      ]),
    ).toEqual([
      ['created', undefined],
      ['updated', undefined],
      ['comment_added', undefined],
      ['status_changed', 'open'],
      ['status_changed', 'closed'],
    ]);
    // Closed is final: the same macro again has nothing it may do.
    const again = await api('POST', `/tickets/${ticket.id}/macros/${closeWithReply.id}/apply`, world.agent);
    expect(again.statusCode).toBe(422);
  });

  it('applies nothing when any part is refused', async () => {
    const ask = await macro(world.agent, { actions: askForInfo });
    // resolved → pending_user is not a transition; the reply alone would have been fine.
    const resolved = await openTicket(server.app, world.requester);
    expect(
      (await api('POST', `/tickets/${resolved.id}/status`, world.agent, { status: 'resolved' })).statusCode,
    ).toBe(200);
    let before = await snapshot(resolved.id);
    const illegal = await api('POST', `/tickets/${resolved.id}/macros/${ask.id}/apply`, world.agent);
    expect(illegal.statusCode).toBe(422);
    expect(illegal.json().details).toMatchObject({ from: 'resolved', to: 'pending_user' });
    expect(await snapshot(resolved.id)).toEqual(before);

    // Taking someone else's ticket needs ticket:reassign.
    const grab = await macro(world.agent, {
      actions: { assigneeId: 'me', addTags: ['grabbed'], reply: { body: 'Mine now', internal: false } },
    });
    const theirs = await openTicket(server.app, world.agent2, {
      requesterId: world.requester.id,
      teamId: world.teamId,
      assigneeId: world.agent2.id,
    });
    before = await snapshot(theirs.id);
    expect((await api('POST', `/tickets/${theirs.id}/macros/${grab.id}/apply`, world.agent)).statusCode).toBe(
      403,
    );
    expect(await snapshot(theirs.id)).toEqual(before);

    // The status and tags are written before the rendered reply turns out too long: the
    // rollback takes them back.
    const wordy = await macro(world.agent, {
      actions: {
        status: 'in_progress',
        addTags: ['wordy'],
        reply: { body: '{{ticket.title}} '.repeat(200), internal: false },
      },
    });
    const long = await openTicket(server.app, world.requester, { title: 'x'.repeat(500) });
    before = await snapshot(long.id);
    const tooLong = await api('POST', `/tickets/${long.id}/macros/${wordy.id}/apply`, world.agent);
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json().details.body).toEqual([expect.stringMatching(/at most 65536/)]);
    expect(await snapshot(long.id)).toEqual(before);

    // An assignee outside the ticket's team.
    const toOutsider = await macro(world.lead, {
      actions: { assigneeId: world.outsider.id, priority: 'low' },
    });
    const teamTicket = await openTicket(server.app, world.agent, {
      requesterId: world.requester.id,
      teamId: world.teamId,
    });
    before = await snapshot(teamTicket.id);
    const outside = await api('POST', `/tickets/${teamTicket.id}/macros/${toOutsider.id}/apply`, world.lead);
    expect(outside.statusCode).toBe(422);
    expect(outside.json().details.assigneeId).toMatch(/not a member/);
    expect(await snapshot(teamTicket.id)).toEqual(before);
  });

  it('lets a team lead take over, and moving teams unassigns', async () => {
    const takeOver = await macro(world.lead, { actions: { assigneeId: 'me' } });
    const ticket = await openTicket(server.app, world.agent2, {
      requesterId: world.requester.id,
      teamId: world.teamId,
      assigneeId: world.agent2.id,
    });
    const taken = await api('POST', `/tickets/${ticket.id}/macros/${takeOver.id}/apply`, world.lead);
    expect(taken.statusCode).toBe(200);
    expect(taken.json().assignee.id).toBe(world.lead.id);

    const toNetwork = await macro(world.lead, { actions: { teamId: world.otherTeamId } });
    const moved = await api('POST', `/tickets/${ticket.id}/macros/${toNetwork.id}/apply`, world.lead);
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ team: { id: world.otherTeamId }, assignee: null });
  });

  it('answers 409 for a stale version and changes nothing', async () => {
    const escalate = await macro(world.agent, { actions: { priority: 'critical', addTags: ['escalated'] } });
    const ticket = await openTicket(server.app, world.requester);
    expect((await api('PATCH', `/tickets/${ticket.id}`, world.agent, { priority: 'low' })).statusCode).toBe(
      200,
    );
    const before = await snapshot(ticket.id);
    const stale = await api('POST', `/tickets/${ticket.id}/macros/${escalate.id}/apply`, world.agent, {
      version: ticket.version,
    });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().details).toEqual({ currentVersion: before.version });
    expect(await snapshot(ticket.id)).toEqual(before);
    const fresh = await api('POST', `/tickets/${ticket.id}/macros/${escalate.id}/apply`, world.agent, {
      version: before.version,
    });
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json()).toMatchObject({
      priority: 'critical',
      tags: ['escalated'],
      version: before.version + 1,
    });
  });
});
