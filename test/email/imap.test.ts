import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INLINE_RAW_MAX_BYTES } from '../../src/server/modules/email/inbound.service.js';
import { emailTables } from '../../src/server/modules/email/index.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';
import {
  flagsOf,
  ingested,
  mailboxApi,
  messageIdsIn,
  metricValue,
  rawMail,
  receivedMail,
} from './imap-support.js';

const run = randomUUID().slice(0, 8);
const domain = `imap-${run}.test`;
const carol = `carol-${run}@customer.test`;
const PASSWORD = `pw-${run}`;
const accounts = ['support', 'moves', 'poison', 'other', 'broken', 'renumber', 'switch', 'outage', 'private'];

let dovecot: Dovecot;
let server: TestApp;
let world: TicketWorld;
const api = apiClient(() => server.app);
const mailboxes = mailboxApi(
  () => server.app,
  () => world.admin,
);

/** Settings of a mailbox reading the Dovecot account `user`. */
const imapOf = (user: string, extra: Record<string, unknown> = {}) => ({
  host: dovecot.host,
  port: dovecot.port,
  tls: 'none',
  username: user,
  password: PASSWORD,
  ...extra,
});

function createMailbox(
  user: string,
  extra: Record<string, unknown> = {},
  imap: Record<string, unknown> = {},
) {
  return mailboxes.create({
    address: `${user}@${domain}`,
    name: user,
    teamId: world.teamId,
    inboundMethod: 'imap',
    imap: imapOf(user, imap),
    ...extra,
  });
}

const append = (user: string, raw: string, folder = 'INBOX') => dovecot.append(user, PASSWORD, folder, raw);

function mailTo(user: string, label: string, extra: Partial<Parameters<typeof rawMail>[0]> = {}) {
  const messageId = `<${label}-${run}@customer.test>`;
  return {
    messageId,
    raw: rawMail({
      from: `Carol Customer <${carol}>`,
      to: `${user}@${domain}`,
      subject: `About ${label}`,
      body: `Text of ${label}.`,
      messageId,
      ...extra,
    }),
  };
}

beforeAll(async () => {
  dovecot = await startDovecot({ users: Object.fromEntries(accounts.map((user) => [user, PASSWORD])) });
  server = await startTestApp({
    MAIL_REPLY_SECRET: `imap-test-secret-${run}-0123456789abcdef`,
    IMAP_RECONCILE_INTERVAL_MS: '200',
  });
  await startWorkers(server.platform);
  world = await ticketWorld(server.app);
  await server.domain.email.imap.start();
});
afterAll(async () => {
  await server?.domain.email.imap.stop();
  await server?.close();
  await dovecot?.stop();
});

