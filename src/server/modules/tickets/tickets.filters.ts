import { and, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import { AppError } from '../../platform/http/app-error.js';
import type { FieldDefinition } from './custom-fields.js';
import { Tag, TicketChannel, TicketPriority, TicketStatus } from './tickets.schema.js';
import { tickets } from './tickets.table.js';

/**
 * Ticket filters: one shape for list query strings, saved views and view counts, turned
 * into SQL by one function, so a view counts exactly the tickets its list shows.
 */
export const TicketFilters = z
  .object({
    status: z.array(TicketStatus).max(7).optional(),
    priority: z.array(TicketPriority).max(4).optional(),
    /** A user id, `me` (the viewer) or `none` (unassigned). */
    assignee: z.union([z.uuid(), z.literal('me'), z.literal('none')]).optional(),
    /** A team id or `none`. */
    team: z.union([z.uuid(), z.literal('none')]).optional(),
    requester: z.union([z.uuid(), z.literal('me')]).optional(),
    /** Tickets carrying every one of these tags. */
    tag: z.array(Tag).max(20).optional(),
    /** A category; its sub-categories are included. */
    category: z.uuid().optional(),
    channel: z.array(TicketChannel).max(5).optional(),
    createdFrom: z.iso.datetime({ offset: true }).optional(),
    createdTo: z.iso.datetime({ offset: true }).optional(),
    updatedFrom: z.iso.datetime({ offset: true }).optional(),
    updatedTo: z.iso.datetime({ offset: true }).optional(),
    /** Custom field values by key, as strings (typed by the field definitions). */
    fields: z.record(z.string().max(64), z.string().max(1_000)).optional(),
    q: z.string().trim().min(1).max(500).optional(),
  })
  .strict();
export type TicketFilters = z.infer<typeof TicketFilters>;

export const SORTS = [
  'createdAt',
  '-createdAt',
  'updatedAt',
  '-updatedAt',
  'lastActivityAt',
  '-lastActivityAt',
  'priority',
  '-priority',
  'relevance',
] as const;
export const TicketSort = z.enum(SORTS);
export type TicketSort = z.infer<typeof TicketSort>;

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));

/** `GET /tickets` query string: filters (lists comma-separated, `cf.<key>=value`), sort, paging. */
export const TicketListQuery = z
  .object({
    status: list(TicketStatus).optional(),
    priority: list(TicketPriority).optional(),
    assignee: z.union([z.uuid(), z.literal('me'), z.literal('none')]).optional(),
    team: z.union([z.uuid(), z.literal('none')]).optional(),
    requester: z.union([z.uuid(), z.literal('me')]).optional(),
    tag: list(Tag).optional(),
    category: z.uuid().optional(),
    channel: list(TicketChannel).optional(),
    createdFrom: z.iso.datetime({ offset: true }).optional(),
    createdTo: z.iso.datetime({ offset: true }).optional(),
    updatedFrom: z.iso.datetime({ offset: true }).optional(),
    updatedTo: z.iso.datetime({ offset: true }).optional(),
    q: z.string().trim().min(1).max(500).optional(),
    view: z.uuid().optional().describe('A saved view: its filters apply, then these'),
    sort: TicketSort.optional(),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(500).optional(),
    page: z.coerce.number().int().min(1).max(200).optional().describe('Offset paging (first 200 pages)'),
  })
  .catchall(z.string().max(1_000))
  .superRefine((query, context) => {
    for (const key of Object.keys(query)) {
      if (KNOWN_KEYS.has(key) || /^cf\.[A-Za-z0-9_]{1,64}$/.test(key)) continue;
      context.addIssue({ code: 'custom', path: [key], message: 'unknown query parameter' });
    }
  });
export type TicketListQuery = z.infer<typeof TicketListQuery>;

const KNOWN_KEYS = new Set([
  'status',
  'priority',
  'assignee',
  'team',
  'requester',
  'tag',
  'category',
  'channel',
  'createdFrom',
  'createdTo',
  'updatedFrom',
  'updatedTo',
  'q',
  'view',
  'sort',
  'limit',
  'cursor',
  'page',
]);

/** The filter part of a list query. */
export function filtersOfQuery(query: TicketListQuery): TicketFilters {
  const filters: Record<string, unknown> = {};
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (key.startsWith('cf.')) fields[key.slice(3)] = String(value);
    else if (!['view', 'sort', 'limit', 'cursor', 'page'].includes(key)) filters[key] = value;
  }
  if (Object.keys(fields).length > 0) filters.fields = fields;
  return TicketFilters.parse(filters);
}

/** Filters of a saved view overlaid with the request's own (the request wins per key). */
export function mergeFilters(base: TicketFilters, overlay: TicketFilters): TicketFilters {
  return { ...base, ...overlay, fields: { ...base.fields, ...overlay.fields } };
}

/** Everything the SQL needs that filters only name: the viewer, the category tree, field types. */
export interface FilterContext {
  userId: string;
  /** Category id → ids of its children, for sub-category expansion. */
  categoryChildren: ReadonlyMap<string, readonly string[]>;
  fields: readonly FieldDefinition[];
  /** Text search condition, supplied by the search module. */
  textCondition: (q: string) => SQL;
}

function descendants(children: FilterContext['categoryChildren'], root: string): string[] {
  const found = [root];
  for (let index = 0; index < found.length; index += 1) {
    for (const child of children.get(found[index]!) ?? []) if (!found.includes(child)) found.push(child);
  }
  return found;
}

