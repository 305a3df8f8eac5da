import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';
import { openTicket, type TicketWorld, ticketWorld } from './support.js';

let server: TestApp;
let world: TicketWorld;

beforeAll(async () => {
  server = await startTestApp({ ATTACHMENT_MAX_BYTES: '4096' });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
});
afterAll(async () => server?.close());

const upload = (
  who: { auth: Record<string, string> },
  body: Buffer | string,
  fileName: string,
  type = 'text/plain',
) =>
  server.app.inject({
    method: 'POST',
    url: `/api/v1/attachments?fileName=${encodeURIComponent(fileName)}`,
    headers: { ...who.auth, 'content-type': type },
    payload: body,
  });

describe('attachments', () => {
  it('uploads a file, attaches it to a reply and lets the requester download it', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const uploaded = await upload(world.agent, 'log line 1\nlog line 2\n', '../../etc/report.txt');
    expect(uploaded.statusCode).toBe(201);
    const file = uploaded.json();
    expect(file).toMatchObject({ fileName: 'report.txt', contentType: 'text/plain', sizeBytes: 22 });
    expect(file.sha256).toMatch(/^[0-9a-f]{64}$/);

    const reply = await server.app.inject({
      method: 'POST',
      url: `/api/v1/tickets/${ticket.id}/comments`,
      headers: world.agent.auth,
      payload: { body: 'See the log', attachmentIds: [file.id] },
    });
    expect(reply.statusCode).toBe(201);
    expect(reply.json().attachments.map((a: { id: string }) => a.id)).toEqual([file.id]);

    const download = await server.app.inject({
      method: 'GET',
      url: `/api/v1/attachments/${file.id}`,
      headers: world.requester.auth,
    });
    expect(download.statusCode).toBe(200);
    expect(download.body).toBe('log line 1\nlog line 2\n');
    expect(download.headers['content-disposition']).toBe("attachment; filename*=UTF-8''report.txt");
    expect(download.headers['x-content-type-options']).toBe('nosniff');
    const stranger = await server.app.inject({
      method: 'GET',
      url: `/api/v1/attachments/${file.id}`,
      headers: world.requester2.auth,
    });
    expect(stranger.statusCode).toBe(404);
  });

  it('keeps files of internal notes from requesters and refuses someone else’s upload', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const file = (await upload(world.agent, 'secret diagnostics', 'diag.txt')).json();
    const borrowed = await server.app.inject({
      method: 'POST',
      url: `/api/v1/tickets/${ticket.id}/comments`,
      headers: world.agent2.auth,
      payload: { body: 'using a colleague’s upload', attachmentIds: [file.id] },
    });
    expect(borrowed.statusCode).toBe(422);
    const note = await server.app.inject({
      method: 'POST',
      url: `/api/v1/tickets/${ticket.id}/notes`,
      headers: world.agent.auth,
      payload: { body: 'internal diagnostics', attachmentIds: [file.id] },
    });
    expect(note.statusCode).toBe(201);
    expect(
      (
        await server.app.inject({
          method: 'GET',
          url: `/api/v1/attachments/${file.id}`,
          headers: world.requester.auth,
        })
      ).statusCode,
    ).toBe(404);
    expect(
      (
        await server.app.inject({
          method: 'GET',
          url: `/api/v1/attachments/${file.id}`,
          headers: world.agent2.auth,
        })
      ).statusCode,
    ).toBe(200);
  });

  it('answers 413 above the size limit and 422 for an empty file', async () => {
    expect(
      (await upload(world.agent, Buffer.alloc(5000, 1), 'big.bin', 'application/octet-stream')).statusCode,
    ).toBe(413);
    expect((await upload(world.agent, '', 'empty.txt')).statusCode).toBe(422);
  });
});

describe('mention notifications', () => {
  it('notifies a mentioned agent once, after the note commits', async () => {
    const ticket = await openTicket(server.app, world.requester);
    const leadMe = (
      await server.app.inject({ method: 'GET', url: '/api/v1/me', headers: world.lead.auth })
    ).json();
    await server.app.inject({
      method: 'POST',
      url: `/api/v1/tickets/${ticket.id}/notes`,
      headers: world.agent.auth,
      payload: { body: `@${leadMe.user.email} please approve the purchase`, mentions: [world.lead.id] },
    });
    const list = () =>
      server.app
        .inject({ method: 'GET', url: '/api/v1/notifications?unread=true', headers: world.lead.auth })
        .then((r) => r.json());
    await until(async () => (await list()).data.length === 1, 10_000);
    const page = await list();
    expect(page.data[0]).toMatchObject({ kind: 'mention', ticketId: ticket.id, actorId: world.agent.id });
    expect(page.meta.unread).toBe(1);
    const read = await server.app.inject({
      method: 'POST',
      url: `/api/v1/notifications/${page.data[0].id}/read`,
      headers: world.lead.auth,
    });
    expect(read.json()).toEqual({ marked: 1 });
    expect((await list()).data).toEqual([]);
    // The author mentioned nobody else, and nobody is notified about their own words.
    const own = await server.app.inject({
      method: 'GET',
      url: '/api/v1/notifications',
      headers: world.agent.auth,
    });
    expect(own.json().data).toEqual([]);
  });
});
