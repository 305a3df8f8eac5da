/**
 * Roles are bundles of permissions; code checks permissions, never role names, so a
 * custom role later is a new bundle, not a hunt through the code base.
 */
export const PERMISSIONS = [
  'ticket:create',
  'ticket:view_own',
  'ticket:view_team',
  'ticket:view_all',
  'ticket:reply',
  'ticket:note',
  'ticket:assign',
  'ticket:reassign',
  'ticket:delete',
  'kb:read',
  'kb:write',
  'kb:publish',
  'reports:view_team',
  'reports:view_all',
  'sla:manage',
  'admin:users',
  'admin:teams',
  'admin:settings',
  'admin:jobs',
  'admin:audit',
  'api_tokens:manage',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['requester', 'agent', 'team_lead', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const requester: Permission[] = ['ticket:create', 'ticket:view_own', 'kb:read'];
const agent: Permission[] = [
  ...requester,
  'ticket:view_team',
  'ticket:reply',
  'ticket:note',
  'ticket:assign',
  'kb:write',
  'api_tokens:manage',
];
const teamLead: Permission[] = [...agent, 'ticket:reassign', 'reports:view_team', 'kb:publish'];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  requester: new Set(requester),
  agent: new Set(agent),
  team_lead: new Set(teamLead),
  admin: new Set(PERMISSIONS),
};

/** The authenticated caller of a use case, from an access token or an API token. */
export interface Actor {
  userId: string;
  orgId: string;
  role: Role;
  permissions: ReadonlySet<Permission>;
  /** Refresh-token family of the session, for sign-out; absent for API tokens. */
  sessionId?: string;
  /** Set when the caller used a personal API token. */
  apiTokenId?: string;
  requestId?: string;
}

/** Permissions of an API token: its scopes, never more than its owner's role allows. */
export function scopedPermissions(role: Role, scopes: readonly string[]): ReadonlySet<Permission> {
  const allowed = ROLE_PERMISSIONS[role];
  return new Set(scopes.filter((scope): scope is Permission => allowed.has(scope as Permission)));
}

const sortedLists = new WeakMap<ReadonlySet<Permission>, Permission[]>();

/**
 * The permissions as a sorted list, computed once per permission set (roles share theirs).
 * The array is shared between callers: read it, never change it. (Not frozen: spreading or
 * serialising a frozen array takes V8's slow path, on every request.)
 */
export function permissionList(permissions: ReadonlySet<Permission>): Permission[] {
  let list = sortedLists.get(permissions);
  if (!list) {
    list = [...permissions].sort();
    sortedLists.set(permissions, list);
  }
  return list;
}

export function hasPermission(actor: Actor, permission: Permission): boolean {
  return actor.permissions.has(permission);
}
