import { z } from 'zod';
import { FIELD_TYPES, TICKET_CHANNELS, TICKET_PRIORITIES, TICKET_STATUSES } from './tickets.table.js';

/** Longest title, description or message body accepted (characters). */
export const MAX_TITLE = 500;
export const MAX_TEXT = 65_536;
export const MAX_TAGS = 50;
export const MAX_BULK = 500;

export const TicketStatus = z.enum(TICKET_STATUSES);
export const TicketPriority = z.enum(TICKET_PRIORITIES);
export const TicketChannel = z.enum(TICKET_CHANNELS);
export const FieldType = z.enum(FIELD_TYPES);

/**
 * Free text is stored verbatim, but C0 control characters other than tab, line feed and
 * carriage return are refused: they corrupt exports and e-mail and are never typed.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL.test(value), 'must not contain control characters');

export const Title = text(MAX_TITLE)
  .transform((value) => value.trim())
  .pipe(z.string().min(1, 'must not be empty'));
export const Body = text(MAX_TEXT)
  .transform((value) => value.trim())
  .pipe(z.string().min(1, 'must not be empty'));

/** Tags are lower-cased, trimmed words: letters, digits, `-`, `_`, `.`, `:`, `/`. */
export const Tag = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N}_.:/-]{0,63}$/u, 'tags are 1–64 letters, digits or - _ . : /');
export const Tags = z
  .array(Tag)
  .max(MAX_TAGS)
  .transform((tags) => [...new Set(tags)]);

export const CustomFieldValues = z.record(z.string().max(64), z.unknown());

export const IdParams = z.object({ id: z.uuid() });

export const CreateTicketBody = z
  .object({
    title: Title,
    description: text(MAX_TEXT).default(''),
    priority: TicketPriority.default('medium'),
    categoryId: z.uuid().nullish(),
    tags: Tags.default([]),
    teamId: z.uuid().nullish(),
    assigneeId: z.uuid().nullish(),
    requesterId: z.uuid().optional().describe('Agents only: open the ticket on behalf of this user'),
    channel: TicketChannel.default('web'),
    customFields: CustomFieldValues.default({}),
  })
  .strict();

export const UpdateTicketBody = z
  .object({
    title: Title.optional(),
    description: text(MAX_TEXT).optional(),
    priority: TicketPriority.optional(),
    categoryId: z.uuid().nullable().optional(),
    tags: Tags.optional(),
    teamId: z.uuid().nullable().optional(),
    channel: TicketChannel.optional(),
    customFields: CustomFieldValues.optional(),
    version: z.number().int().min(1).optional().describe('Alternative to the If-Match header'),
  })
  .strict();

/**
 * The collision check of a reply, note, assignment or status change (docs/tickets.md):
 * a public reply, assignment or status change by someone else after `lastSeenEventId`
 * answers 409 with those events, unless `force`.
 */
export const CollisionGuard = z.object({
  lastSeenEventId: z
    .uuid()
    .optional()
    .describe('Id of the last event of this ticket the author saw; changes since by others answer 409'),
  force: z.boolean().optional().describe('Go ahead despite changes since `lastSeenEventId`'),
});

export const StatusBody = z.object({ status: TicketStatus, ...CollisionGuard.shape }).strict();
export const AssignBody = z
  .object({
    assigneeId: z.uuid().nullable().optional(),
    teamId: z.uuid().nullable().optional(),
    ...CollisionGuard.shape,
  })
  .strict()
  .refine((body) => body.assigneeId !== undefined || body.teamId !== undefined, {
    message: 'give assigneeId, teamId or both',
  });

export const MessageBody = z
  .object({
    body: Body,
    mentions: z.array(z.uuid()).max(50).default([]).describe('User ids, in addition to @email mentions'),
    attachmentIds: z.array(z.uuid()).max(20).default([]),
    ...CollisionGuard.shape,
  })
  .strict();

export const MergeBody = z.object({ targetId: z.uuid() }).strict();
export const LinkBody = z.object({ relatedId: z.uuid() }).strict();
export const LinkParams = z.object({ id: z.uuid(), relatedId: z.uuid() });
export const FollowerBody = z.object({ userId: z.uuid() }).strict();
export const FollowerParams = z.object({ id: z.uuid(), userId: z.uuid() });
export const SplitParams = z.object({ id: z.uuid(), messageId: z.uuid() });
export const SplitBody = z.object({ title: Title.optional() }).strict();
export const TimeEntryBody = z
  .object({
    minutes: z.number().int().min(1).max(1440),
    note: text(2_000).default(''),
  })
  .strict();

export const BulkBody = z
  .object({
    ticketIds: z.array(z.uuid()).min(1).max(MAX_BULK),
    changes: z
      .object({
        status: TicketStatus.optional(),
        priority: TicketPriority.optional(),
        assigneeId: z.uuid().nullable().optional(),
        addTags: Tags.optional(),
        removeTags: Tags.optional(),
      })
      .strict()
      .refine((changes) => Object.keys(changes).length > 0, { message: 'give at least one change' }),
  })
  .strict();