describe('IMAP mailbox settings', () => {
  it('stores secrets sealed and never answers them', async () => {
    const secret = `never-shown-${run}`;
    const created = await mailboxes.create({
      address: `settings@${domain}`,
      name: 'Settings',
      inboundMethod: 'api',
      imap: {
        host: 'imap.example.test',
        username: 'settings',
        auth: 'xoauth2',
        tokenUrl: 'https://oauth2.example.test/token',
        clientId: 'client',
        clientSecret: secret,
        refreshToken: `${secret}-refresh`,
      },
    });
    expect(created.imap).toMatchObject({
      host: 'imap.example.test',
      port: 993,
      tls: 'tls',
      auth: 'xoauth2',
      hasPassword: false,
      hasClientSecret: true,
      hasRefreshToken: true,
      folder: 'INBOX',
      processed: 'flag',
      pollIntervalSeconds: 60,
      status: { state: 'stopped' },
    });
    const answers = [
      JSON.stringify(created),
      (await api('GET', `/admin/mailboxes/${created.id}`, world.admin)).body,
      (await api('GET', '/admin/mailboxes', world.admin)).body,
    ];
    for (const body of answers) expect(body).not.toContain(secret);
    const [row] = await server.platform.database.transaction((tx) =>
      tx
        .select()
        .from(emailTables.mailboxImapSettings)
        .where(eq(emailTables.mailboxImapSettings.mailboxId, created.id)),
    );
    expect(row!.clientSecretSealed).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(secret);

    // Changing other fields keeps the secrets; null clears one.
    const changed = await api('PATCH', `/admin/mailboxes/${created.id}`, world.admin, {
      imap: { folder: 'Support', clientSecret: null },
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().imap).toMatchObject({
      folder: 'Support',
      hasClientSecret: false,
      hasRefreshToken: true,
    });
  });

  it('rejects bad settings with 422 naming the field, and writes nothing', async () => {
    const before = (await api('GET', '/admin/mailboxes', world.admin)).json().data.length;
    const bad = async (imap: Record<string, unknown> | undefined, field: string) => {
      const response = await api('POST', '/admin/mailboxes', world.admin, {
        address: `bad-${randomUUID().slice(0, 6)}@${domain}`,
        name: 'Bad',
        inboundMethod: 'imap',
        ...(imap ? { imap } : {}),
      });
      expect(response.statusCode, response.body).toBe(422);
      expect(response.json().details).toHaveProperty([field]);
    };
    const good = { host: 'imap.example.test', username: 'u', password: 'p' };
    await bad(undefined, 'imap');
    await bad({ ...good, host: 'imaps://imap.example.test' }, 'imap.host');
    await bad({ ...good, port: 70_000 }, 'imap.port');
    await bad({ ...good, tls: 'ssl' }, 'imap.tls');
    await bad({ ...good, password: undefined }, 'imap.password');
    await bad({ ...good, auth: 'xoauth2', tokenUrl: 'http://oauth.example.test/token' }, 'imap.tokenUrl');
    await bad(
      { ...good, auth: 'xoauth2', tokenUrl: 'https://oauth.example.test/token' },
      'imap.refreshToken',
    );
    await bad({ ...good, processed: 'move' }, 'imap.processedFolder');
    await bad({ ...good, processed: 'move', processedFolder: 'INBOX' }, 'imap.processedFolder');
    await bad({ ...good, pollIntervalSeconds: 1 }, 'imap.pollIntervalSeconds');
    expect((await api('GET', '/admin/mailboxes', world.admin)).json().data).toHaveLength(before);

    const plain = await mailboxes.create({ address: `plain-${run}@${domain}`, name: 'Plain' });
    const switched = await api('PATCH', `/admin/mailboxes/${plain.id}`, world.admin, {
      inboundMethod: 'imap',
    });
    expect(switched.statusCode, switched.body).toBe(422);
    expect((await mailboxes.read(plain.id)).inboundMethod).toBe('api');
    expect((await api('GET', '/admin/mailboxes', world.agent)).statusCode).toBe(403);
  });
});

describe('reading a mailbox over IMAP', () => {
  let support: { id: string };
  let firstTicketId: string;

  it('turns mail appended to INBOX into a ticket within seconds, and flags it', async () => {
    support = await createMailbox('support');
    await mailboxes.status(support.id, 'idle');
    const mail = mailTo('support', 'first');
    const uid = await append('support', mail.raw);
    const row = await ingested(server.platform, mail.messageId, 10_000);
    expect(row).toMatchObject({ direction: 'in', decision: 'new ticket', mailboxId: support.id });
    firstTicketId = row.ticketId!;
    const ticket = (await api('GET', `/tickets/${firstTicketId}`, world.agent)).json();
    expect(ticket).toMatchObject({ title: 'About first', channel: 'email', team: { id: world.teamId } });
    expect(ticket.requester).toMatchObject({ name: 'Carol Customer' });

    await until(async () => {
      const flags = await flagsOf(dovecot, 'support', PASSWORD, 'INBOX', uid);
      return flags?.includes('\\Seen') && flags.includes('$Switchboard');
    });
    const status = await mailboxes.status(support.id, 'idle', (s) => s.folders[0]?.lastUid === uid);
    expect(status.folders).toMatchObject([{ folder: 'INBOX', lastUid: uid }]);
    expect(status.lastPollAt).toBeTruthy();
    expect(await metricValue(server.app, 'switchboard_imap_messages_total', { mailbox: support.id })).toBe(1);
  });

  it('threads a reply onto its ticket', async () => {
    const reply = mailTo('support', 'reply', {
      subject: 'Re: About first',
      body: 'Any news?\r\n\r\nOn Monday Carol wrote:\r\n> Text of first.',
      inReplyTo: `<first-${run}@customer.test>`,
    });
    await append('support', reply.raw);
    const row = await ingested(server.platform, reply.messageId);
    expect(row).toMatchObject({
      ticketId: firstTicketId,
      decision: `matched In-Reply-To <first-${run}@customer.test>`,
    });
    const ticket = (await api('GET', `/tickets/${firstTicketId}`, world.agent)).json();
    expect(ticket.messages.map((message: { body: string }) => message.body)).toContain('Any news?');
  });

  it('resumes after a restart from the last UID and picks up what arrived meanwhile', async () => {
    const pollers = server.domain.email.imap;
    await pollers.stop();
    const whileDown = mailTo('support', 'while-down');
    const uid = await append('support', whileDown.raw);
    expect(await receivedMail(server.platform, whileDown.messageId)).toBeUndefined();
    await pollers.start();
    await ingested(server.platform, whileDown.messageId);
    await mailboxes.status(support.id, 'idle', (s) => s.folders[0]?.lastUid === uid);
    // Nothing read before the restart was fetched and ingested again.
    expect(
      await metricValue(server.app, 'switchboard_imap_messages_total', {
        mailbox: support.id,
        result: 'duplicate',
      }),
    ).toBe(0);
    expect(await metricValue(server.app, 'switchboard_imap_messages_total', { mailbox: support.id })).toBe(3);
  });

  it('moves processed mail to the configured folder', async () => {
    const moves = await createMailbox('moves', {}, { processed: 'move', processedFolder: 'Done' });
    await mailboxes.status(moves.id, 'idle');
    const mail = mailTo('moves', 'moved');
    await append('moves', mail.raw);
    await ingested(server.platform, mail.messageId);
    await until(async () =>
      (await messageIdsIn(dovecot, 'moves', PASSWORD, 'Done')).includes(mail.messageId),
    );
    expect(await messageIdsIn(dovecot, 'moves', PASSWORD, 'INBOX')).not.toContain(mail.messageId);
  });

  it('quarantines a poison mail and still takes the next one', async () => {
    const poison = await createMailbox('poison');
    await mailboxes.status(poison.id, 'idle');
    await append('poison', 'this is not an e-mail at all\r\n');
    const next = mailTo('poison', 'after-poison');
    await append('poison', next.raw);
    await ingested(server.platform, next.messageId);
    const held = (await api('GET', '/admin/email/quarantine?status=held', world.admin)).json().data;
    expect(held).toContainEqual(
      expect.objectContaining({ mailboxId: poison.id, reason: 'unparseable', via: 'imap' }),
    );
  });

  it('shows an error for a mailbox with a wrong password while another keeps working', async () => {
    const broken = await createMailbox('broken', {}, { password: 'wrong password' });
    const status = await mailboxes.status(broken.id, 'error');
    expect(status.lastError).toMatch(/Authentication failed/);
    const other = await createMailbox('other');
    await mailboxes.status(other.id, 'idle');
    const mail = mailTo('other', 'beside-broken');
    await append('other', mail.raw);
    await ingested(server.platform, mail.messageId);
    expect((await mailboxes.read(broken.id)).imap.status.state).toBe('error');
    expect(
      await metricValue(server.app, 'switchboard_imap_errors_total', { mailbox: broken.id }),
    ).toBeGreaterThan(0);

    // Fixing the password restarts the poller with the new settings.
    const fixed = await api('PATCH', `/admin/mailboxes/${broken.id}`, world.admin, {
      imap: { password: PASSWORD },
    });
    expect(fixed.statusCode, fixed.body).toBe(200);
    await mailboxes.status(broken.id, 'idle');
  });

  it('leaves mail unmarked when the pipeline itself fails, and ingests it once that recovers', async () => {
    const outage = await createMailbox('outage');
    await mailboxes.status(outage.id, 'idle');
    // The file store breaks: neither the mail nor its quarantine copy can be written. The
    // mail is larger than what is kept in the database, so its original goes to the files.
    const emailDir = path.join(server.config.storageDir, 'objects', 'email');
    const aside = `${emailDir}.aside`;
    fs.mkdirSync(emailDir, { recursive: true });
    fs.renameSync(emailDir, aside);
    fs.writeFileSync(emailDir, 'not a folder');
    const mail = mailTo('outage', 'during-outage', {
      body: 'A long log line of the failing job.\r\n'.repeat(Math.ceil(INLINE_RAW_MAX_BYTES / 30)),
    });
    let uid: number;
    try {
      uid = await append('outage', mail.raw);
      const status = await mailboxes.status(outage.id, 'error');
      expect(status.lastError).toBeTruthy();
      expect(await receivedMail(server.platform, mail.messageId)).toBeUndefined();
      expect(await flagsOf(dovecot, 'outage', PASSWORD, 'INBOX', uid)).not.toContain('$Switchboard');
    } finally {
      fs.rmSync(emailDir);
      fs.renameSync(aside, emailDir);
    }
    await ingested(server.platform, mail.messageId, 20_000);
    await until(async () =>
      (await flagsOf(dovecot, 'outage', PASSWORD, 'INBOX', uid))?.includes('$Switchboard'),
    );
    await mailboxes.status(outage.id, 'idle');
  });

  it('reads a renumbered folder again (UIDVALIDITY changed) without duplicates', async () => {
    // Deleting the folder under an idling client announces nothing: the next poll finds it.
    const first = mailTo('renumber', 'before-renumber');
    await append('renumber', first.raw, 'Support');
    // Unread mail already in the folder is read on the first connection.
    const renumber = await createMailbox('renumber', {}, { folder: 'Support', pollIntervalSeconds: 5 });
    await ingested(server.platform, first.messageId);
    const before = await mailboxes.status(renumber.id, 'idle', (s) => s.folders[0]?.lastUid === 1);

    const client = await dovecot.connect('renumber', PASSWORD);
    await client.mailboxDelete('Support');
    await client.logout();
    const again = mailTo('renumber', 'after-renumber');
    await append('renumber', first.raw, 'Support');
    await append('renumber', again.raw, 'Support');
    await ingested(server.platform, again.messageId, 20_000);
    const after = await mailboxes.status(
      renumber.id,
      'idle',
      (s) => s.folders[0]?.uidValidity !== before.folders[0]!.uidValidity && s.folders[0]?.lastUid === 2,
    );
    expect(after.folders[0]!.lastUid).toBe(2);
    expect(
      await metricValue(server.app, 'switchboard_imap_messages_total', {
        mailbox: renumber.id,
        result: 'duplicate',
      }),
    ).toBe(1);
  });

  it('stops polling a mailbox switched to another method or deleted, and starts it again', async () => {
    const mailbox = await createMailbox('switch');
    await mailboxes.status(mailbox.id, 'idle');
    const pollers = server.domain.email.imap;
    const off = await api('PATCH', `/admin/mailboxes/${mailbox.id}`, world.admin, { inboundMethod: 'smtp' });
    expect(off.statusCode, off.body).toBe(200);
    await until(() => !pollers.polled().includes(mailbox.id));
    expect((await mailboxes.read(mailbox.id)).imap.status.state).toBe('stopped');
    const ignored = mailTo('switch', 'while-smtp');
    const uid = await append('switch', ignored.raw);

    const on = await api('PATCH', `/admin/mailboxes/${mailbox.id}`, world.admin, { inboundMethod: 'imap' });
    expect(on.statusCode, on.body).toBe(200);
    // Mail that came while another method was in use is read when IMAP is switched back on.
    await ingested(server.platform, ignored.messageId);
    await mailboxes.status(mailbox.id, 'idle', (s) => s.folders[0]?.lastUid === uid);

    expect((await api('DELETE', `/admin/mailboxes/${mailbox.id}`, world.admin)).statusCode).toBe(204);
    await until(() => !pollers.polled().includes(mailbox.id));
  });
});

describe('a metadata-only mailbox', () => {
  it('keeps headers and threading but no body, and reads the original from the mailbox when opened', async () => {
    const mailbox = await createMailbox(
      'private',
      { metadataOnly: true },
      { processed: 'move', processedFolder: 'Done' },
    );
    await mailboxes.status(mailbox.id, 'idle');
    const first = mailTo('private', 'private-first', {
      subject: 'Salary question',
      body: 'My salary is 1234 a month.',
    });
    await append('private', first.raw);
    const opened = await ingested(server.platform, first.messageId);
    const secret = `Attached figures ${run}`;
    const reply = mailTo('private', 'private-reply', {
      subject: 'Re: Salary question',
      inReplyTo: first.messageId,
      body: '',
    });
    const multipart = reply.raw.replace(
      'Content-Type: text/plain; charset=utf-8\r\n\r\n\r\n',
      [
        'Content-Type: multipart/mixed; boundary="b1"',
        '',
        '--b1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'The numbers are attached.',
        '--b1',
        'Content-Type: text/plain; name="figures.txt"',
        'Content-Disposition: attachment; filename="figures.txt"',
        '',
        secret,
        '--b1--',
        '',
      ].join('\r\n'),
    );
    expect(multipart).toContain('boundary="b1"');
    await append('private', multipart);
    const row = await ingested(server.platform, reply.messageId);
    expect(row).toMatchObject({ ticketId: opened.ticketId, rawStorageKey: null, contentInMailbox: true });
    expect(opened).toMatchObject({ rawStorageKey: null, contentInMailbox: true });

    const ticket = (await api('GET', `/tickets/${row.ticketId}`, world.agent)).json();
    expect(ticket.title).toBe('Salary question');
    expect(JSON.stringify(ticket)).not.toContain('1234');
    expect(JSON.stringify(ticket)).not.toContain('The numbers are attached');
    const message = ticket.messages.find((candidate: { id: string }) => candidate.id === row.ticketMessageId);
    expect(message.body).toContain('keeps only the metadata');
    expect(message.attachments).toEqual([]);
    expect(message.email).toMatchObject({ messageId: reply.messageId, hasRaw: true, html: null });

    // Processed mail was moved: it is read from the processed folder, handed on, not kept.
    await until(async () =>
      (await messageIdsIn(dovecot, 'private', PASSWORD, 'Done')).includes(reply.messageId),
    );
    const raw = await api('GET', `/tickets/${row.ticketId}/messages/${row.ticketMessageId}/raw`, world.agent);
    expect(raw.statusCode, raw.body).toBe(200);
    expect(raw.headers['content-type']).toContain('message/rfc822');
    expect(raw.body).toContain('The numbers are attached.');
    expect(raw.body).toContain(secret);
    expect((await receivedMail(server.platform, reply.messageId))?.rawStorageKey).toBeNull();

    // Gone from the mailbox: nothing to show.
    const client = await dovecot.connect('private', PASSWORD);
    await client.mailboxDelete('Done');
    await client.logout();
    const gone = await api(
      'GET',
      `/tickets/${row.ticketId}/messages/${row.ticketMessageId}/raw`,
      world.agent,
    );
    expect(gone.statusCode, gone.body).toBe(404);
  });
});
