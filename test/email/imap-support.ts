import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { emailTables } from '../../src/server/modules/email/index.js';
import type { Platform } from '../../src/server/platform/platform.js';
import type { Dovecot } from '../support/dovecot.js';
import { until } from '../support/wait.js';
import { apiClient, type Who } from '../tickets/support.js';

/** A raw mail as a client would submit it (CRLF line ends). */
export function rawMail(mail: {
  from: string;
  to: string;
  subject: string;
  body: string;
  messageId: string;
  inReplyTo?: string;
  headers?: Record<string, string>;
}): string {
  return [
    `From: ${mail.from}`,
    `To: ${mail.to}`,
    `Subject: ${mail.subject}`,
    `Message-ID: ${mail.messageId}`,
    `Date: ${new Date().toUTCString()}`,
    ...(mail.inReplyTo ? [`In-Reply-To: ${mail.inReplyTo}`, `References: ${mail.inReplyTo}`] : []),
    ...Object.entries(mail.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    mail.body,
    '',
  ].join('\r\n');
}

/** The stored record of a received Message-ID, if any. */
export async function receivedMail(platform: Platform, messageId: string) {
  const [row] = await platform.database.transaction((tx) =>
    tx.select().from(emailTables.emailMessages).where(eq(emailTables.emailMessages.messageId, messageId)),
  );
  return row;
}

/** Waits until the mail with this Message-ID has been ingested; returns its record. */
export function ingested(platform: Platform, messageId: string, timeoutMs = 15_000) {
  return until(() => receivedMail(platform, messageId), timeoutMs);
}

/** The flags of a mail in a folder of the Dovecot account (undefined: not in the folder). */
export async function flagsOf(dovecot: Dovecot, user: string, password: string, folder: string, uid: number) {
  const client = await dovecot.connect(user, password);
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      const message = await client.fetchOne(String(uid), { uid: true, flags: true }, { uid: true });
      return message ? [...(message.flags ?? [])] : undefined;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

/** Message-IDs of the mails in a folder of the Dovecot account. */
export async function messageIdsIn(dovecot: Dovecot, user: string, password: string, folder: string) {
  const client = await dovecot.connect(user, password);
  try {
    const lock = await client.getMailboxLock(folder);
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      const messages = await client.fetchAll('1:*', { envelope: true });
      return messages.map((message) => message.envelope?.messageId);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

export interface ImapStatusBody {
  state: string;
  lastError: string | null;
  lastPollAt: string | null;
  folders: Array<{ folder: string; uidValidity: number; lastUid: number }>;
}

/** Mailbox admin API helpers bound to an app. */
export function mailboxApi(appOf: () => FastifyInstance, admin: () => Who) {
  const api = apiClient(appOf);
  const read = async (id: string) => {
    const response = await api('GET', `/admin/mailboxes/${id}`, admin());
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  return {
    async create(payload: Record<string, unknown>) {
      const response = await api('POST', '/admin/mailboxes', admin(), payload);
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as { id: string; imap: Record<string, unknown> } & Record<string, unknown>;
    },
    read,
    /** Waits for the poller's status to reach `state` (and `check`, if given). */
    status(id: string, state: string, check: (status: ImapStatusBody) => boolean = () => true) {
      return until(async () => {
        const status = (await read(id)).imap?.status as ImapStatusBody | undefined;
        return status && status.state === state && check(status) ? status : undefined;
      }, 20_000);
    },
  };
}

/** The value of a counter with these labels in the Prometheus text of `/metrics` (0 when absent). */
export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string>) {
  return counterIn((await app.inject({ method: 'GET', url: '/metrics' })).body, name, labels);
}

/** The sum of a counter's series with these labels in Prometheus exposition text. */
export function counterIn(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (wanted.every((pair) => line.includes(pair))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
