import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Database, Executor } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import * as repo from './mailboxes.repository.js';
import type { CreateMailboxBody, MailboxResponse, UpdateMailboxBody } from './mailboxes.schema.js';

const INBOUND_SECRET_PREFIX = 'sb_mbx_';
const EmailAddress = z.email();

/** A mailbox as the API shows it; the inbound secret hash never leaves the server. */
export function presentMailbox(row: repo.MailboxRow): MailboxResponse {
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
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Mailboxes of an organisation: admin settings (`admin:settings`). */
export class MailboxesService {
  constructor(private readonly database: Database) {}

  async list(actor: Actor) {
    requireSettings(actor);
    return this.database.withOrg(actor.orgId, async (tx) => ({
      data: (await repo.listMailboxes(tx, actor.orgId)).map(presentMailbox),
    }));
  }

  async get(actor: Actor, id: string) {
    requireSettings(actor);
    return this.database.withOrg(actor.orgId, async (tx) => presentMailbox(await found(tx, actor.orgId, id)));
  }

  /** Creates a mailbox; the first one of an organisation becomes its default. */
  async create(actor: Actor, input: CreateMailboxBody) {
    requireSettings(actor);
    const address = checkedAddress(input.address, 'address');
    const fromAddress = input.outboundFromAddress
      ? checkedAddress(input.outboundFromAddress, 'outboundFromAddress')
      : null;
    const inboundSecret = input.inboundMethod === 'api' ? newInboundSecret() : null;
    return this.database.withOrg(actor.orgId, async (tx) => {
      await this.checkReferences(tx, actor.orgId, { address, teamId: input.teamId ?? null });
      const isDefault = input.isDefault ?? !(await repo.hasDefault(tx, actor.orgId));
      if (isDefault) await repo.clearDefault(tx, actor.orgId);
      const row = await repo.insertMailbox(tx, {
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
      return { ...presentMailbox(row), inboundSecret };
    });
  }

  async update(actor: Actor, id: string, input: UpdateMailboxBody) {
    requireSettings(actor);
    const address = input.address === undefined ? undefined : checkedAddress(input.address, 'address');
    const fromAddress =
      input.outboundFromAddress === undefined || input.outboundFromAddress === null
        ? input.outboundFromAddress
        : checkedAddress(input.outboundFromAddress, 'outboundFromAddress');
    return this.database.withOrg(actor.orgId, async (tx) => {
      const row = await found(tx, actor.orgId, id);
      await this.checkReferences(
        tx,
        actor.orgId,
        { address: address ?? row.address, teamId: input.teamId === undefined ? null : input.teamId },
        row.id,
      );
      if (input.isDefault && !row.isDefault) await repo.clearDefault(tx, actor.orgId);
      // Switching to the api method issues no secret here; the inbound slice adds rotation.
      const updated = await repo.updateMailbox(tx, actor.orgId, row.id, {
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
      });
      return presentMailbox(updated);
    });
  }

  /** Soft delete; mail already sent from it keeps its delivery records. */
  async remove(actor: Actor, id: string): Promise<void> {
    requireSettings(actor);
    await this.database.withOrg(actor.orgId, async (tx) => {
      const row = await found(tx, actor.orgId, id);
      await repo.softDeleteMailbox(tx, actor.orgId, row.id);
    });
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