const uuidList = (ids: readonly string[]) =>
  sql`(${sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  )})`;
const textList = (values: readonly string[]) =>
  sql`(${sql.join(
    values.map((value) => sql`${value}`),
    sql`, `,
  )})`;

/** A custom field filter value as stored JSON, typed by its definition. */
function fieldCondition(definition: FieldDefinition, raw: string): SQL {
  let value: unknown;
  switch (definition.type) {
    case 'number':
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw badField(definition.key, 'must be a number');
      break;
    case 'checkbox':
      if (raw !== 'true' && raw !== 'false') throw badField(definition.key, 'must be true or false');
      value = raw === 'true';
      break;
    case 'multi_select':
      value = [raw];
      break;
    default:
      value = raw;
  }
  return sql`${tickets.customFields} @> ${JSON.stringify({ [definition.key]: value })}::jsonb`;
}

/** A 400 about one query parameter, in the shape schema validation errors have. */
export const queryError = (path: string, summary: string, message: string) =>
  new AppError('VALIDATION_FAILED', summary, { details: [{ location: 'querystring', path, message }] });

const badField = (key: string, message: string) =>
  queryError(`cf.${key}`, `Invalid filter cf.${key}: ${message}`, message);

/** The WHERE conditions of filters over live tickets (deleted ones never match). */
export function filterConditions(filters: TicketFilters, context: FilterContext): SQL {
  const conditions: SQL[] = [sql`${tickets.deletedAt} is null`];
  if (filters.status?.length) conditions.push(sql`${tickets.status} in ${textList(filters.status)}`);
  if (filters.priority?.length) conditions.push(sql`${tickets.priority} in ${textList(filters.priority)}`);
  if (filters.channel?.length) conditions.push(sql`${tickets.channel} in ${textList(filters.channel)}`);
  if (filters.assignee === 'none') conditions.push(sql`${tickets.assigneeId} is null`);
  else if (filters.assignee) {
    const assignee = filters.assignee === 'me' ? context.userId : filters.assignee;
    conditions.push(sql`${tickets.assigneeId} = ${assignee}::uuid`);
  }
  if (filters.team === 'none') conditions.push(sql`${tickets.teamId} is null`);
  else if (filters.team) conditions.push(sql`${tickets.teamId} = ${filters.team}::uuid`);
  if (filters.requester) {
    const requester = filters.requester === 'me' ? context.userId : filters.requester;
    conditions.push(sql`${tickets.requesterId} = ${requester}::uuid`);
  }
  if (filters.tag?.length) {
    conditions.push(
      sql`${tickets.tags} @> array[${sql.join(
        filters.tag.map((tag) => sql`${tag}`),
        sql`, `,
      )}]::text[]`,
    );
  }
  if (filters.category) {
    conditions.push(
      sql`${tickets.categoryId} in ${uuidList(descendants(context.categoryChildren, filters.category))}`,
    );
  }
  if (filters.createdFrom) conditions.push(sql`${tickets.createdAt} >= ${filters.createdFrom}::timestamptz`);
  if (filters.createdTo) conditions.push(sql`${tickets.createdAt} < ${filters.createdTo}::timestamptz`);
  if (filters.updatedFrom) conditions.push(sql`${tickets.updatedAt} >= ${filters.updatedFrom}::timestamptz`);
  if (filters.updatedTo) conditions.push(sql`${tickets.updatedAt} < ${filters.updatedTo}::timestamptz`);
  for (const [key, raw] of Object.entries(filters.fields ?? {})) {
    const definition = context.fields.find((field) => field.key === key && !field.archivedAt);
    if (!definition) throw badField(key, 'no such custom field');
    conditions.push(fieldCondition(definition, raw));
  }
  if (filters.q) conditions.push(context.textCondition(filters.q));
  return and(...conditions)!;
}

/** The column a sort walks, besides `id` as the tie-breaker. */
export function sortColumn(sort: Exclude<TicketSort, 'relevance'>) {
  const name = sort.replace(/^-/, '') as 'createdAt' | 'updatedAt' | 'lastActivityAt' | 'priority';
  const column = name === 'priority' ? tickets.priorityRank : tickets[name];
  return { column, descending: sort.startsWith('-'), name };
}

/**
 * The ORDER BY of a sort, `id` breaking ties. Each sort column has an index (org_id, column
 * DESC NULLS LAST, id DESC NULLS LAST). The columns are NOT NULL, but the planner only walks
 * an index whose NULL placement matches the ORDER BY: descending as built, ascending as its
 * backward scan.
 */
export function sortOrder(sort: Exclude<TicketSort, 'relevance'>): SQL[] {
  const { column, descending } = sortColumn(sort);
  return descending
    ? [sql`${column} desc nulls last`, sql`${tickets.id} desc nulls last`]
    : [sql`${column} asc nulls first`, sql`${tickets.id} asc nulls first`];
}

/** Opaque keyset cursor: the sort value and id of the last row of a page. */
export interface Cursor {
  sort: TicketSort;
  value: string | number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  try {
    const parsed = z
      .object({ sort: TicketSort, value: z.union([z.string(), z.number()]), id: z.uuid() })
      .parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    return parsed;
  } catch {
    throw queryError('cursor', 'Invalid cursor', 'not a cursor this API issued');
  }
}
