import { z } from 'zod';
import { Body, Tags, TicketPriority, TicketStatus, Title } from '../tickets/index.js';
import { TEMPLATE_VARIABLES } from './render.js';

/** Request and response contracts of canned responses and macros. */

const Timestamp = z.iso.datetime();
const variables = TEMPLATE_VARIABLES.map((name) => `{{${name}}}`).join(', ');
const TemplateBody = Body.describe(
  `Plain text with variables, rendered on use: ${variables}. Only plain {{variable}} tags are allowed.`,
);
const Shared = z
  .boolean()
  .describe('Shared with every agent of the organisation (needs admin:settings or ticket:reassign)');

export const IdParams = z.object({ id: z.uuid() });
export const ApplyMacroParams = z.object({ id: z.uuid(), macroId: z.uuid() });

export const CreateCannedResponseBody = z
  .object({ title: Title, body: TemplateBody, shared: Shared.default(false) })
  .strict();

export const UpdateCannedResponseBody = z
  .object({ title: Title.optional(), body: TemplateBody.optional(), shared: Shared.optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const CannedResponseListQuery = z.object({
  q: z.string().trim().max(200).optional().describe('Only titles containing this text (case-insensitive)'),
});

export const RenderBody = z.object({ ticketId: z.uuid() }).strict();
export const RenderResponse = z.object({ body: z.string() });

export const CannedResponse = z
  .object({
    id: z.uuid(),
    title: z.string(),
    body: z.string(),
    shared: z.boolean(),
    ownerId: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'CannedResponse' });

export const CannedResponseList = z
  .object({ data: z.array(CannedResponse).describe('Shared ones and the caller’s own, by title') })
  .meta({ id: 'CannedResponseList' });

/** What a macro does, applied in this order: status, team and assignee, priority, tags, reply. */
export const MacroActions = z
  .object({
    status: TicketStatus.exclude(['new'])
      .optional()
      .describe('Must be a legal transition from the ticket’s status when applied'),
    priority: TicketPriority.optional(),
    teamId: z.uuid().nullable().optional(),
    assigneeId: z
      .union([z.uuid(), z.literal('me'), z.null()])
      .optional()
      .describe('A user id, `me` (whoever applies the macro) or null to unassign'),
    addTags: Tags.optional(),
    removeTags: Tags.optional(),
    reply: z
      .object({
        body: TemplateBody,
        internal: z.boolean().default(false).describe('An internal note instead of a public reply'),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((actions) => Object.values(actions).some((value) => value !== undefined), {
    message: 'give at least one action',
  });
export type MacroActions = z.output<typeof MacroActions>;

const MacroName = Title.describe('Shown in the agent’s macro menu');

export const CreateMacroBody = z
  .object({ name: MacroName, actions: MacroActions, shared: Shared.default(false) })
  .strict();

export const UpdateMacroBody = z
  .object({ name: MacroName.optional(), actions: MacroActions.optional(), shared: Shared.optional() })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const ApplyMacroBody = z
  .object({
    version: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('The ticket version you saw: a stale one answers 409 and nothing is applied'),
  })
  .strict()
  .nullish()
  .describe('Optional: without a body the macro applies to whatever version the ticket is at');

export const Macro = z
  .object({
    id: z.uuid(),
    name: z.string(),
    actions: z.object({
      status: TicketStatus.optional(),
      priority: TicketPriority.optional(),
      teamId: z.uuid().nullable().optional(),
      assigneeId: z.string().nullable().optional(),
      addTags: z.array(z.string()).optional(),
      removeTags: z.array(z.string()).optional(),
      reply: z.object({ body: z.string(), internal: z.boolean() }).optional(),
    }),
    shared: z.boolean(),
    ownerId: z.uuid().nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Macro' });

export const MacroList = z
  .object({ data: z.array(Macro).describe('Shared ones and the caller’s own, by name') })
  .meta({ id: 'MacroList' });
