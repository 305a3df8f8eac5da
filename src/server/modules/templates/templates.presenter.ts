import type { CannedResponseRow, MacroRow } from './templates.repository.js';
import type { MacroActions } from './templates.schema.js';

export function presentCannedResponse(row: CannedResponseRow) {
  return {
    id: row.id,
    title: row.title,
    body: row.body,
    shared: row.ownerId === null,
    ownerId: row.ownerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function presentMacro(row: MacroRow) {
  return {
    id: row.id,
    name: row.name,
    // Stored as validated on save (see MacrosService).
    actions: row.actions as MacroActions,
    shared: row.ownerId === null,
    ownerId: row.ownerId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
