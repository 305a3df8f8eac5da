import { randomInt } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monthOf, SearchMonths } from '../../src/server/modules/tickets/search-months.js';
import { rowsOf } from '../../src/server/platform/db/migrations.js';
import { PASSWORD, signupOrg, startTestApp, type TestApp, uniqueEmail } from '../support/harness.js';
import { apiClient, openTicket, type TicketWorld, ticketWorld, type Who } from './support.js';

let server: TestApp;
let world: TicketWorld;

beforeAll(async () => {
  server = await startTestApp();
  world = await ticketWorld(server.app);
  // As a worker does at start: every search here reads the newest months through their indexes.
  await new SearchMonths(server.platform.database).maintain();
});
afterAll(async () => server?.close());

type Hit = { id: string; search: { rank: number; snippet: string; matchedIn: string } } & Record<
  string,
  unknown
>;

const api = apiClient(() => server.app);

/** A made-up word no other test uses (letters only, so the stemmer leaves it whole). */
const word = (stem: string) =>
  stem + Array.from({ length: 6 }, () => String.fromCharCode(97 + randomInt(26))).join('');

async function search(who: Who, q: string, extra = ''): Promise<Hit[]> {
  const response = await api('GET', `/tickets?q=${encodeURIComponent(q)}&limit=100${extra}`, who);
  if (response.statusCode !== 200) throw new Error(`search ${q}: ${response.statusCode} ${response.body}`);
  return response.json().data;
}

const ids = (hits: readonly Hit[]) => hits.map((hit) => hit.id);

async function post(who: Who, url: string, payload: unknown) {
  const response = await api('POST', url, who, payload);
  if (response.statusCode >= 300) throw new Error(`${url}: ${response.statusCode} ${response.body}`);
  return response.json();
}

