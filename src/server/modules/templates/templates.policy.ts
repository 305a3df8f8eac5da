import { AppError } from '../../platform/http/app-error.js';
import { type Actor, hasPermission } from '../identity/index.js';

/** A canned response or macro row as far as access is concerned: shared has no owner. */
interface Owned {
  ownerId: string | null;
}

/** Templates are a tool for answering tickets: requesters (no ticket:reply) get a 403. */
export function requireAgent(actor: Actor): void {
  if (!hasPermission(actor, 'ticket:reply'))
    throw new AppError('FORBIDDEN', 'Canned responses and macros need ticket:reply');
}

/** Admins and team leads curate the shared set; any agent keeps personal ones. */
export function mayManageShared(actor: Actor): boolean {
  return hasPermission(actor, 'admin:settings') || hasPermission(actor, 'ticket:reassign');
}

/** Shared ones and the caller's own; another agent's personal ones do not exist for them. */
export function isVisible(actor: Actor, row: Owned): boolean {
  return row.ownerId === null || row.ownerId === actor.userId;
}

/** Creating, editing, deleting or (un)sharing: personal ones by their owner, shared ones by curators. */
export function requireManage(actor: Actor, shared: boolean, what: string): void {
  if (shared && !mayManageShared(actor))
    throw new AppError('FORBIDDEN', `${what} needs admin:settings or ticket:reassign`);
}
