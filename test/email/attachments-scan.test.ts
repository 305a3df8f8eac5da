import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTables } from '../../src/server/modules/email/index.js';
import { ticketTables } from '../../src/server/modules/tickets/index.js';
import { type Clamd, EICAR, EICAR_SIGNATURE, startClamd } from '../support/clamd.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';

const run = randomUUID().slice(0, 8);
const customer = `dana-${run}@customer.test`;
const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000d4944415478da63f8cfc0f01f0005000201a5e2b0290000000049454e44ae426082',
  'hex',
);
const HTML_PAGE = Buffer.from(
  '<!DOCTYPE html><html><body><script>fetch("/api/v1/me")</script></body></html>',
);

let clamd: Clamd;
let server: TestApp;
let world: TicketWorld;
let inbox: { id: string; secret: string };
const api = apiClient(() => server.app);

beforeAll(async () => {
  clamd = await startClamd();
  server = await startTestApp({ CLAMD_URL: clamd.url });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  const created = await api('POST', '/admin/mailboxes', world.admin, {
    address: `scan-${run}@support.test`,
    name: 'Support',
    teamId: world.teamId,
    inboundMethod: 'api',
  });
  expect(created.statusCode, created.body).toBe(201);
  inbox = { id: created.json().id, secret: created.json().inboundSecret };
});
afterAll(async () => {
  await server?.close();
  await clamd?.close();
});

/** A raw mail from the customer to the mailbox, as a mail server would deliver it. */
async function rawMail(subject: string, attachments: Mail.Attachment[]): Promise<Buffer> {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
  const info = await composer.sendMail({
    from: customer,
    to: `scan-${run}@support.test`,
    subject,
    text: 'Please have a look at the file.',
    messageId: `<${randomUUID()}@customer.test>`,
    attachments,
  });
  return info.message as Buffer;
}

function deliver(raw: Buffer) {
  return server.app.inject({
    method: 'POST',
    url: `/api/v1/inbound/email/${inbox.id}`,
    headers: { 'content-type': 'message/rfc822', authorization: `Bearer ${inbox.secret}` },
    payload: raw,
  });
}

/** Tickets of the organisation with this title, read past the API. */
function ticketsTitled(title: string) {
  const { tickets } = ticketTables;
  return server.platform.database.transaction((tx) =>
    tx
      .select({ id: tickets.id })
      .from(tickets)
      .where(and(eq(tickets.orgId, world.admin.orgId), eq(tickets.title, title))),
  );
}

function receivedMail() {
  const { emailMessages } = emailTables;
  return server.platform.database.transaction((tx) =>
    tx.select({ id: emailMessages.id }).from(emailMessages).where(eq(emailMessages.orgId, world.admin.orgId)),
  );
}

async function held(id: string) {
  const list = await api('GET', '/admin/email/quarantine?status=held', world.admin);
  expect(list.statusCode, list.body).toBe(200);
  return (list.json().data as Array<{ id: string; reason: string; error: string }>).find(
    (row) => row.id === id,
  );
}

const upload = (body: Buffer | string, fileName: string, type: string) =>
  server.app.inject({
    method: 'POST',
    url: `/api/v1/attachments?fileName=${encodeURIComponent(fileName)}`,
    headers: { ...world.agent.auth, 'content-type': type },
    payload: body,
  });

const download = (id: string) =>
  server.app.inject({ method: 'GET', url: `/api/v1/attachments/${id}`, headers: world.agent.auth });

/** What uploads and mail left behind: attachment rows and stored files of the organisation. */
async function storedAttachments() {
  const { ticketAttachments } = ticketTables;
  const rows = await server.platform.database.transaction((tx) =>
    tx
      .select({ id: ticketAttachments.id })
      .from(ticketAttachments)
      .where(eq(ticketAttachments.orgId, world.admin.orgId)),
  );
  const folder = path.join(server.config.storageDir, 'objects', 'attachments', world.admin.orgId);
  return { rows: rows.length, files: fs.existsSync(folder) ? fs.readdirSync(folder).length : 0 };
}

