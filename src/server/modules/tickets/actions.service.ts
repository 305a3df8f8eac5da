import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import type { MessagesService } from './messages.service.js';
import {
  applyChange,
  combine,
  NO_CHANGE,
  planAssignment,
  planFields,
  planStatus,
  planTags,
} from './ticket-changes.js';
import type { TicketStatus } from './ticket-status.js';
import { changingTicket, type TicketsContext, viewerOf, visibleTicket } from './tickets.context.js';
import { requirePermission } from './tickets.policy.js';
import type * as repo from './tickets.repository.js';
import { Body } from './tickets.schema.js';
import { assertVersion, type TicketsService } from './tickets.service.js';

/** Field changes applied together; absent fields stay as they are. */
export interface TicketFieldChanges {
  status?: TicketStatus;
  priority?: repo.TicketRow['priority'];
  teamId?: string | null;
  assigneeId?: string | null;
  addTags?: readonly string[];
  removeTags?: readonly string[];
}

/** What a reply template may say about a ticket, as the acting agent sees it. */
export interface TicketRenderContext {
  ticket: Pick<repo.TicketRow, 'id' | 'number' | 'title' | 'status' | 'priority'>;
  requester: { name: string; email: string };
  agent: { name: string; email: string };
}

export interface TicketActionInput {
  changes: TicketFieldChanges;
  /**
   * A reply or note, written after the changes (before closing, for a reply that closes the
   * ticket). A function body is rendered inside the transaction from the ticket as the
   * changes leave it, so the text matches what is stored.
   */
  message?: { body: string | ((context: TicketRenderContext) => string); internal: boolean };
  /** The ticket version the caller saw; a stale one is a 409 and nothing is applied. */
  expectedVersion?: number;
}

/**
 * Several ticket changes and a message as one use case (macros): one transaction, so an
 * illegal part (a forbidden status, an assignee outside the team, a closed ticket) leaves
 * the ticket, its conversation and its timeline exactly as they were.
 */
export class TicketActionsService {
  constructor(
    private readonly context: TicketsContext,
    private readonly tickets: TicketsService,
    private readonly messages: MessagesService,
  ) {}

  async apply(actor: Actor, ticketId: string, input: TicketActionInput) {
    authorize(actor, input);
    const { changes, message } = input;
    // A closed ticket takes no public reply, so "reply and close" closes after replying;
    // every other change comes first, and the reply sees the ticket as they left it.
    const closing = message !== undefined && !message.internal && changes.status === 'closed';
    return this.context.database.withOrg(
      actor.orgId,
      async (tx) => {
        const viewer = await viewerOf(this.context, tx, actor);
        let ticket = await visibleTicket(tx, viewer, ticketId, { lock: true });
        assertVersion(ticket, input.expectedVersion);
        ticket = await this.change(tx, actor, ticket, closing ? { ...changes, status: undefined } : changes);
        if (message) ticket = await this.write(tx, actor, ticket, message, changes.status ?? ticket.status);
        if (closing) ticket = await this.change(tx, actor, ticket, { status: 'closed' });
        return this.tickets.detail(tx, viewer, ticket);
      },
      changingTicket(this.context, actor.orgId, ticketId),
    );
  }

  /** The values reply templates render from, for a ticket the actor may see (404 otherwise). */
  async renderContext(actor: Actor, ticketId: string): Promise<TicketRenderContext> {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const ticket = await visibleTicket(tx, await viewerOf(this.context, tx, actor), ticketId);
      return renderContextOf(tx, actor, ticket);
    });
  }

  /** Plans and applies field changes on a locked ticket; any part not allowed throws. */
  private async change(
    tx: Executor,
    actor: Actor,
    ticket: repo.TicketRow,
    changes: TicketFieldChanges,
  ): Promise<repo.TicketRow> {
    const planned = combine(
      changes.status === undefined ? NO_CHANGE : planStatus(ticket, changes.status),
      changes.teamId !== undefined || changes.assigneeId !== undefined
        ? await planAssignment(tx, actor, ticket, changes)
        : NO_CHANGE,
      planTags(ticket, changes.addTags, changes.removeTags),
      planFields(ticket, { priority: changes.priority }),
    );
    return applyChange(tx, this.context, actor, ticket, planned);
  }

  /** Renders (when the body is a template) and writes the message; `status` is the one to show. */
  private async write(
    tx: Executor,
    actor: Actor,
    ticket: repo.TicketRow,
    message: NonNullable<TicketActionInput['message']>,
    status: TicketStatus,
  ): Promise<repo.TicketRow> {
    const text =
      typeof message.body === 'function'
        ? message.body(await renderContextOf(tx, actor, { ...ticket, status }))
        : message.body;
    const parsed = Body.safeParse(text);
    if (!parsed.success)
      throw new AppError('UNPROCESSABLE', 'The message is not a valid reply', {
        details: { body: parsed.error.issues.map((issue) => issue.message) },
      });
    const written = await this.messages.write(
      tx,
      actor,
      ticket,
      { body: parsed.data, mentions: [], attachmentIds: [] },
      message.internal,
    );
    return written.ticket;
  }
}

/**
 * Permissions that do not depend on the ticket, checked before any transaction opens.
 * Actions are an agent's tool: every one needs ticket:reply, as editing a ticket does.
 */
function authorize(actor: Actor, input: TicketActionInput): void {
  requirePermission(actor, 'ticket:reply', 'Changing a ticket');
  if (input.changes.teamId !== undefined || input.changes.assigneeId !== undefined)
    requirePermission(actor, 'ticket:assign', 'Assigning a ticket');
  if (input.message?.internal) requirePermission(actor, 'ticket:note', 'Writing an internal note');
}

async function renderContextOf(
  tx: Executor,
  actor: Actor,
  ticket: repo.TicketRow,
): Promise<TicketRenderContext> {
  const users = await directory.users(tx, actor.orgId, [ticket.requesterId, actor.userId]);
  const person = (id: string) => {
    const user = users.get(id);
    return { name: user?.name ?? '', email: user?.email ?? '' };
  };
  return {
    ticket: {
      id: ticket.id,
      number: ticket.number,
      title: ticket.title,
      status: ticket.status,
      priority: ticket.priority,
    },
    requester: person(ticket.requesterId),
    agent: person(actor.userId),
  };
}
