import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { type EventOrigin, recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { Actor } from '../identity/index.js';
import {
  TicketCategoryCreated,
  TicketCategoryDeleted,
  TicketCategoryUpdated,
  TicketFieldArchived,
  TicketFieldCreated,
  TicketFieldUpdated,
} from './settings.events.js';
import * as repo from './settings.repository.js';
import type {
  CreateCategoryBody,
  CreateFieldBody,
  FieldListQuery,
  UpdateCategoryBody,
  UpdateFieldBody,
} from './settings.schema.js';
import type { TicketsContext } from './tickets.context.js';
import { isAgent, requirePermission } from './tickets.policy.js';
import type { FIELD_TYPES } from './tickets.table.js';

type Changes = Record<string, { from: unknown; to: unknown }>;

const PATH_SEPARATOR = ' / ';
const TYPES_WITH_OPTIONS: ReadonlySet<string> = new Set(['select', 'multi_select']);

const originOf = (actor: Actor): EventOrigin => ({
  orgId: actor.orgId,
  actorId: actor.userId,
  requestId: actor.requestId ?? null,
});
const invalid = (message: string, details: Record<string, string>) =>
  new AppError('UNPROCESSABLE', message, { details });
const categoryNameTaken = (name: string) =>
  new AppError('NAME_TAKEN', `A category named "${name}" exists at this level`);
const fieldKeyTaken = (key: string, archived = false) =>
  new AppError(
    'NAME_TAKEN',
    archived
      ? `An archived custom field has the key "${key}"; keys are never reused`
      : `A custom field with the key "${key}" exists`,
  );

/** An organisation's live categories, indexed for paths, moves and sibling names. */
class CategoryTree {
  private readonly byId = new Map<string, repo.CategoryRow>();
  private readonly children = new Map<string | null, repo.CategoryRow[]>();

  /** `rows` in sibling order (position, then name), as the repository lists them. */
  constructor(rows: readonly repo.CategoryRow[]) {
    for (const row of rows) this.byId.set(row.id, row);
    for (const row of rows) {
      // A live child of a deleted parent cannot arise (deleting refuses), but would list as top-level.
      const parent = row.parentId && this.byId.has(row.parentId) ? row.parentId : null;
      this.children.set(parent, [...(this.children.get(parent) ?? []), row]);
    }
  }

  get(id: string): repo.CategoryRow | undefined {
    return this.byId.get(id);
  }

  childrenOf(id: string): readonly repo.CategoryRow[] {
    return this.children.get(id) ?? [];
  }

  /** Names from the top-level ancestor down to the category. */
  path(id: string): string {
    const names: string[] = [];
    const seen = new Set<string>();
    for (let row = this.byId.get(id); row && !seen.has(row.id); row = this.parentOf(row)) {
      seen.add(row.id);
      names.unshift(row.name);
    }
    return names.join(PATH_SEPARATOR);
  }

  /** True when `id` is `ancestorId` or lies below it. */
  isWithin(id: string, ancestorId: string): boolean {
    const seen = new Set<string>();
    for (let row = this.byId.get(id); row && !seen.has(row.id); row = this.parentOf(row)) {
      if (row.id === ancestorId) return true;
      seen.add(row.id);
    }
    return false;
  }

  /** A live sibling under `parentId` whose name equals `name` ignoring case (the unique index's rule). */
  siblingNamed(parentId: string | null, name: string, exceptId?: string): repo.CategoryRow | undefined {
    const lower = name.toLowerCase();
    return (this.children.get(parentId) ?? []).find(
      (row) => row.id !== exceptId && row.name.toLowerCase() === lower,
    );
  }

  /** Every category, depth first: each one right before its sub-categories. */
  ordered(): repo.CategoryRow[] {
    const result: repo.CategoryRow[] = [];
    const visit = (parentId: string | null) => {
      for (const row of this.children.get(parentId) ?? []) {
        result.push(row);
        visit(row.id);
      }
    };
    visit(null);
    return result;
  }

  private parentOf(row: repo.CategoryRow): repo.CategoryRow | undefined {
    return row.parentId ? this.byId.get(row.parentId) : undefined;
  }
}

function presentCategory(row: repo.CategoryRow, path: string) {
  return {
    id: row.id,
    name: row.name,
    parentId: row.parentId,
    path,
    position: row.position,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function presentField(row: repo.FieldDefinitionRow) {
  return {
    id: row.id,
    key: row.key,
    label: row.label,
    type: row.type,
    options: row.options,
    required: row.required,
    visibleToRequester: row.visibleToRequester,
    position: row.position,
    archivedAt: row.archivedAt ? row.archivedAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Options a field of this type may carry: select types need some, the others none. */
function checkOptions(type: (typeof FIELD_TYPES)[number], options: string[] | undefined): string[] {
  if (TYPES_WITH_OPTIONS.has(type)) {
    if (!options) throw invalid('Invalid custom field', { options: `is required for ${type} fields` });
    return options;
  }
  if (options)
    throw invalid('Invalid custom field', { options: 'only select and multi_select fields have options' });
  return [];
}

/** Admin use cases on an organisation's ticket categories and custom field definitions. */
export class SettingsService {
  constructor(private readonly context: Pick<TicketsContext, 'database' | 'orgSettings'>) {}

  /** A settings change in one transaction; after its commit, every process drops the cached settings. */
  private async change<T>(actor: Actor, work: (tx: Executor) => Promise<T>): Promise<T> {
    const result = await this.context.database.withOrg(actor.orgId, work);
    await this.context.orgSettings.invalidate(actor.orgId);
    return result;
  }

  /** The category tree, flat and depth first; every member of the organisation may read it. */
  async listCategories(actor: Actor) {
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const tree = new CategoryTree(await repo.listCategories(tx, actor.orgId));
      return { data: tree.ordered().map((row) => presentCategory(row, tree.path(row.id))) };
    });
  }

  async createCategory(actor: Actor, input: z.output<typeof CreateCategoryBody>) {
    requirePermission(actor, 'admin:settings', 'Managing ticket categories');
    try {
      return await this.change(actor, async (tx) => {
        await repo.lockCategoryTree(tx, actor.orgId);
        const tree = new CategoryTree(await repo.listCategories(tx, actor.orgId));
        const parentId = input.parentId ?? null;
        if (parentId && !tree.get(parentId))
          throw invalid('Invalid category', { parentId: 'no category with this id' });
        if (tree.siblingNamed(parentId, input.name)) throw categoryNameTaken(input.name);
        const row = await repo.insertCategory(tx, {
          orgId: actor.orgId,
          parentId,
          name: input.name,
          position: input.position,
        });
        const path = parentId ? `${tree.path(parentId)}${PATH_SEPARATOR}${row.name}` : row.name;
        await recordEvent(tx, TicketCategoryCreated, originOf(actor), row.id, {
          name: row.name,
          parentId,
          path,
        });
        return presentCategory(row, path);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw categoryNameTaken(input.name);
      throw error;
    }
  }

  /** Renames, re-orders or moves a category; a move below itself (a cycle) is refused. */
  async updateCategory(actor: Actor, categoryId: string, input: z.output<typeof UpdateCategoryBody>) {
    requirePermission(actor, 'admin:settings', 'Managing ticket categories');
    let name = input.name ?? '';
    try {
      return await this.change(actor, async (tx) => {
        await repo.lockCategoryTree(tx, actor.orgId);
        const rows = await repo.listCategories(tx, actor.orgId);
        const tree = new CategoryTree(rows);
        const category = tree.get(categoryId);
        if (!category) throw notFound('Category');
        const changes: Changes = {};
        if (input.parentId !== undefined && input.parentId !== category.parentId) {
          if (input.parentId !== null && !tree.get(input.parentId))
            throw invalid('Invalid category', { parentId: 'no category with this id' });
          if (input.parentId !== null && tree.isWithin(input.parentId, categoryId))
            throw invalid('A category cannot move below itself', {
              parentId: 'is the category itself or one of its sub-categories',
            });
          changes.parentId = { from: category.parentId, to: input.parentId };
        }
        if (input.name !== undefined && input.name !== category.name)
          changes.name = { from: category.name, to: input.name };
        if (input.position !== undefined && input.position !== category.position)
          changes.position = { from: category.position, to: input.position };
        if (Object.keys(changes).length === 0) return presentCategory(category, tree.path(categoryId));
        name = input.name ?? category.name;
        const parentId = input.parentId === undefined ? category.parentId : input.parentId;
        if ((changes.name || changes.parentId) && tree.siblingNamed(parentId, name, categoryId))
          throw categoryNameTaken(name);
        const updated = await repo.updateCategory(tx, actor.orgId, categoryId, {
          name,
          parentId,
          position: input.position ?? category.position,
        });
        const path = new CategoryTree(rows.map((row) => (row.id === categoryId ? updated! : row))).path(
          categoryId,
        );
        await recordEvent(tx, TicketCategoryUpdated, originOf(actor), categoryId, { path, changes });
        return presentCategory(updated!, path);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw categoryNameTaken(name);
      throw error;
    }
  }

  /** Soft delete of a leaf category; tickets keep its id (lists and filters still work). */
  async removeCategory(actor: Actor, categoryId: string): Promise<void> {
    requirePermission(actor, 'admin:settings', 'Managing ticket categories');
    await this.change(actor, async (tx) => {
      await repo.lockCategoryTree(tx, actor.orgId);
      const tree = new CategoryTree(await repo.listCategories(tx, actor.orgId));
      const category = tree.get(categoryId);
      if (!category) throw notFound('Category');
      const children = tree.childrenOf(categoryId);
      if (children.length > 0)
        throw new AppError('CONFLICT', 'The category has sub-categories: delete or move them first', {
          details: { children: children.map((child) => child.id) },
        });
      await repo.updateCategory(tx, actor.orgId, categoryId, { deletedAt: new Date() });
      await recordEvent(tx, TicketCategoryDeleted, originOf(actor), categoryId, {
        name: category.name,
        parentId: category.parentId,
      });
    });
  }

  /** Agents see every field; requesters only those visible to them, never archived ones. */
  async listFields(actor: Actor, query: z.output<typeof FieldListQuery>) {
    const agent = isAgent(actor);
    const includeArchived = agent && query.includeArchived === 'true';
    return this.context.database.withOrg(actor.orgId, async (tx) => {
      const rows = await repo.listFieldDefinitions(tx, actor.orgId);
      return {
        data: rows
          .filter((row) => (agent || row.visibleToRequester) && (includeArchived || !row.archivedAt))
          .map(presentField),
      };
    });
  }

  async createField(actor: Actor, input: z.output<typeof CreateFieldBody>) {
    requirePermission(actor, 'admin:settings', 'Managing custom fields');
    const options = checkOptions(input.type, input.options);
    try {
      return await this.change(actor, async (tx) => {
        const existing = await repo.findFieldDefinitionByKey(tx, actor.orgId, input.key);
        if (existing) throw fieldKeyTaken(input.key, existing.archivedAt !== null);
        const row = await repo.insertFieldDefinition(tx, {
          orgId: actor.orgId,
          key: input.key,
          label: input.label,
          type: input.type,
          options,
          required: input.required,
          visibleToRequester: input.visibleToRequester,
          position: input.position,
        });
        await recordEvent(tx, TicketFieldCreated, originOf(actor), row.id, {
          key: row.key,
          label: row.label,
          type: row.type,
        });
        return presentField(row);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw fieldKeyTaken(input.key);
      throw error;
    }
  }

  /**
   * Edits a live field. Key and type are immutable: values already stored on tickets were
   * validated against them. Options may be removed even when tickets use them; those values
   * stay on the tickets until someone changes the field there.
   */
  async updateField(actor: Actor, fieldId: string, input: z.output<typeof UpdateFieldBody>) {
    requirePermission(actor, 'admin:settings', 'Managing custom fields');
    const immutable = (['key', 'type'] as const).filter((name) => input[name] !== undefined);
    if (immutable.length > 0)
      throw invalid(
        `The ${immutable.join(' and ')} of a custom field cannot change`,
        Object.fromEntries(immutable.map((name) => [name, 'cannot be changed'])),
      );
    return this.change(actor, async (tx) => {
      const field = await repo.findFieldDefinition(tx, actor.orgId, fieldId);
      if (!field) throw notFound('Custom field');
      if (field.archivedAt) throw new AppError('UNPROCESSABLE', 'An archived custom field cannot be changed');
      if (input.options !== undefined) checkOptions(field.type, input.options);
      const changes: Changes = {};
      for (const name of ['label', 'required', 'visibleToRequester', 'position'] as const) {
        const value = input[name];
        if (value !== undefined && value !== field[name]) changes[name] = { from: field[name], to: value };
      }
      const options = input.options;
      if (
        options &&
        (options.length !== field.options.length || options.some((o, i) => o !== field.options[i]))
      )
        changes.options = { from: field.options, to: options };
      if (Object.keys(changes).length === 0) return presentField(field);
      const updated = await repo.updateFieldDefinition(tx, actor.orgId, fieldId, {
        label: input.label ?? field.label,
        options: options ?? field.options,
        required: input.required ?? field.required,
        visibleToRequester: input.visibleToRequester ?? field.visibleToRequester,
        position: input.position ?? field.position,
      });
      await recordEvent(tx, TicketFieldUpdated, originOf(actor), fieldId, { key: field.key, changes });
      return presentField(updated!);
    });
  }

  /**
   * Archives a field: it leaves forms, writes and filters, its key stays taken, and the
   * values already on tickets stay there. Archiving an archived field changes nothing.
   */
  async archiveField(actor: Actor, fieldId: string): Promise<void> {
    requirePermission(actor, 'admin:settings', 'Managing custom fields');
    await this.change(actor, async (tx) => {
      const field = await repo.findFieldDefinition(tx, actor.orgId, fieldId);
      if (!field) throw notFound('Custom field');
      if (field.archivedAt) return;
      await repo.updateFieldDefinition(tx, actor.orgId, fieldId, { archivedAt: new Date() });
      await recordEvent(tx, TicketFieldArchived, originOf(actor), fieldId, { key: field.key });
    });
  }
}
