import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database, Executor } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { EphemeralStore } from '../../platform/pubsub/pubsub.port.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import * as imapRepo from './imap.repository.js';
import type { SecretBox } from './imap.secrets.js';
import {
  type ImapSettingsBody,
  type ImapSettingsResponse,
  presentImapSettings,
  resolveImapSettings,
} from './imap.settings.js';
import { readImapStatus } from './imap.status.js';
import type { MailboxCache } from './mailboxes.cache.js';
import * as repo from './mailboxes.repository.js';
import type { CreateMailboxBody, MailboxResponse, UpdateMailboxBody } from './mailboxes.schema.js';

const INBOUND_SECRET_PREFIX = 'sb_mbx_';
const EmailAddress = z.email();

/** A mailbox as the API shows it; the inbound secret hash and IMAP secrets never leave the server. */
export function presentMailbox(row: repo.MailboxRow, imap: ImapSettingsResponse | null): MailboxResponse {
  return {
    id: row.id,
    address: row.address,
    name: row.name,
    teamId: row.teamId,
    inboundMethod: row.inboundMethod,
    outboundFromName: row.outboundFromName,
    outboundFromAddress: row.outboundFromAddress ?? row.address,
    reopenResolved: row.reopenResolved,
    googleGroup: row.googleGroup,
    metadataOnly: row.metadataOnly,
    isDefault: row.isDefault,
    imap,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Mailboxes of an organisation: admin settings (`admin:settings`). */
export class MailboxesService {
  constructor(
    private readonly database: Database,
    private readonly imap: { box: SecretBox; store: EphemeralStore },
    private readonly cache: MailboxCache,
  ) {}

  async list(actor: Actor) {
    requireSettings(actor);
    return this.database.withOrg(actor.orgId, async (tx) => ({
      data: await this.present(tx, actor.orgId, await repo.listMailboxes(tx, actor.orgId)),
    }));
  }

  async get(actor: Actor, id: string) {
    requireSettings(actor);
    return this.database.withOrg(actor.orgId, async (tx) => {
      const [mailbox] = await this.present(tx, actor.orgId, [await found(tx, actor.orgId, id)]);
      return mailbox!;
    });
  }

  /** Creates a mailbox; the first one of an organisation becomes its default. */
  async create(actor: Actor, input: CreateMailboxBody) {
    requireSettings(actor);
    const address = checkedAddress(input.address, 'address');
    const fromAddress = input.outboundFromAddress
      ? checkedAddress(input.outboundFromAddress, 'outboundFromAddress')
      : null;
    const inboundSecret = input.inboundMethod === 'api' ? newInboundSecret() : null;
    const created = await this.database.withOrg(actor.orgId, async (tx) => {
      await this.checkReferences(tx, actor.orgId, { address, teamId: input.teamId ?? null });
      const isDefault = input.isDefault ?? !(await repo.hasDefault(tx, actor.orgId));
      if (isDefault) await repo.clearDefault(tx, actor.orgId);
      const inserted = await repo.insertMailbox(tx, {
        orgId: actor.orgId,
        address,
        name: input.name,
        teamId: input.teamId ?? null,
        inboundMethod: input.inboundMethod,
        inboundSecretHash: inboundSecret ? hashInboundSecret(inboundSecret) : null,
        outboundFromName: input.outboundFromName ?? null,
        outboundFromAddress: fromAddress,
        reopenResolved: input.reopenResolved,
        googleGroup: input.googleGroup,
        metadataOnly: input.metadataOnly,
        isDefault,
      });
      await this.saveImap(tx, inserted, input.imap);
      const [mailbox] = await this.present(tx, actor.orgId, [inserted]);
      return { ...mailbox!, inboundSecret };
    });
    // Another organisation's mailbox at the same address may be cached for recipient checks.
    await this.cache.invalidate(actor.orgId, [address]);
    return created;
  }

  async update(actor: Actor, id: string, input: UpdateMailboxBody) {
    requireSettings(actor);
    const address = input.address === undefined ? undefined : checkedAddress(input.address, 'address');
    const fromAddress =
      input.outboundFromAddress === undefined || input.outboundFromAddress === null
        ? input.outboundFromAddress
        : checkedAddress(input.outboundFromAddress, 'outboundFromAddress');
    const { mailbox, previousAddress } = await this.database.withOrg(actor.orgId, async (tx) => {
      const row = await found(tx, actor.orgId, id);
      await this.checkReferences(
        tx,
        actor.orgId,
        { address: address ?? row.address, teamId: input.teamId === undefined ? null : input.teamId },
        row.id,
      );
      if (input.isDefault && !row.isDefault) await repo.clearDefault(tx, actor.orgId);
      // Switching to the api method issues no secret here; the inbound slice adds rotation.
      const changes = {
        ...(address === undefined ? {} : { address }),
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.teamId === undefined ? {} : { teamId: input.teamId }),
        ...(input.inboundMethod === undefined ? {} : { inboundMethod: input.inboundMethod }),
        ...(input.outboundFromName === undefined ? {} : { outboundFromName: input.outboundFromName }),
        ...(fromAddress === undefined ? {} : { outboundFromAddress: fromAddress }),
        ...(input.reopenResolved === undefined ? {} : { reopenResolved: input.reopenResolved }),
        ...(input.googleGroup === undefined ? {} : { googleGroup: input.googleGroup }),
        ...(input.metadataOnly === undefined ? {} : { metadataOnly: input.metadataOnly }),
        ...(input.isDefault ? { isDefault: true } : {}),
      };
      // A change of the IMAP settings alone leaves the mailbox row as it is.
      const updated =
        Object.keys(changes).length > 0 ? await repo.updateMailbox(tx, actor.orgId, row.id, changes) : row;
      await this.saveImap(tx, updated, input.imap);
      const [presented] = await this.present(tx, actor.orgId, [updated]);
      return { mailbox: presented!, previousAddress: row.address };
    });
    await this.cache.invalidate(actor.orgId, [previousAddress, address ?? previousAddress]);
    return mailbox;
  }

  /** Soft delete; mail already sent from it keeps its delivery records. */
  async remove(actor: Actor, id: string): Promise<void> {
    requireSettings(actor);
    const address = await this.database.withOrg(actor.orgId, async (tx) => {
      const row = await found(tx, actor.orgId, id);
      await repo.softDeleteMailbox(tx, actor.orgId, row.id);
      return row.address;
    });
    await this.cache.invalidate(actor.orgId, [address]);
  }

  /**
   * Stores the IMAP settings given for a mailbox (merged into the stored ones). An `imap`
   * mailbox must have settings: 422 naming `imap` otherwise.
   */
  private async saveImap(tx: Executor, mailbox: repo.MailboxRow, input: ImapSettingsBody | undefined) {
    const existing = await imapRepo.findSettings(tx, mailbox.orgId, mailbox.id);
    if (input === undefined) {
      if (mailbox.inboundMethod === 'imap' && !existing)
        throw new AppError('UNPROCESSABLE', 'An imap mailbox needs its IMAP settings', {
          details: { imap: 'required with inboundMethod imap' },
        });
      return;
    }
    const values = resolveImapSettings(mailbox.id, existing, input, this.imap.box);
    await imapRepo.saveSettings(tx, { orgId: mailbox.orgId, mailboxId: mailbox.id, ...values });
  }

  /** Mailboxes with their IMAP settings, reading state and the polling worker's status. */
  private async present(tx: Executor, orgId: string, rows: repo.MailboxRow[]): Promise<MailboxResponse[]> {
    const ids = rows.map((row) => row.id);
    const settings = new Map(
      (await imapRepo.settingsOf(tx, orgId, ids)).map((row) => [row.mailboxId, row] as const),
    );
    const states = await imapRepo.statesOf(tx, orgId, [...settings.keys()]);
    return Promise.all(
      rows.map(async (row) => {
        const imap = settings.get(row.id);
        if (!imap) return presentMailbox(row, null);
        const status = row.inboundMethod === 'imap' ? await readImapStatus(this.imap.store, row.id) : null;
        const folders = states.filter((state) => state.mailboxId === row.id);
        return presentMailbox(row, presentImapSettings(imap, status, folders));
      }),
    );
  }

  /** 422 for an unknown team, 409 for an address another live mailbox has. */
  private async checkReferences(
    tx: Executor,
    orgId: string,
    wanted: { address: string; teamId: string | null },
    exceptId?: string,
  ): Promise<void> {
    if (wanted.teamId && !(await directory.teams(tx, orgId, [wanted.teamId])).has(wanted.teamId))
      throw new AppError('UNPROCESSABLE', 'Unknown team', { details: { teamId: 'no such team' } });
    if (await repo.findByAddress(tx, orgId, wanted.address, exceptId))
      throw new AppError('CONFLICT', 'Another mailbox has this address', {
        details: { address: 'already used by another mailbox' },
      });
  }
}

function requireSettings(actor: Actor): void {
  if (!hasPermission(actor, 'admin:settings'))
    throw new AppError('FORBIDDEN', 'Mailboxes need admin:settings');
}

async function found(tx: Executor, orgId: string, id: string) {
  const row = await repo.findMailbox(tx, orgId, id);
  if (!row) throw notFound('Mailbox');
  return row;
}

/** Lower-cased address, or 422 naming `field`. */
function checkedAddress(value: string, field: string): string {
  const address = value.trim().toLowerCase();
  if (!EmailAddress.safeParse(address).success || address.includes('+'))
    throw new AppError('UNPROCESSABLE', 'Not a valid e-mail address', {
      details: { [field]: 'must be an e-mail address without a +tag (tags carry reply tokens)' },
    });
  return address;
}

function newInboundSecret(): string {
  return INBOUND_SECRET_PREFIX + randomBytes(24).toString('base64url');
}

/** SHA-256 of an inbound secret: the secret is long and random, so no salt or slow hash is needed. */
export function hashInboundSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
