import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Logger } from 'pino';
import client from 'prom-client';
import type { Database } from '../../platform/db/database.js';
import type { Metrics } from '../../platform/metrics.js';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import type { AccessTokens } from './imap.oauth.js';
import { type ImapMetrics, MailboxPoller, type PollerTarget } from './imap.poller.js';
import * as repo from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import { clearImapStatus } from './imap.status.js';
import type { InboundMailService } from './inbound.service.js';

export interface ImapPollersOptions {
  database: Database;
  store: EphemeralStore;
  inbound: Pick<InboundMailService, 'ingest'>;
  box: SecretBox;
  /** Access tokens of XOAUTH2 accounts, shared with everything else in the process that connects. */
  tokens: AccessTokens;
  logger: Logger;
  metrics: Metrics;
  maxBytes: number;
  /** How often the running pollers are compared with the mailboxes table. */
  reconcileIntervalMs: number;
}

const leaseKey = (mailboxId: string) => `email:imap:lease:${mailboxId}`;

/**
 * The IMAP pollers of a worker process. Every `reconcileIntervalMs` it reads the live `imap`
 * mailboxes and starts a poller for each new one, restarts those whose settings changed and
 * stops those deleted or switched to another method. A mailbox is polled by one worker
 * process at a time: the one holding its lease in the ephemeral store, renewed on every pass
 * and released on stop, so another worker takes over within a lease's lifetime when one dies.
 */
export class ImapPollers {
  readonly worker = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly pollers = new Map<string, { poller: MailboxPoller; fingerprint: string }>();
  private readonly metrics: ImapMetrics;
  private readonly reconcileFailures: client.Counter;
  private readonly leaseTtlMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private started = false;

  constructor(private readonly options: ImapPollersOptions) {
    const registers = [options.metrics.registry];
    this.metrics = {
      fetched: new client.Counter({
        name: 'switchboard_imap_messages_total',
        help: 'Mails read from IMAP mailboxes and ingested, by the pipeline result',
        labelNames: ['mailbox', 'result'],
        registers,
      }),
      errors: new client.Counter({
        name: 'switchboard_imap_errors_total',
        help: 'IMAP mailbox sessions that failed (connection, authentication, pipeline); each reconnects with backoff',
        labelNames: ['mailbox'],
        registers,
      }),
      skipped: new client.Counter({
        name: 'switchboard_imap_messages_skipped_total',
        help: 'Mails left in IMAP mailboxes without ingesting them (over the size limit)',
        labelNames: ['mailbox', 'reason'],
        registers,
      }),
    };
    this.reconcileFailures = new client.Counter({
      name: 'switchboard_imap_reconcile_failures_total',
      help: 'Passes of the IMAP poller reconciliation that failed and will be retried',
      registers,
    });
    options.metrics.gauge(
      'switchboard_imap_pollers',
      'IMAP mailboxes this process polls',
      [],
      async (gauge) => {
        gauge.set(this.pollers.size);
      },
    );
    this.leaseTtlMs = Math.max(30_000, options.reconcileIntervalMs * 6);
  }

  /** Starts reconciling (worker role); resolves after the first pass. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.pass = this.reconcile();
    await this.pass;
    this.schedule();
  }

  /** Stops every poller, releases their leases and stops reconciling. */
  async stop(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    await this.pass;
    await Promise.all([...this.pollers.keys()].map((id) => this.stopPoller(id)));
  }

  /** The mailboxes this process polls (for tests and diagnostics). */
  polled(): string[] {
    return [...this.pollers.keys()];
  }

  private schedule(): void {
    if (!this.started) return;
    this.timer = setTimeout(() => {
      this.pass = this.reconcile().finally(() => this.schedule());
    }, this.options.reconcileIntervalMs);
  }

  private async reconcile(): Promise<void> {
    try {
      await this.renewLeases();
      const wanted = await this.options.database.transaction((tx) => repo.activeImapMailboxes(tx));
      const byId = new Map(wanted.map((target) => [target.mailbox.id, target]));
      await Promise.all(
        [...this.pollers].map(async ([id, entry]) => {
          const target = byId.get(id);
          if (!target) return this.stopPoller(id);
          if (fingerprint(target) === entry.fingerprint) return;
          this.options.logger.info({ mailboxId: id }, 'IMAP settings changed: restarting the poller');
          await entry.poller.stop();
          this.pollers.delete(id);
          if (this.started) this.startPoller(target);
        }),
      );
      for (const target of wanted) {
        if (!this.started || this.pollers.has(target.mailbox.id)) continue;
        const mine = await this.options.store.setIfAbsent(
          leaseKey(target.mailbox.id),
          this.worker,
          this.leaseTtlMs,
        );
        if (mine) this.startPoller(target);
      }
    } catch (error) {
      this.reconcileFailures.inc();
      this.options.logger.error({ err: error }, 'IMAP poller reconciliation failed; retrying');
    }
  }

  /** Renews this process's leases; a poller whose lease another process took stops. */
  private async renewLeases(): Promise<void> {
    const { store } = this.options;
    await Promise.all(
      [...this.pollers].map(async ([id, { poller }]) => {
        const holder = await store.get(leaseKey(id));
        if (holder !== null && holder !== this.worker) {
          this.options.logger.warn({ mailboxId: id, holder }, 'IMAP lease taken by another worker: stopping');
          await poller.stop();
          this.pollers.delete(id);
          return;
        }
        await store.set(leaseKey(id), this.worker, this.leaseTtlMs);
        await poller.heartbeat();
      }),
    );
  }

  private startPoller(target: PollerTarget): void {
    const { database, store, inbound, box, logger, maxBytes } = this.options;
    const poller = new MailboxPoller(target, {
      database,
      store,
      inbound,
      box,
      tokens: this.options.tokens,
      logger,
      metrics: this.metrics,
      maxBytes,
      worker: this.worker,
      statusTtlMs: this.leaseTtlMs,
    });
    this.pollers.set(target.mailbox.id, { poller, fingerprint: fingerprint(target) });
    logger.info({ mailboxId: target.mailbox.id, worker: this.worker }, 'IMAP poller started');
    poller.start();
  }

  private async stopPoller(id: string): Promise<void> {
    const entry = this.pollers.get(id);
    if (!entry) return;
    this.pollers.delete(id);
    await entry.poller.stop();
    const { store } = this.options;
    if ((await store.get(leaseKey(id))) === this.worker) {
      await store.delete(leaseKey(id));
      await clearImapStatus(store, id);
    }
    this.options.logger.info({ mailboxId: id }, 'IMAP poller stopped');
  }
}

/** What a running poller depends on: the mailbox row and the admin's settings. */
function fingerprint(target: PollerTarget): string {
  return `${target.mailbox.updatedAt.getTime()}:${target.settings.version}`;
}