async function scanCount(result: string): Promise<number> {
  const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = text
    .split('\n')
    .find((row) => row.startsWith(`switchboard_malware_scans_total{driver="clamd",result="${result}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('inbound mail attachments', () => {
  it('quarantines a mail carrying EICAR as infected: no ticket, no message; retry scans again, discard ends it', async () => {
    const before = await storedAttachments();
    const subject = `Invoice ${run}`;
    const answer = await deliver(await rawMail(subject, [{ filename: 'invoice.com', content: EICAR }]));
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toMatchObject({
      status: 'quarantined',
      ticketId: null,
      decision: 'quarantined: infected',
    });
    expect(await ticketsTitled(subject)).toEqual([]);
    expect(await receivedMail()).toEqual([]);
    expect(await storedAttachments()).toEqual(before);

    const row = await held(answer.json().quarantineId);
    expect(row).toMatchObject({
      reason: 'infected',
      error: `Attachment "invoice.com" is infected: ${EICAR_SIGNATURE}`,
    });

    const retried = await api('POST', `/admin/email/quarantine/${row!.id}/retry`, world.admin);
    expect(retried.statusCode, retried.body).toBe(422);
    expect(retried.json().details.error).toContain(EICAR_SIGNATURE);
    expect(await ticketsTitled(subject)).toEqual([]);
    expect(await held(row!.id)).toBeTruthy();

    const discarded = await api('POST', `/admin/email/quarantine/${row!.id}/discard`, world.admin);
    expect(discarded.statusCode, discarded.body).toBe(200);
    expect(discarded.json()).toMatchObject({ status: 'discarded', reason: 'infected' });
  });

  it('ingests a clean mail with a PDF under a safe name and its real type', async () => {
    const subject = `Report ${run}`;
    const answer = await deliver(
      await rawMail(subject, [
        { filename: '../../etc/passwd\r\n.pdf', content: PDF, contentType: 'application/octet-stream' },
      ]),
    );
    expect(answer.statusCode, answer.body).toBe(202);
    expect(answer.json()).toMatchObject({ status: 'created' });
    const ticket = await api('GET', `/tickets/${answer.json().ticketId}`, world.agent);
    const files = ticket
      .json()
      .messages.flatMap((message: { attachments: unknown[] }) => message.attachments);
    expect(files).toMatchObject([
      { fileName: 'etc_passwd.pdf', contentType: 'application/pdf', sizeBytes: PDF.length },
    ]);
  });

  it('quarantines as scan_failed while clamd is down, answers uploads 503, and ingests on retry once it is back', async () => {
    const subject = `Contract ${run}`;
    const failuresBefore = await scanCount('error');
    await clamd.stop();
    let quarantineId: string;
    try {
      const answer = await deliver(await rawMail(subject, [{ filename: 'contract.pdf', content: PDF }]));
      expect(answer.json()).toMatchObject({ status: 'quarantined', decision: 'quarantined: scan_failed' });
      quarantineId = answer.json().quarantineId;
      expect((await held(quarantineId))?.error).toMatch(
        /^Attachment "contract.pdf" was not scanned: .*ECONNREFUSED/,
      );
      expect(await ticketsTitled(subject)).toEqual([]);

      const before = await storedAttachments();
      const uploaded = await upload(PDF, 'contract.pdf', 'application/pdf');
      expect(uploaded.statusCode, uploaded.body).toBe(503);
      expect(uploaded.json()).toMatchObject({ code: 'UNAVAILABLE', statusCode: 503 });
      expect(uploaded.headers['retry-after']).toBe('30');
      expect(await storedAttachments()).toEqual(before);
      expect(await scanCount('error')).toBe(failuresBefore + 2);

      const early = await api('POST', `/admin/email/quarantine/${quarantineId}/retry`, world.admin);
      expect(early.statusCode, early.body).toBe(422);
    } finally {
      await clamd.start();
    }
    const retried = await api('POST', `/admin/email/quarantine/${quarantineId}/retry`, world.admin);
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'created' });
    expect(await ticketsTitled(subject)).toHaveLength(1);
  });
});

describe('uploads', () => {
  it('refuses EICAR with 422 naming the signature and writes nothing', async () => {
    const before = await storedAttachments();
    const answer = await upload(EICAR, 'eicar.com', 'application/octet-stream');
    expect(answer.statusCode, answer.body).toBe(422);
    expect(answer.json()).toMatchObject({
      statusCode: 422,
      code: 'UNPROCESSABLE',
      message: `The file contains malware (${EICAR_SIGNATURE}) and was not kept`,
      details: { signature: EICAR_SIGNATURE },
    });
    expect(answer.json().requestId).toBeTruthy();
    expect(await storedAttachments()).toEqual(before);
  });

  it('keeps a clean file', async () => {
    const answer = await upload('log line 1\n', 'app.log', 'text/plain');
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json()).toMatchObject({ fileName: 'app.log', contentType: 'text/plain' });
  });

  it('stores an HTML page declared as PNG as text/html and serves it as a sandboxed download', async () => {
    const answer = await upload(HTML_PAGE, 'cat.png', 'image/png');
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json()).toMatchObject({ fileName: 'cat.png', contentType: 'text/html' });
    const file = await download(answer.json().id);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toMatch(/^text\/html/);
    expect(file.headers['content-disposition']).toBe(
      `attachment; filename="cat.png"; filename*=UTF-8''cat.png`,
    );
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.headers['content-security-policy']).toMatch(/(^|;\s*)sandbox(;|$)/);
    expect(file.body).toBe(HTML_PAGE.toString());
  });

  it('shows a real PNG inline, still without sniffing or scripts', async () => {
    const answer = await upload(PNG, 'shot.png', 'application/octet-stream');
    expect(answer.json()).toMatchObject({ contentType: 'image/png' });
    const file = await download(answer.json().id);
    expect(file.headers['content-type']).toBe('image/png');
    expect(file.headers['content-disposition']).toBe(
      `inline; filename="shot.png"; filename*=UTF-8''shot.png`,
    );
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.headers['content-security-policy']).toMatch(/sandbox/);
  });

  it('gives a name with path parts and line breaks back safe', async () => {
    const answer = await upload(PDF, '../../etc/passwd\r\n.pdf', 'application/pdf');
    expect(answer.statusCode, answer.body).toBe(201);
    expect(answer.json().fileName).toBe('etc_passwd.pdf');
    const file = await download(answer.json().id);
    expect(file.headers['content-disposition']).toBe(
      `attachment; filename="etc_passwd.pdf"; filename*=UTF-8''etc_passwd.pdf`,
    );
  });
});
