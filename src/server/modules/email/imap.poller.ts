import type { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { Database } from '../../platform/db/database.js';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import { connectImap, describeImapError, type ImapAccount, imapClient } from './imap.connection.js';
import type { AccessTokens } from './imap.oauth.js';
import * as repo from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import { type ImapStatus, writeImapStatus } from './imap.status.js';
import type { InboundMailService } from './inbound.service.js';

/** The keyword that marks mail we ingested (with `\Seen`, in the `flag` mode). */
export const PROCESSED_KEYWORD = '$Switchboard';

const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 300_000;
/** A connection that lasted this long before it dropped starts the backoff anew. */
const STABLE_SESSION_MS = 60_000;
/** How long a stopping poller may finish the mail in hand before its connection is cut. */
const STOP_GRACE_MS = 5_000;
const BATCH = 100;

export interface ImapMetrics {
  fetched: Counter<'mailbox' | 'result'>;
  errors: Counter<'mailbox'>;
  skipped: Counter<'mailbox' | 'reason'>;
}

export interface PollerContext {
  database: Database;
  store: EphemeralStore;
  inbound: Pick<InboundMailService, 'ingest'>;
  box: SecretBox;
  tokens: AccessTokens;
  logger: Logger;
  metrics: ImapMetrics;
  /** Larger mail is left in the mailbox (SMTP_LISTEN_MAX_BYTES, as for every door). */
  maxBytes: number;
  /** This process, as the status names it. */
  worker: string;
  statusTtlMs: number;
}

export type PollerTarget = ImapAccount;

type FolderKind = 'inbox' | 'sent';

/** The connection ended without an error of its own (the server closed it, or a timeout). */
class ConnectionLost extends Error {}

/**
 * Reads one `imap` mailbox over one connection: every folder to its end, then waits in IDLE
 * on the main folder (imapflow idles on the selected folder when the connection is quiet, or
 * polls where the server has no IDLE) until new mail, the poll interval or a stop. Each mail is
 * ingested, then flagged or moved, then its UID stored, so a restart resumes behind the last
 * mail and a failure of the pipeline itself (the database is down) leaves the mail for the
 * next attempt. Errors reconnect with exponential backoff; bad mail is the pipeline's
 * quarantine's business, never the poller's.
 */
export class MailboxPoller {
  private stopped = false;
  private client: ImapFlow | undefined;
  private running: Promise<void> | undefined;
  private signalled = false;
  private waiter: { done: () => void; wakeable: boolean } | undefined;
  private readonly log: Logger;
  private readonly status: ImapStatus;

  constructor(
    readonly target: PollerTarget,
    private readonly context: PollerContext,
  ) {
    this.log = context.logger.child({ mailboxId: target.mailbox.id });
    this.status = {
      state: 'connecting',
      lastError: null,
      lastErrorAt: null,
      lastPollAt: null,
      worker: context.worker,
    };
  }

  start(): void {
    this.running ??= this.run();
  }

  /** Stops after the mail in hand (cutting the connection after a grace period) and logs out. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiter?.done();
    const done = this.running ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_GRACE_MS);
    });
    await Promise.race([done, grace]);
    clearTimeout(timer);
    this.client?.close();
    await done;
  }

  /** Rewrites the status so it does not expire while this process holds the mailbox. */
  heartbeat(): Promise<void> {
    return this.publish();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      const started = Date.now();
      let failure: unknown;
      try {
        await this.session();
      } catch (error) {
        failure = error;
      }
      this.client?.close();
      this.client = undefined;
      if (failure === undefined || this.stopped) continue;
      failures = Date.now() - started > STABLE_SESSION_MS ? 1 : failures + 1;
      this.fail(failure);
      await this.pause(backoff(failures), { wakeable: false });
    }
  }

  private async session(): Promise<void> {
    const { settings } = this.target;
    // After a failure the state stays `error` (with its reason) until a connection works.
    if (this.status.state !== 'error') this.setState('connecting');
    const deps = { database: this.context.database, box: this.context.box, tokens: this.context.tokens };
    const client = await imapClient(this.target, deps, { autoIdle: true });
    this.client = client;
    let failure: Error | undefined;
    client.on('error', (error: Error) => {
      failure = error;
      this.wake();
    });
    client.on('close', () => this.wake());
    client.on('exists', (event) => {
      if (event.path === settings.folder) this.wake();
    });
    await connectImap(client, this.target, deps);
    this.setState('connected');
    const target = settings.processedAction === 'move' ? settings.processedFolder : null;
    // Not every server answers CREATE of an existing folder with ALREADYEXISTS: look first.
    if (target && !(await client.list()).some((entry) => entry.path === target))
      await client.mailboxCreate(target);

    while (!this.stopped) {
      this.signalled = false;
      this.setState('connected');
      await this.readFolder(client, settings.folder, 'inbox');
      if (settings.sentFolder && !this.stopped) {
        await this.readFolder(client, settings.sentFolder, 'sent');
        // IDLE watches the selected folder: select the main one again.
        (await client.getMailboxLock(settings.folder)).release();
      }
      this.status.lastPollAt = new Date().toISOString();
      this.setState('idle');
      await this.pause(settings.pollIntervalSeconds * 1000, { wakeable: true });
      if (failure) throw failure;
      if (!client.usable && !this.stopped) throw new ConnectionLost('The server closed the connection');
    }
    await client.logout();
  }

  /**
   * Ingests the folder's new mail. With a stored state of the same UIDVALIDITY: every UID
   * after the last one. Otherwise (first read, or the server renumbered the folder): the main
   * folder's unread mail the first time, all of it after a renumbering, in both cases without
   * our keyword; a sent folder starts at its current end.
   */
  private async readFolder(client: ImapFlow, folder: string, kind: FolderKind): Promise<void> {
    const { mailbox } = this.target;
    const lock = await client.getMailboxLock(folder);
    try {
      // SELECT again even when it is selected: only a fresh SELECT shows a new UIDVALIDITY
      // (the folder was deleted and made anew while we idled in it).
      const opened = await client.mailboxOpen(folder);
      const uidValidity = Number(opened.uidValidity);
      const state = await this.context.database.withOrg(mailbox.orgId, (tx) =>
        repo.readState(tx, mailbox.orgId, mailbox.id, folder),
      );
      const save = (lastUid: number) =>
        this.context.database.withOrg(mailbox.orgId, (tx) =>
          repo.saveState(tx, { orgId: mailbox.orgId, mailboxId: mailbox.id, folder, uidValidity, lastUid }),
        );
      if (state && state.uidValidity === uidValidity) {
        // `UID n:*` always matches the last mail, even below n: hence the filter.
        const found = searched(await client.search({ uid: `${state.lastUid + 1}:*` }, { uid: true }));
        await this.take(
          client,
          folder,
          kind,
          found.filter((uid) => uid > state.lastUid),
          save,
        );
        return;
      }
      // Mail arriving from now on gets a higher UID and is read in the next round.
      const end = opened.uidNext - 1;
      if (state)
        this.log.warn(
          { folder, before: state.uidValidity, now: uidValidity },
          'IMAP folder renumbered (UIDVALIDITY changed): reading it again',
        );
      if (kind === 'inbox') {
        const query = state
          ? { unKeyword: PROCESSED_KEYWORD }
          : { seen: false, unKeyword: PROCESSED_KEYWORD };
        const found = searched(await client.search(query, { uid: true }));
        await this.take(
          client,
          folder,
          kind,
          found.filter((uid) => uid <= end),
          save,
        );
      }
      if (!this.stopped) await save(end);
    } finally {
      lock.release();
    }
  }

  private async take(
    client: ImapFlow,
    folder: string,
    kind: FolderKind,
    uids: number[],
    save: (lastUid: number) => Promise<void>,
  ): Promise<void> {
    const { mailbox } = this.target;
    const sorted = [...uids].sort((a, b) => a - b);
    for (let start = 0; start < sorted.length && !this.stopped; start += BATCH) {
      const batch = sorted.slice(start, start + BATCH);
      const sizes = new Map<number, number>();
      for (const message of await client.fetchAll(batch.join(','), { uid: true, size: true }, { uid: true }))
        sizes.set(message.uid, message.size ?? 0);
      for (const uid of batch) {
        if (this.stopped) return;
        const size = sizes.get(uid);
        // Gone since the search (deleted or moved by someone else): nothing to take.
        if (size === undefined) continue;
        if (size > this.context.maxBytes) {
          this.context.metrics.skipped.inc({ mailbox: mailbox.id, reason: 'too_large' });
          this.noteError(
            `Mail UID ${uid} in ${folder} is ${size} bytes, over the limit: left in the mailbox`,
          );
          await save(uid);
          continue;
        }
        const message = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
        const source = message ? message.source : undefined;
        if (!source) continue;
        // Throws only when the pipeline itself failed: the mail stays unmarked for the retry.
        const result = await this.context.inbound.ingest(mailbox, source, { via: 'imap', folder: kind });
        this.context.metrics.fetched.inc({ mailbox: mailbox.id, result: result.status });
        await this.markProcessed(client, uid, kind);
        await save(uid);
      }
    }
  }

  private async markProcessed(client: ImapFlow, uid: number, kind: FolderKind): Promise<void> {
    const { settings } = this.target;
    if (kind === 'sent') {
      // Staff's sent mail stays where it is, read as it was.
      await client.messageFlagsAdd(String(uid), [PROCESSED_KEYWORD], { uid: true });
      return;
    }
    if (settings.processedAction === 'move' && settings.processedFolder) {
      const moved = await client.messageMove(String(uid), settings.processedFolder, { uid: true });
      if (!moved) throw new Error(`Could not move the mail to ${settings.processedFolder}`);
      return;
    }
    await client.messageFlagsAdd(String(uid), ['\\Seen', PROCESSED_KEYWORD], { uid: true });
  }

  private fail(error: unknown): void {
    this.context.metrics.errors.inc({ mailbox: this.target.mailbox.id });
    this.log.warn({ err: error }, 'IMAP mailbox failed; reconnecting with backoff');
    this.noteError(describeImapError(error));
    this.setState('error');
  }

  private noteError(message: string): void {
    this.status.lastError = message.slice(0, 1000);
    this.status.lastErrorAt = new Date().toISOString();
  }

  private setState(state: ImapStatus['state']): void {
    if (this.stopped) return;
    this.status.state = state;
    this.publish().catch((error: unknown) => this.log.warn({ err: error }, 'could not publish IMAP status'));
  }

  private publish(): Promise<void> {
    return writeImapStatus(this.context.store, this.target.mailbox.id, this.status, this.context.statusTtlMs);
  }

  private wake(): void {
    this.signalled = true;
    if (this.waiter?.wakeable) this.waiter.done();
  }

  /**
   * Waits `ms`, or less when stopped or, if `wakeable`, when woken (new mail, the connection
   * closed). A backoff is not wakeable: the closing connection would cut it short.
   */
  private pause(ms: number, { wakeable }: { wakeable: boolean }): Promise<void> {
    if (this.stopped || (wakeable && this.signalled)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiter = { done, wakeable };
    });
  }
}

/** A search's UIDs; a refused search is an error, never an empty folder. */
function searched(result: number[] | false | undefined): number[] {
  if (!Array.isArray(result)) throw new Error('The server refused the UID SEARCH');
  return result;
}

/** Exponential backoff with jitter: 1 s, 2 s, 4 s … up to 5 minutes. */
function backoff(failures: number): number {
  const base = Math.min(BACKOFF_FIRST_MS * 2 ** Math.max(failures - 1, 0), BACKOFF_MAX_MS);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}
