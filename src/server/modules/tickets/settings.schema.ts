import { z } from 'zod';
import { FieldType } from './tickets.schema.js';

/** Request and response contracts of ticket categories and custom field definitions. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const label = (max: number) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max, `must be at most ${max} characters`)
    .refine((value) => !CONTROL.test(value), 'must not contain control characters');
const Position = z.number().int().min(0).max(1_000_000).describe('Sort order among siblings, ascending');
const Timestamp = z.iso.datetime();

export const CategoryName = label(100);

export const CreateCategoryBody = z
  .object({
    name: CategoryName,
    parentId: z.uuid().nullish().describe('The parent category; omitted or null for a top-level one'),
    position: Position.default(0),
  })
  .strict();

export const UpdateCategoryBody = z
  .object({
    name: CategoryName.optional(),
    parentId: z.uuid().nullable().optional().describe('Moves the category; null makes it top-level'),
    position: Position.optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const CategoryResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    parentId: z.uuid().nullable(),
    path: z.string().describe('Names from the top-level category down, like "Hardware / Printers"'),
    position: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'TicketCategory' });

export const CategoryList = z
  .object({ data: z.array(CategoryResponse).describe('Depth first: each category before its children') })
  .meta({ id: 'TicketCategoryList' });

/** Keys name values in `customFields` and in `cf.<key>` list filters. */
export const FieldKey = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,63}$/,
    'must be lower snake_case (a-z, 0-9, _), start with a letter, 1–64 characters',
  );

export const FieldOptions = z
  .array(label(200))
  .min(1, 'must list at least one option')
  .max(200)
  .refine((options) => new Set(options).size === options.length, 'options must be unique');

const immutable = (what: string) =>
  z.unknown().optional().describe(`Immutable: sending ${what} answers 422 (create a new field instead)`);

export const CreateFieldBody = z
  .object({
    key: FieldKey,
    label: label(200),
    type: FieldType,
    options: FieldOptions.optional().describe('Required for select and multi_select; refused otherwise'),
    required: z.boolean().default(false).describe('Checked when a ticket is opened'),
    visibleToRequester: z.boolean().default(false),
    position: Position.default(0),
  })
  .strict();

export const UpdateFieldBody = z
  .object({
    label: label(200).optional(),
    options: FieldOptions.optional().describe(
      'Replaces the options (select and multi_select). Removed options stay on tickets that have them',
    ),
    required: z.boolean().optional(),
    visibleToRequester: z.boolean().optional(),
    position: Position.optional(),
    key: immutable('key'),
    type: immutable('type'),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const FieldListQuery = z
  .object({
    includeArchived: z
      .enum(['true', 'false'])
      .optional()
      .describe('Agents only: include archived fields (never accepted in writes or filters)'),
  })
  .strict();

export const FieldResponse = z
  .object({
    id: z.uuid(),
    key: z.string(),
    label: z.string(),
    type: FieldType,
    options: z.array(z.string()),
    required: z.boolean(),
    visibleToRequester: z.boolean(),
    position: z.number().int(),
    archivedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'TicketField' });

export const FieldList = z.object({ data: z.array(FieldResponse) }).meta({ id: 'TicketFieldList' });
