import type { z } from 'zod';
import type { Database, Executor } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { Actor } from '../identity/index.js';
import type { TicketActionInput, TicketActionsService } from '../tickets/index.js';
import { assertValidTemplate, renderTemplate } from './render.js';
import { isVisible, requireAgent, requireManage } from './templates.policy.js';
import { presentCannedResponse, presentMacro } from './templates.presenter.js';
import * as repo from './templates.repository.js';
import {
  type CreateCannedResponseBody,
  type CreateMacroBody,
  MacroActions,
  type UpdateCannedResponseBody,
  type UpdateMacroBody,
} from './templates.schema.js';

/** What the template services need: the database, the public URL and the tickets module. */
export interface TemplatesContext {
  database: Database;
  /** Base of `{{ticket.url}}`. */
  publicUrl: string;
  /** Ticket reads and changes go through the tickets module's use cases. */
  actions: TicketActionsService;
}

/** The owner a row gets: none when shared, the caller when personal. */
const ownerFor = (actor: Actor, shared: boolean) => (shared ? null : actor.userId);

/** Canned responses: reply templates, shared or personal, rendered for a ticket on use. */
export class CannedResponsesService {
  constructor(private readonly context: TemplatesContext) {}

  async list(actor: Actor, q: string | undefined) {
    requireAgent(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) => ({
      data: (await repo.listCannedResponses(tx, actor.orgId, actor.userId, q || undefined)).map(
        presentCannedResponse,
      ),
    }));
  }

  async create(actor: Actor, input: z.output<typeof CreateCannedResponseBody>) {
    requireAgent(actor);
    requireManage(actor, input.shared, 'A shared canned response');
    assertValidTemplate(input.body, 'body');
    return this.context.database.withOrg(actor.orgId, async (tx) =>
      presentCannedResponse(
        await repo.insertCannedResponse(tx, {
          orgId: actor.orgId,
          ownerId: ownerFor(actor, input.shared),
          title: input.title,
          body: input.body,
        }),
      ),
    );
  }

  async get(actor: Actor, id: string) {
    requireAgent(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) =>
      presentCannedResponse(await this.visible(tx, actor, id)),
    );
  }

  async update(actor: Actor, id: string, input: z.output<typeof UpdateCannedResponseBody>) {
    requireAgent(actor);
    if (input.body !== undefined) assertValidTemplate(input.body, 'body');
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const row = await this.visible(tx, actor, id);
      const shared = input.shared ?? row.ownerId === null;
      requireManage(actor, row.ownerId === null || shared, 'Changing a shared canned response');
      const updated = await repo.updateCannedResponse(tx, actor.orgId, row.id, {
        ...(input.title === undefined ? {} : { title: input.title }),
        ...(input.body === undefined ? {} : { body: input.body }),
        ...(input.shared === undefined ? {} : { ownerId: ownerFor(actor, shared) }),
      });
      return presentCannedResponse(updated);
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAgent(actor);
    await this.context.database.withOrg(actor.orgId, async (tx) => {
      const row = await this.visible(tx, actor, id);
      requireManage(actor, row.ownerId === null, 'Deleting a shared canned response');
      await repo.deleteCannedResponse(tx, actor.orgId, row.id);
    });
  }

  /** The body rendered for a ticket the caller may see, with the caller as the agent. */
  async render(actor: Actor, id: string, ticketId: string) {
    requireAgent(actor);
    const row = await this.context.database.withOrg(actor.orgId, (tx) => this.visible(tx, actor, id));
    const context = await this.context.actions.renderContext(actor, ticketId);
    return { body: renderTemplate(row.body, context, this.context.publicUrl) };
  }

  private async visible(tx: Executor, actor: Actor, id: string) {
    const row = await repo.findCannedResponse(tx, actor.orgId, id);
    if (!row || !isVisible(actor, row)) throw notFound('Canned response');
    return row;
  }
}

/** Macros: a named set of field changes and a reply, applied to a ticket in one action. */
export class MacrosService {
  constructor(private readonly context: TemplatesContext) {}

  async list(actor: Actor) {
    requireAgent(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) => ({
      data: (await repo.listMacros(tx, actor.orgId, actor.userId)).map(presentMacro),
    }));
  }

  async create(actor: Actor, input: z.output<typeof CreateMacroBody>) {
    requireAgent(actor);
    requireManage(actor, input.shared, 'A shared macro');
    assertValidActions(input.actions);
    return this.context.database.withOrg(actor.orgId, async (tx) =>
      presentMacro(
        await repo.insertMacro(tx, {
          orgId: actor.orgId,
          ownerId: ownerFor(actor, input.shared),
          name: input.name,
          actions: input.actions,
        }),
      ),
    );
  }

  async get(actor: Actor, id: string) {
    requireAgent(actor);
    return this.context.database.withOrg(actor.orgId, async (tx) =>
      presentMacro(await this.visible(tx, actor, id)),
    );
  }

  async update(actor: Actor, id: string, input: z.output<typeof UpdateMacroBody>) {
    requireAgent(actor);
    if (input.actions) assertValidActions(input.actions);
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const row = await this.visible(tx, actor, id);
      const shared = input.shared ?? row.ownerId === null;
      requireManage(actor, row.ownerId === null || shared, 'Changing a shared macro');
      const updated = await repo.updateMacro(tx, actor.orgId, row.id, {
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.actions === undefined ? {} : { actions: input.actions }),
        ...(input.shared === undefined ? {} : { ownerId: ownerFor(actor, shared) }),
      });
      return presentMacro(updated);
    });
  }

  async remove(actor: Actor, id: string): Promise<void> {
    requireAgent(actor);
    await this.context.database.withOrg(actor.orgId, async (tx) => {
      const row = await this.visible(tx, actor, id);
      requireManage(actor, row.ownerId === null, 'Deleting a shared macro');
      await repo.deleteMacro(tx, actor.orgId, row.id);
    });
  }

  /**
   * Applies a macro to a ticket: all its actions in one transaction of the tickets module,
   * the reply rendered there from the ticket as the changes left it. Any refused part (an
   * illegal status, a reassignment without ticket:reassign, …) applies nothing.
   */
  async apply(actor: Actor, ticketId: string, macroId: string, expectedVersion: number | undefined) {
    requireAgent(actor);
    const row = await this.context.database.withOrg(actor.orgId, (tx) => this.visible(tx, actor, macroId));
    const parsed = MacroActions.safeParse(row.actions);
    if (!parsed.success)
      throw new AppError('UNPROCESSABLE', 'The macro’s actions are no longer valid; edit the macro', {
        details: { actions: parsed.error.issues.map((issue) => issue.message) },
      });
    const { reply, assigneeId, ...fields } = parsed.data;
    const input: TicketActionInput = {
      changes: {
        ...fields,
        ...(assigneeId === undefined ? {} : { assigneeId: assigneeId === 'me' ? actor.userId : assigneeId }),
      },
      expectedVersion,
    };
    if (reply) {
      const { publicUrl } = this.context;
      input.message = {
        internal: reply.internal,
        body: (context) => renderTemplate(reply.body, context, publicUrl),
      };
    }
    return this.context.actions.apply(actor, ticketId, input);
  }

  private async visible(tx: Executor, actor: Actor, id: string) {
    const row = await repo.findMacro(tx, actor.orgId, id);
    if (!row || !isVisible(actor, row)) throw notFound('Macro');
    return row;
  }
}

function assertValidActions(actions: z.output<typeof MacroActions>): void {
  if (actions.reply) assertValidTemplate(actions.reply.body, 'actions.reply.body');
}
