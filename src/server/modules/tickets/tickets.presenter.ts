import type { DirectoryTeam, DirectoryUser } from '../identity/index.js';
import { type FieldDefinition, requesterVisibleFields } from './custom-fields.js';
import type { MessageMail } from './tickets.context.js';
import type { AttachmentRow, MessageRow, TicketEventRow, TicketRow } from './tickets.repository.js';

/** What presenting needs besides the rows: names of the people and teams they mention. */
export interface PresentContext {
  users: ReadonlyMap<string, DirectoryUser>;
  teams: ReadonlyMap<string, DirectoryTeam>;
  /** Agents see agent-only fields (tags, team, custom fields, first response). */
  agent: boolean;
  fields: readonly FieldDefinition[];
}

const iso = (date: Date | null) => (date ? date.toISOString() : null);

/** `{ id, name, email }` of a user, or null when there is none (or they are unknown). */
export function userRef(users: PresentContext['users'], id: string | null) {
  if (!id) return null;
  const user = users.get(id);
  return user ? { id: user.id, name: user.name, email: user.email } : null;
}

/** The known users among `ids`, in order, as `{ id, name, email }`. */
export function userRefs(users: PresentContext['users'], ids: readonly string[]) {
  return ids.flatMap((id) => {
    const ref = userRef(users, id);
    return ref ? [ref] : [];
  });
}

/** Ids of the users and teams a set of rows refers to, to load them in one query each. */
export function referencedIds(
  tickets: readonly TicketRow[] = [],
  messages: readonly MessageRow[] = [],
  events: readonly TicketEventRow[] = [],
) {
  const userIds = new Set<string>();
  const teamIds = new Set<string>();
  for (const ticket of tickets) {
    userIds.add(ticket.requesterId);
    if (ticket.assigneeId) userIds.add(ticket.assigneeId);
    if (ticket.teamId) teamIds.add(ticket.teamId);
  }
  for (const message of messages) if (message.authorId) userIds.add(message.authorId);
  for (const event of events) if (event.actorId) userIds.add(event.actorId);
  return { userIds: [...userIds], teamIds: [...teamIds] };
}

export function presentTicket(ticket: TicketRow, context: PresentContext) {
  const base = {
    id: ticket.id,
    number: ticket.number,
    title: ticket.title,
    description: ticket.description,
    status: ticket.status,
    priority: ticket.priority,
    channel: ticket.channel,
    categoryId: ticket.categoryId,
    assignee: userRef(context.users, ticket.assigneeId),
    requester: userRef(context.users, ticket.requesterId),
    resolvedAt: iso(ticket.resolvedAt),
    closedAt: iso(ticket.closedAt),
    mergedIntoId: ticket.mergedIntoId,
    version: ticket.version,
    createdAt: ticket.createdAt.toISOString(),
    updatedAt: ticket.updatedAt.toISOString(),
    lastActivityAt: ticket.lastActivityAt.toISOString(),
  };
  if (!context.agent) {
    return Object.assign(base, { customFields: requesterVisibleFields(context.fields, ticket.customFields) });
  }
  const team = ticket.teamId ? context.teams.get(ticket.teamId) : undefined;
  // Added to `base` rather than spread into a copy: lists present fifty of these per request.
  return Object.assign(base, {
    tags: ticket.tags,
    team: team ? { id: team.id, name: team.name } : null,
    customFields: ticket.customFields,
    firstResponseAt: iso(ticket.firstResponseAt),
  });
}

/** What presenting an attachment reads of its row. */
export type AttachmentFacts = Pick<
  AttachmentRow,
  'id' | 'fileName' | 'contentType' | 'sizeBytes' | 'sha256' | 'createdAt'
>;

export function presentAttachment(attachment: AttachmentFacts) {
  return {
    id: attachment.id,
    fileName: attachment.fileName,
    contentType: attachment.contentType,
    sizeBytes: attachment.sizeBytes,
    sha256: attachment.sha256,
    createdAt: attachment.createdAt.toISOString(),
  };
}

/** Who reads a conversation and the mail records of its messages (the ticket detail). */
export interface MailViewContext {
  agent: boolean;
  viewerId: string;
  /** The email module's records by Message-ID. */
  mail: ReadonlyMap<string, MessageMail>;
}

/**
 * The mail view of a message that came by mail. Requesters get it on their own messages
 * only (an agent's mail may quote what the requester was never sent), without the
 * threading decision or the raw .eml, which are for agents.
 */
function presentMessageEmail(message: MessageRow, context: MailViewContext) {
  if (message.emailMessageId === null) return null;
  if (!context.agent && message.authorId !== context.viewerId) return null;
  const record = context.mail.get(message.emailMessageId);
  const view = {
    messageId: message.emailMessageId,
    from: record?.from ?? null,
    quoted: message.quotedText ?? '',
    html: message.html,
  };
  if (!context.agent) return view;
  return {
    ...view,
    decision: record?.decision ?? '',
    hasRaw: Boolean(record?.rawStorageKey) || Boolean(record?.rawInDatabase) || Boolean(record?.inMailbox),
  };
}

export function presentMessage(
  message: MessageRow,
  attachments: readonly AttachmentFacts[],
  context: Pick<PresentContext, 'users'> & { mailView?: MailViewContext },
) {
  return {
    id: message.id,
    ticketId: message.ticketId,
    author: userRef(context.users, message.authorId),
    isInternal: message.isInternal,
    body: message.body,
    channel: message.channel,
    mentions: message.mentions,
    attachments: attachments.map(presentAttachment),
    splitToTicketId: message.splitToTicketId,
    ...(context.mailView ? { email: presentMessageEmail(message, context.mailView) } : {}),
    createdAt: message.createdAt.toISOString(),
  };
}

/**
 * Changes of ticket fields only agents see (as `presentTicket` leaves them out). Tags are
 * recorded as internal events already; a team moves with the assignee, in `assigned`.
 */
const AGENT_ONLY_CHANGES = new Set(['teamId', 'tags', 'firstResponseAt']);

/** The changes of an event a viewer may read: a requester's view leaves agent-only fields out. */
function changesFor(event: TicketEventRow, agent: boolean): TicketEventRow['changes'] {
  if (agent) return event.changes;
  return Object.fromEntries(Object.entries(event.changes).filter(([key]) => !AGENT_ONLY_CHANGES.has(key)));
}

/**
 * Whether a requester sees an event at all: never an internal one, nor a change (assignment,
 * update) that is left without any change they may read, such as a move to another team.
 */
function requesterSeesEvent(event: TicketEventRow): boolean {
  if (event.isInternal) return false;
  if (event.type !== 'assigned' && event.type !== 'updated') return true;
  return Object.keys(changesFor(event, false)).length > 0;
}

/**
 * The events a viewer sees: every one for an agent; for a requester, those
 * `requesterSeesEvent` keeps. The timeline, the live feed and collision checks all use it.
 */
export function eventsSeenBy<T extends TicketEventRow>(events: readonly T[], agent: boolean): readonly T[] {
  return agent ? events : events.filter(requesterSeesEvent);
}

/** A timeline event; `agent: false` is the requester's view of it (see `requesterSeesEvent`). */
export function presentEvent(event: TicketEventRow, context: Pick<PresentContext, 'users' | 'agent'>) {
  return {
    id: event.id,
    ticketId: event.ticketId,
    type: event.type,
    actor: userRef(context.users, event.actorId),
    changes: changesFor(event, context.agent),
    data: event.data,
    isInternal: event.isInternal,
    createdAt: event.createdAt.toISOString(),
  };
}
