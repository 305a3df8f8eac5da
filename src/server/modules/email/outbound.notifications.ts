import { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import type { EventEnvelope } from '../../platform/events/events.js';
import { type DirectoryUser, directory } from '../identity/index.js';
import {
  TicketAssigned,
  TicketEscalated,
  type TicketEventPayload,
  TicketMessageCreated,
  type TicketRow,
  type TicketsModule,
} from '../tickets/index.js';
import { firstName } from './mail-templates.service.js';

export type AgentMailKind = 'assignment' | 'mention' | 'sla';

/** Who an agent notification goes to and what it says, before each recipient's own values. */
export interface AgentNotification {
  kind: AgentMailKind;
  recipients: DirectoryUser[];
  values: Record<string, string>;
  ticketMessageId: string | null;
}

const Ids = z.array(z.uuid()).catch([]);

/** The agent notification an event may cause, decided from the event alone. */
export function agentMailKind(
  envelope: EventEnvelope,
  payload: TicketEventPayload,
): AgentMailKind | undefined {
  if (envelope.event === TicketAssigned.name) return 'assignment';
  if (envelope.event === TicketEscalated.name) return 'sla';
  if (envelope.event === TicketMessageCreated.name && Ids.parse(payload.data.mentions).length > 0)
    return 'mention';
  return undefined;
}

/**
 * The agents an event notifies by mail: the new assignee (unless they took the ticket
 * themselves; automatic assignments always tell), each agent mentioned but the author, the
 * escalation's recipients. Only active agents with an address: requesters never get these,
 * since a mention may quote an internal note.
 */
export async function agentNotification(
  tx: Executor,
  tickets: Pick<TicketsModule, 'system'>,
  envelope: EventEnvelope,
  payload: TicketEventPayload,
  ticket: TicketRow,
): Promise<AgentNotification | undefined> {
  const kind = agentMailKind(envelope, payload);
  const actorId = envelope.actorId;
  let ids: string[] = [];
  let ticketMessageId: string | null = null;
  const values: Record<string, string> = {};
  if (kind === 'assignment') {
    const assigneeId = z.uuid().safeParse(payload.changes.assigneeId?.to);
    const automatic = payload.data.automatic === true;
    if (!assigneeId.success || (assigneeId.data === actorId && !automatic)) return undefined;
    ids = [assigneeId.data];
    Object.assign(values, await actorValues(tx, ticket.orgId, automatic ? null : actorId));
    if (automatic || !actorId)
      values['agent.name'] =
        payload.data.reason === 'sla_escalation' ? 'SLA escalation' : 'automatic assignment';
  } else if (kind === 'mention') {
    const messageId = String(payload.data.messageId ?? '');
    const message = messageId
      ? await tickets.system.message(tx, ticket.orgId, ticket.id, messageId)
      : undefined;
    if (!message) return undefined;
    ids = Ids.parse(payload.data.mentions).filter((id) => id !== message.authorId && id !== actorId);
    ticketMessageId = message.id;
    Object.assign(values, await actorValues(tx, ticket.orgId, message.authorId));
    values['message.body'] = message.body;
    values['message.type'] = message.isInternal ? 'internal note' : 'reply';
  } else if (kind === 'sla') {
    ids = Ids.parse(payload.data.recipients);
    values['sla.level'] = String(payload.data.level ?? '');
    values['sla.trigger'] = payload.data.trigger === 'at_risk' ? 'at risk' : 'breached';
    values['sla.clock'] = String(payload.data.timerKind ?? '').replaceAll('_', ' ');
  } else {
    return undefined;
  }
  const users = await directory.users(tx, ticket.orgId, ids);
  const recipients = [...users.values()].filter(
    (user) => user.isActive && user.role !== 'requester' && user.email.includes('@'),
  );
  return recipients.length > 0 ? { kind, recipients, values, ticketMessageId } : undefined;
}

/** `recipient.*` of one recipient. */
export function recipientValues(user: DirectoryUser): Record<string, string> {
  return { 'recipient.name': user.name, 'recipient.first_name': firstName(user.name) };
}

/** `agent.*`: the person who acted, empty for the system. */
export async function actorValues(
  tx: Executor,
  orgId: string,
  userId: string | null,
): Promise<Record<string, string>> {
  const user = userId ? (await directory.users(tx, orgId, [userId])).get(userId) : undefined;
  return { 'agent.name': user?.name ?? '', 'agent.first_name': user ? firstName(user.name) : '' };
}