const UserRef = z.object({ id: z.uuid(), name: z.string(), email: z.string() });
const TeamRef = z.object({ id: z.uuid(), name: z.string() });

export const TicketResponse = z
  .object({
    id: z.uuid(),
    number: z.string(),
    title: z.string(),
    description: z.string(),
    status: TicketStatus,
    priority: TicketPriority,
    channel: TicketChannel,
    categoryId: z.uuid().nullable(),
    tags: z.array(z.string()).optional(),
    team: TeamRef.nullable().optional(),
    assignee: UserRef.nullable(),
    requester: UserRef.nullable(),
    customFields: z.record(z.string(), z.unknown()),
    firstResponseAt: z.string().nullable().optional(),
    resolvedAt: z.string().nullable(),
    closedAt: z.string().nullable(),
    mergedIntoId: z.uuid().nullable(),
    version: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    lastActivityAt: z.string(),
    search: z
      .object({ rank: z.number(), snippet: z.string(), matchedIn: z.string() })
      .optional()
      .describe('Only on search results'),
  })
  .meta({ id: 'Ticket' });
export type TicketResponse = z.infer<typeof TicketResponse>;

export const AttachmentResponse = z
  .object({
    id: z.uuid(),
    fileName: z.string(),
    contentType: z.string(),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    createdAt: z.string(),
  })
  .meta({ id: 'Attachment' });

export const MessageEmail = z
  .object({
    messageId: z.string(),
    from: z.string().nullable(),
    decision: z.string().optional().describe('Agents only: why the mail landed on this ticket'),
    quoted: z.string().describe('Quoted history and signature cut from the body; show collapsed'),
    html: z.string().nullable().describe('The sanitized HTML of the mail, null for plain-text mail'),
    hasRaw: z.boolean().optional().describe('Agents only: the original .eml can be downloaded'),
  })
  .meta({ id: 'TicketMessageEmail' });

export const MessageResponse = z
  .object({
    id: z.uuid(),
    ticketId: z.uuid(),
    author: UserRef.nullable(),
    isInternal: z.boolean(),
    body: z.string(),
    channel: TicketChannel,
    mentions: z.array(z.uuid()),
    attachments: z.array(AttachmentResponse),
    splitToTicketId: z.uuid().nullable(),
    email: MessageEmail.nullable()
      .optional()
      .describe('For messages that came by mail, in the ticket detail (requesters: their own only)'),
    createdAt: z.string(),
  })
  .meta({ id: 'TicketMessage' });

export const MessageParams = z.object({ id: z.uuid(), messageId: z.uuid() });

export const LinkedTicket = z.object({
  id: z.uuid(),
  number: z.string(),
  title: z.string(),
  status: TicketStatus,
});

export const TicketDetailResponse = TicketResponse.extend({
  messages: z.array(MessageResponse),
  links: z.array(LinkedTicket),
  followers: z.array(UserRef),
  timeSpentMinutes: z.number().int().optional(),
}).meta({ id: 'TicketDetail' });

export const TicketEventResponse = z
  .object({
    id: z.uuid(),
    ticketId: z.uuid(),
    type: z.string(),
    actor: UserRef.nullable(),
    changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
    data: z.record(z.string(), z.unknown()),
    isInternal: z.boolean(),
    createdAt: z.string(),
  })
  .meta({ id: 'TicketEvent' });

export const TicketEventList = z.object({
  data: z.array(TicketEventResponse),
  meta: z.object({ limit: z.number().int(), nextCursor: z.string().nullable() }),
});
export const EventListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.uuid().optional().describe('Event id: return events after it (catch-up)'),
});

export const TimeEntryResponse = z.object({
  id: z.uuid(),
  user: UserRef.nullable(),
  minutes: z.number().int(),
  note: z.string(),
  createdAt: z.string(),
});
export const TimeEntries = z.object({
  data: z.array(TimeEntryResponse),
  totalMinutes: z.number().int(),
  byUser: z.array(z.object({ user: UserRef.nullable(), minutes: z.number().int() })),
});

export const BulkResult = z.object({
  updated: z.number().int(),
  failed: z.number().int(),
  results: z.array(
    z.object({
      id: z.uuid(),
      ok: z.boolean(),
      version: z.number().int().optional(),
      error: z.object({ code: z.string(), message: z.string() }).optional(),
    }),
  ),
});

export const TicketList = z
  .object({
    data: z.array(TicketResponse),
    meta: z.object({
      limit: z.number().int(),
      nextCursor: z.string().nullable(),
      page: z.number().int().nullable(),
      total: z
        .number()
        .int()
        .nullable()
        .describe('Known for saved views (maintained counts); null otherwise'),
    }),
    links: z.object({ self: z.string(), next: z.string().nullable() }),
  })
  .meta({ id: 'TicketList' });
