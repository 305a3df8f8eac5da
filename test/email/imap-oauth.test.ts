import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailTables } from '../../src/server/modules/email/index.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { type OAuthServer, startOAuthServer } from '../support/oauth-server.js';
import { apiClient, type TicketWorld, ticketWorld } from '../tickets/support.js';
import { ingested, mailboxApi, rawMail } from './imap-support.js';

const run = randomUUID().slice(0, 8);
const domain = `imap-oauth-${run}.test`;
const USER = 'oauthbox';
/** Only the test appends with the account's password; Switchboard signs in with access tokens. */
const APPEND_PASSWORD = randomUUID();

let oauth: OAuthServer;
let dovecot: Dovecot;
let server: TestApp;
let world: TicketWorld;
const api = apiClient(() => server.app);
const mailboxes = mailboxApi(
  () => server.app,
  () => world.admin,
);

function mail(label: string) {
  const messageId = `<${label}-${run}@customer.test>`;
  return {
    messageId,
    raw: rawMail({
      from: `Olga <olga-${run}@customer.test>`,
      to: `${USER}@${domain}`,
      subject: `OAuth ${label}`,
      body: `Sent for ${label}.`,
      messageId,
    }),
  };
}

async function sealedRefreshToken(mailboxId: string) {
  const [row] = await server.platform.database.transaction((tx) =>
    tx
      .select()
      .from(emailTables.mailboxImapSettings)
      .where(eq(emailTables.mailboxImapSettings.mailboxId, mailboxId)),
  );
  return row!.refreshTokenSealed;
}

beforeAll(async () => {
  oauth = await startOAuthServer();
  dovecot = await startDovecot({
    users: { [USER]: APPEND_PASSWORD },
    introspectionUrl: oauth.introspectionUrl,
  });
  server = await startTestApp({
    MAIL_REPLY_SECRET: `imap-oauth-secret-${run}-0123456789abcdef`,
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
  await oauth?.close();
});

describe('IMAP with XOAUTH2', () => {
  const settings = () => ({
    host: dovecot.host,
    port: dovecot.port,
    tls: 'none',
    username: USER,
    auth: 'xoauth2',
    tokenUrl: oauth.tokenUrl,
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    refreshToken: oauth.refreshTokenFor(USER),
  });
  let mailboxId: string;

  it('signs in with an access token from the refresh token and reads mail', async () => {
    const created = await mailboxes.create({
      address: `${USER}@${domain}`,
      name: 'OAuth',
      inboundMethod: 'imap',
      imap: settings(),
    });
    mailboxId = created.id;
    await mailboxes.status(mailboxId, 'idle');
    expect(oauth.issued()).toBe(1);
    const first = mail('first');
    await dovecot.append(USER, APPEND_PASSWORD, 'INBOX', first.raw);
    await ingested(server.platform, first.messageId);
  });

  it('gets a new access token when the old one is refused, and keeps a rotated refresh token', async () => {
    const before = await sealedRefreshToken(mailboxId);
    oauth.rotate = true;
    oauth.expireAccessTokens();
    // A restart reconnects with the cached access token: refused, renewed, signed in.
    await server.domain.email.imap.stop();
    await server.domain.email.imap.start();
    await mailboxes.status(mailboxId, 'idle', () => oauth.issued() >= 2);
    const after = await sealedRefreshToken(mailboxId);
    expect(after).not.toBe(before);
    expect(JSON.stringify((await mailboxes.read(mailboxId)).imap)).not.toContain(oauth.clientSecret);

    // Only the rotated refresh token works now; the stored one is used on the next renewal.
    oauth.expireAccessTokens();
    await server.domain.email.imap.stop();
    await server.domain.email.imap.start();
    const issued = oauth.issued();
    await mailboxes.status(mailboxId, 'idle', () => oauth.issued() > issued);
    const next = mail('after-rotation');
    await dovecot.append(USER, APPEND_PASSWORD, 'INBOX', next.raw);
    await ingested(server.platform, next.messageId);
  });

  it('shows the token endpoint refusing a wrong client secret', async () => {
    const response = await api('PATCH', `/admin/mailboxes/${mailboxId}`, world.admin, {
      imap: { clientSecret: 'not the secret' },
    });
    expect(response.statusCode, response.body).toBe(200);
    const status = await mailboxes.status(mailboxId, 'error');
    expect(status.lastError).toContain('invalid_client');
  });
});
