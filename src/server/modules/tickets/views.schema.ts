import { z } from 'zod';
import { TicketFilters, TicketSort } from './tickets.filters.js';

/** Views one user owns, or one team shares, at most (each view adds work to every ticket change). */
export const MAX_VIEWS_PER_SCOPE = 50;

const ViewName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  .refine((value) => !/[\u0000-\u001f\u007f]/.test(value), 'must not contain control characters');
const Position = z.number().int().min(0).max(10_000);

export const CreateViewBody = z
  .object({
    name: ViewName,
    filters: TicketFilters,
    sort: TicketSort.optional().describe('Default: relevance with a text query, else -createdAt'),
    teamId: z.uuid().optional().describe('Share with this team instead of keeping the view personal'),
    position: Position.optional(),
  })
  .strict();

export const UpdateViewBody = z
  .object({
    name: ViewName.optional(),
    filters: TicketFilters.optional().describe('Replaces the filters; the count is recomputed'),
    sort: TicketSort.optional(),
    position: Position.optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const ViewResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scope: z.enum(['personal', 'team']),
    ownerId: z.uuid().nullable(),
    team: z.object({ id: z.uuid(), name: z.string() }).nullable(),
    filters: TicketFilters,
    sort: TicketSort,
    position: z.number().int(),
    count: z.number().int().describe('Tickets matching the filters in the organisation, maintained'),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'SavedView' });
export type ViewResponse = z.infer<typeof ViewResponse>;

export const ViewList = z.object({ data: z.array(ViewResponse) });

export const ViewCountList = z.object({
  data: z.array(z.object({ id: z.uuid(), count: z.number().int() })),
});
