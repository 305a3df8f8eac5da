import { z } from 'zod';
import { INBOUND_METHODS } from './email.table.js';
import { ImapSettingsBody, ImapSettingsResponse } from './imap.settings.js';

/*
 * Addresses are plain strings here and checked by the service, so a bad one answers 422
 * naming the field (like every other admin setting) rather than a schema 400.
 */
const Address = z.string().trim().min(1).max(320);
const Name = z.string().trim().min(1).max(200);

export const InboundMethod = z.enum(INBOUND_METHODS);

export const CreateMailboxBody = z
  .object({
    address: Address,
    name: Name,
    teamId: z.uuid().nullable().optional(),
    inboundMethod: InboundMethod.default('api'),
    outboundFromName: z.string().trim().max(200).nullable().optional(),
    outboundFromAddress: Address.nullable().optional(),
    reopenResolved: z.boolean().default(true),
    googleGroup: z.boolean().default(false),
    metadataOnly: z.boolean().default(false),
    isDefault: z.boolean().optional(),
    /** How an `imap` mailbox is read; secrets are write-only. */
    imap: ImapSettingsBody.optional(),
  })
  .strict();
export type CreateMailboxBody = z.infer<typeof CreateMailboxBody>;

export const UpdateMailboxBody = z
  .object({
    address: Address,
    name: Name,
    teamId: z.uuid().nullable(),
    inboundMethod: InboundMethod,
    outboundFromName: z.string().trim().max(200).nullable(),
    outboundFromAddress: Address.nullable(),
    reopenResolved: z.boolean(),
    googleGroup: z.boolean(),
    metadataOnly: z.boolean(),
    isDefault: z.literal(true),
    /** Changes only the fields given; a secret left out is kept, `null` clears it. */
    imap: ImapSettingsBody,
  })
  .partial()
  .strict();
export type UpdateMailboxBody = z.infer<typeof UpdateMailboxBody>;

export const MailboxResponse = z.object({
  id: z.uuid(),
  address: z.string(),
  name: z.string(),
  teamId: z.uuid().nullable(),
  inboundMethod: InboundMethod,
  outboundFromName: z.string().nullable(),
  /** The sender address of outbound mail (the mailbox address unless set). */
  outboundFromAddress: z.string(),
  reopenResolved: z.boolean(),
  googleGroup: z.boolean(),
  metadataOnly: z.boolean(),
  isDefault: z.boolean(),
  /** IMAP settings (secrets as `has…` flags) and the poller's status; null without settings. */
  imap: ImapSettingsResponse.nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type MailboxResponse = z.infer<typeof MailboxResponse>;

/** Creation answer: the `api` method's inbound secret appears here once and never again. */
export const CreatedMailboxResponse = MailboxResponse.extend({ inboundSecret: z.string().nullable() });

export const MailboxList = z.object({ data: z.array(MailboxResponse) });
export const IdParams = z.object({ id: z.uuid() }).strict();
