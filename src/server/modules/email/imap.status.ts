import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';

/** What the worker polling a mailbox reports about it; admins read it in the mailbox API. */
export interface ImapStatus {
  state: 'connecting' | 'connected' | 'idle' | 'error';
  lastError: string | null;
  lastErrorAt: string | null;
  /** The last time every folder was read to its end. */
  lastPollAt: string | null;
  /** The worker process that holds the mailbox's lease. */
  worker: string;
}

/*
 * The status lives in the ephemeral store, not in a table: it describes a live connection,
 * is written on every state change, and expires when no worker refreshes it (the API then
 * shows `stopped`).
 */
const statusKey = (mailboxId: string) => `email:imap:status:${mailboxId}`;

export async function readImapStatus(store: EphemeralStore, mailboxId: string): Promise<ImapStatus | null> {
  const value = await store.get(statusKey(mailboxId));
  return value ? (JSON.parse(value) as ImapStatus) : null;
}

export function writeImapStatus(
  store: EphemeralStore,
  mailboxId: string,
  status: ImapStatus,
  ttlMs: number,
): Promise<void> {
  return store.set(statusKey(mailboxId), JSON.stringify(status), ttlMs);
}

export function clearImapStatus(store: EphemeralStore, mailboxId: string): Promise<void> {
  return store.delete(statusKey(mailboxId));
}
