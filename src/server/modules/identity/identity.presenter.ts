import type { z } from 'zod';
import type { ApiTokenRow, OrganizationRow, TeamRow, UserRow } from './identity.repository.js';
import type {
  ApiTokenResponse,
  OrganizationResponse,
  TeamResponse,
  UserResponse,
} from './identity.schema.js';

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** Row → response shapes; the only place that decides what leaves the server. */
export function presentUser(user: UserRow, teamIds: string[]): z.output<typeof UserResponse> {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    role: user.role,
    isActive: user.isActive,
    company: user.company,
    isVip: user.isVip,
    teamIds,
    lastLoginAt: iso(user.lastLoginAt),
    deactivatedAt: iso(user.deactivatedAt),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

export function presentOrganization(org: OrganizationRow): z.output<typeof OrganizationResponse> {
  return { id: org.id, name: org.name, slug: org.slug, createdAt: org.createdAt.toISOString() };
}

export function presentTeam(team: TeamRow, memberCount: number): z.output<typeof TeamResponse> {
  return {
    id: team.id,
    name: team.name,
    description: team.description,
    memberCount,
    createdAt: team.createdAt.toISOString(),
    updatedAt: team.updatedAt.toISOString(),
  };
}

export function presentApiToken(token: ApiTokenRow): z.output<typeof ApiTokenResponse> {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    scopes: token.scopes,
    expiresAt: iso(token.expiresAt),
    lastUsedAt: iso(token.lastUsedAt),
    revokedAt: iso(token.revokedAt),
    createdAt: token.createdAt.toISOString(),
  };
}
