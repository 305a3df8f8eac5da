import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeS3, startFakeS3 } from '../../src/server/platform/storage/s3rver.fixture.js';
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
    expect(file).toMatchObject({ fileName: 'etc_report.txt', contentType: 'text/plain', sizeBytes: 22 });
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
    expect(download.headers['content-disposition']).toBe(
      `attachment; filename="etc_report.txt"; filename*=UTF-8''etc_report.txt`,
    );
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

describe('attachments in S3', () => {
  let fake: FakeS3;
  let s3Server: TestApp;
  let s3World: TicketWorld;

  beforeAll(async () => {
    fake = await startFakeS3();
    s3Server = await startTestApp({
      S3_BUCKET: fake.bucket,
      S3_ENDPOINT: fake.endpoint,
      S3_ACCESS_KEY_ID: fake.credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: fake.credentials.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      S3_PREFIX: 'switchboard',
      ATTACHMENT_URL_TTL_SECONDS: '120',
    });
    s3World = await ticketWorld(s3Server.app);
  });
  afterAll(async () => {
    await s3Server?.close();
    await fake?.close();
  });

  it('redirects an allowed download to a pre-signed URL and refuses others first', async () => {
    expect(s3Server.platform.storage.driver).toBe('s3');
    const uploaded = await s3Server.app.inject({
      method: 'POST',
      url: `/api/v1/attachments?fileName=${encodeURIComponent('Q3 report.txt')}`,
      headers: { ...s3World.agent.auth, 'content-type': 'text/plain' },
      payload: 'quarterly numbers',
    });
    expect(uploaded.statusCode).toBe(201);
    const file = uploaded.json();

    const download = await s3Server.app.inject({
      method: 'GET',
      url: `/api/v1/attachments/${file.id}`,
      headers: s3World.agent.auth,
    });
    expect(download.statusCode).toBe(302);
    expect(download.headers['cache-control']).toBe('no-store');
    const location = new URL(String(download.headers.location));
    expect(location.origin).toBe(fake.endpoint);
    expect(location.searchParams.get('X-Amz-Expires')).toBe('120');
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(await fetched.text()).toBe('quarterly numbers');
    expect(fetched.headers.get('content-disposition')).toContain("filename*=UTF-8''Q3%20report.txt");

    const stranger = await s3Server.app.inject({
      method: 'GET',
      url: `/api/v1/attachments/${file.id}`,
      headers: s3World.agent2.auth,
    });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.headers.location).toBeUndefined();
  });

  it('reports storage readiness', async () => {
    const ready = await s3Server.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.json().checks.storage).toEqual({ ok: true, detail: 's3' });
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