describe('ticket search', () => {
  it('finds words in the title, the description and message bodies, and says where', async () => {
    const [inTitle, inDescription, inReply] = [word('tit'), word('des'), word('rep')];
    const a = await openTicket(server.app, world.requester, { title: `Laptop ${inTitle} broken` });
    const b = await openTicket(server.app, world.requester, {
      title: 'Laptop',
      description: `It ${inDescription}.`,
    });
    const c = await openTicket(server.app, world.requester, { title: 'Laptop', description: 'No details' });
    await post(world.admin, `/tickets/${c.id}/comments`, { body: `Please check ${inReply} first` });

    const [byTitle] = await search(world.admin, inTitle);
    expect(byTitle).toMatchObject({ id: a.id, search: { matchedIn: 'title' } });
    const [byDescription] = await search(world.admin, inDescription);
    expect(byDescription).toMatchObject({ id: b.id, search: { matchedIn: 'description' } });
    const [byReply, ...rest] = await search(world.requester, inReply);
    expect(byReply).toMatchObject({ id: c.id, search: { matchedIn: 'message' } });
    expect(byReply!.search.snippet).toContain(`<mark>${inReply}</mark>`);
    expect(rest).toEqual([]);
  });

  it('takes web-search syntax: quoted phrases, -exclusions and or', async () => {
    const [first, second, other] = [word('alp'), word('bet'), word('gam')];
    const phrase = await openTicket(server.app, world.agent, { title: `${first} ${second} adapter` });
    const reversed = await openTicket(server.app, world.agent, { title: `${second} then ${first}` });
    const third = await openTicket(server.app, world.agent, { title: `${other} cable` });

    expect(ids(await search(world.admin, `"${first} ${second}"`))).toEqual([phrase.id]);
    expect(new Set(ids(await search(world.admin, `${first} ${second}`)))).toEqual(
      new Set([phrase.id, reversed.id]),
    );
    expect(ids(await search(world.admin, `${first} -adapter`))).toEqual([reversed.id]);
    expect(new Set(ids(await search(world.admin, `${other} or ${first}`)))).toEqual(
      new Set([phrase.id, reversed.id, third.id]),
    );
  });

  it('ranks a title hit above a description hit above a message-only hit', async () => {
    const term = word('ran');
    const byMessage = await openTicket(server.app, world.agent, { title: 'Monitor flickers' });
    await post(world.admin, `/tickets/${byMessage.id}/comments`, { body: `${term} ${term} ${term} again` });
    const byDescription = await openTicket(server.app, world.agent, {
      title: 'Monitor dark',
      description: `The ${term} is dead`,
    });
    const byTitle = await openTicket(server.app, world.agent, { title: `${term} monitor` });

    const hits = await search(world.admin, term);
    expect(ids(hits)).toEqual([byTitle.id, byDescription.id, byMessage.id]);
    expect(hits.map((hit) => hit.search.matchedIn)).toEqual(['title', 'description', 'message']);
    const ranks = hits.map((hit) => hit.search.rank);
    expect(ranks[0]).toBeGreaterThan(ranks[1]!);
    expect(ranks[1]).toBeGreaterThan(ranks[2]!);
  });

  it('marks the word in the snippet and never returns markup from the content', async () => {
    const term = word('sni');
    const ticket = await openTicket(server.app, world.requester, {
      title: 'Browser',
      description: `<script>alert(1)</script> the ${term} is 5 < 6 & "quoted" <b>bold</b>`,
    });
    await post(world.admin, `/tickets/${ticket.id}/comments`, {
      body: `<img src=x onerror=alert(2)> ${term}`,
    });

    for (const who of [world.admin, world.requester]) {
      const [hit] = await search(who, term);
      expect(hit!.id).toBe(ticket.id);
      const { snippet } = hit!.search;
      expect(snippet).toContain(`<mark>${term}</mark>`);
      expect(snippet).toContain('5 &lt; 6 &amp; &quot;quoted&quot;');
      expect(snippet).not.toContain('<script');
      expect(snippet.replaceAll('<mark>', '').replaceAll('</mark>', '')).not.toMatch(/[<>]/);
    }
    const [inMessage] = await search(world.admin, `${term} onerror`);
    expect(inMessage!.search.matchedIn).toBe('message');
    expect(inMessage!.search.snippet.replaceAll('<mark>', '').replaceAll('</mark>', '')).not.toMatch(/[<>]/);

    // Hits by number (and requester, typo) show the title, escaped.
    const markup = await openTicket(server.app, world.requester, {
      title: `<i>${term}</i> & <script>x</script>`,
    });
    const [byNumber] = await search(world.requester, markup.number);
    expect(byNumber!.search).toMatchObject({
      matchedIn: 'number',
      snippet: `&lt;i&gt;${term}&lt;/i&gt; &amp; &lt;script&gt;x&lt;/script&gt;`,
    });
  });

  it('finds a word of an internal note for agents, never for the requester', async () => {
    const [secret, shared] = [word('sec'), word('sha')];
    const ticket = await openTicket(server.app, world.requester, { title: 'Mailbox full' });
    await post(world.agent, `/tickets/${ticket.id}/notes`, {
      body: `${shared} ${shared} ${secret} is the cause`,
    });
    await post(world.agent, `/tickets/${ticket.id}/comments`, { body: `About ${shared}: we are on it` });

    const [byAgent] = await search(world.agent, secret);
    expect(byAgent).toMatchObject({ id: ticket.id, search: { matchedIn: 'note' } });
    expect(await search(world.requester, secret)).toEqual([]);
    expect(await search(world.requester, `${secret} or ${shared}`)).toHaveLength(1);

    // The note ranks higher for the shared word, so an agent's snippet comes from it.
    const [agentHit] = await search(world.agent, shared);
    expect(agentHit!.search).toMatchObject({ matchedIn: 'note' });
    expect(agentHit!.search.snippet).toContain(secret);
    const requesterView = await search(world.requester, shared);
    expect(requesterView).toHaveLength(1);
    expect(requesterView[0]!.search.matchedIn).toBe('message');
    expect(JSON.stringify(requesterView)).not.toContain(secret);
  });

  it('finds a match of any age: the indexed months newest first, then every older or later ticket', async () => {
    const term = word('mon');
    const now = new Date();
    const created = [0, -1, -2, -7, 1].map(
      (offset) => new Date(monthOf(now, offset).from.getTime() + 3_600_000),
    );
    const opened = [];
    for (const at of created) {
      const ticket = await openTicket(server.app, world.agent, { title: `Dock ${term}` });
      await server.platform.database.db.execute(
        sql`update tickets set created_at = ${at.toISOString()}::timestamptz where id = ${ticket.id}::uuid`,
      );
      opened.push(ticket.id);
    }
    expect(new Set(ids(await search(world.admin, term)))).toEqual(new Set(opened));
    expect(ids(await search(world.admin, term, '&sort=-createdAt'))).toEqual([
      opened[4],
      opened[0],
      opened[1],
      opened[2],
      opened[3],
    ]);
  });

  it('finds tickets by the requester’s name or e-mail', async () => {
    const surname = word('Quist');
    const email = uniqueEmail(surname.toLowerCase());
    const user = await post(world.admin, '/admin/users', {
      email,
      name: `Zenobia ${surname}`,
      role: 'requester',
      password: PASSWORD,
    });
    const ticket = await openTicket(server.app, world.agent, { title: 'Keyboard', requesterId: user.id });

    for (const q of [surname, surname.toUpperCase(), email, email.split('@')[0]!]) {
      const hits = await search(world.admin, q);
      expect(ids(hits), q).toEqual([ticket.id]);
      expect(hits[0]!.search.matchedIn).toBe('requester');
    }
  });

  it('looks requesters up through the trigram indexes, under row-level security, even among 1,500 users', async () => {
    const { database } = server.platform;
    await database.db.execute(sql`insert into users (id, org_id, email, name, role)
      select gen_random_uuid(), ${world.admin.orgId}::uuid, 'bulk.' || n || '@customer.example', 'Customer ' || n, 'requester'
      from generate_series(1, 1500) as n`);
    // As autovacuum would after such an import: GIN keeps its statistics in its metapage,
    // which VACUUM updates; without them the planner prices the index as if empty.
    await database.db.execute(sql`vacuum analyze users`);
    const plan = await database.withOrg(world.admin.orgId, async (tx) => {
      const result = await tx.execute(
        sql`explain select id from users where org_id = ${world.admin.orgId}::uuid and (email ilike '%zenobia%' or name ilike '%zenobia%')`,
      );
      return rowsOf<{ 'QUERY PLAN': string }>(result)
        .map((row) => row['QUERY PLAN'])
        .join('\n');
    });
    expect(plan).toContain('users_name_trgm_idx');
    expect(plan).toContain('users_email_trgm_idx');
  });

  it('puts the ticket with that number first', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Docking station' });
    const hits = await search(world.requester, ticket.number.toLowerCase());
    expect(hits[0]).toMatchObject({ id: ticket.id, search: { matchedIn: 'number' } });
  });

  it('tolerates a typo through title trigrams', async () => {
    const ticket = await openTicket(server.app, world.requester, { title: 'Printer on floor 3 is jammed' });
    const hits = await search(world.requester, 'pritner');
    const hit = hits.find((candidate) => candidate.id === ticket.id);
    expect(hit?.search.matchedIn).toBe('fuzzy');
    expect(hit?.search.snippet).toBe('Printer on floor 3 is jammed');
  });

  it('adds typo matches only while fewer than five exact hits survive, on any page size', async () => {
    const exact = word('zorb');
    const similar = await openTicket(server.app, world.agent, { title: `${exact}x` });
    const exactIds: string[] = [];
    for (let n = 0; n < 4; n += 1)
      exactIds.push((await openTicket(server.app, world.agent, { title: `Cable ${exact}` })).id);
    // Every hit, two at a time (a page of two cannot tell how many exact hits there are).
    const walk = async (limit: number) => {
      const seen: string[] = [];
      let cursor = '';
      do {
        const response = await api('GET', `/tickets?q=${exact}&limit=${limit}${cursor}`, world.admin);
        expect(response.statusCode).toBe(200);
        const body = response.json() as { data: Hit[]; meta: { nextCursor: string | null } };
        seen.push(...ids(body.data));
        cursor = body.meta.nextCursor ? `&cursor=${body.meta.nextCursor}` : '';
      } while (cursor);
      return seen;
    };

    const four = await search(world.admin, exact);
    expect(new Set(ids(four))).toEqual(new Set([...exactIds, similar.id]));
    expect(four.at(-1)).toMatchObject({ id: similar.id, search: { matchedIn: 'fuzzy' } });
    expect(await walk(2)).toEqual(ids(four));

    exactIds.push((await openTicket(server.app, world.agent, { title: `Cable ${exact}` })).id);
    const five = await search(world.admin, exact);
    expect(new Set(ids(five))).toEqual(new Set(exactIds));
    expect(await walk(2)).toEqual(ids(five));
  });

  it('combines with status and team filters, and with other sorts', async () => {
    const term = word('fil');
    const inTeam = await openTicket(server.app, world.agent, { title: `${term} one`, teamId: world.teamId });
    const otherTeam = await openTicket(server.app, world.agent, {
      title: `${term} two`,
      teamId: world.otherTeamId,
    });
    const resolved = await openTicket(server.app, world.agent, {
      title: `${term} three`,
      teamId: world.teamId,
    });
    await post(world.agent, `/tickets/${resolved.id}/status`, { status: 'resolved' });

    expect(ids(await search(world.admin, term, `&team=${world.teamId}&status=new`))).toEqual([inTeam.id]);
    expect(ids(await search(world.admin, term, '&status=resolved'))).toEqual([resolved.id]);
    expect(new Set(ids(await search(world.admin, term, `&team=${world.otherTeamId}`)))).toEqual(
      new Set([otherTeam.id]),
    );
    // The outside agent sees the other team's ticket and untriaged ones, not the first team's.
    expect(ids(await search(world.outsider, term))).toEqual([otherTeam.id]);

    const newestFirst = await search(world.admin, term, '&sort=-createdAt');
    expect(ids(newestFirst)).toEqual([resolved.id, otherTeam.id, inTeam.id]);
    expect(newestFirst.every((hit) => hit.search.matchedIn === 'title')).toBe(true);
  });

  it('pages relevance results with the cursor, each ticket once', async () => {
    const term = word('pag');
    const created: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      const payload =
        index % 3 === 0
          ? { title: `${term} case ${index}` }
          : { title: `Case ${index}`, description: index % 3 === 1 ? `${term}` : `${term} ${term}` };
      created.push((await openTicket(server.app, world.agent, payload)).id);
    }
    const seen: Hit[] = [];
    let url = `/api/v1/tickets?q=${term}&limit=2`;
    for (let page = 0; page < 10; page += 1) {
      const body = (await server.app.inject({ method: 'GET', url, headers: world.admin.auth })).json();
      seen.push(...body.data);
      if (!body.meta.nextCursor) break;
      url = body.links.next;
    }
    expect(ids(seen)).toHaveLength(7);
    expect(new Set(ids(seen))).toEqual(new Set(created));
    const ranks = seen.map((hit) => hit.search.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));

    const byOffset = (await api('GET', `/tickets?q=${term}&limit=3&page=3`, world.admin)).json();
    expect(ids(byOffset.data)).toEqual(ids(seen.slice(6)));
  });

  it('never shows another organisation’s tickets', async () => {
    const term = word('org');
    const signedUp = await signupOrg(server.app);
    const other = { id: signedUp.adminId, auth: signedUp.auth };
    const theirs = await openTicket(server.app, other, { title: `${term} theirs` });
    const ours = await openTicket(server.app, world.agent, { title: `${term} ours` });
    expect(ids(await search(world.admin, term))).toEqual([ours.id]);
    expect(ids(await search(other, term))).toEqual([theirs.id]);
    expect(await search(world.admin, theirs.number)).not.toContainEqual(
      expect.objectContaining({ id: theirs.id }),
    );
  });

  it('answers 200 to SQL metacharacters, markup and stray operators in q', async () => {
    const queries = [
      `'; drop table tickets; --`,
      '<script>alert(1)</script>',
      '%_\\',
      '"unterminated',
      'a & b | !c',
      '(( ))',
      'word:*',
      '-',
      'or',
      'the',
      '$1 $$ {{q}} \\',
      'x'.repeat(500),
      'nul\u0000byte \u0007bell',
    ];
    for (const q of queries) {
      const response = await api('GET', `/tickets?q=${encodeURIComponent(q)}`, world.requester);
      expect(response.statusCode, q).toBe(200);
    }
    const listed = await api('GET', '/tickets?limit=1', world.admin);
    expect(listed.statusCode).toBe(200);
  });
});
