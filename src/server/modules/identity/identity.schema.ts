import { z } from 'zod';
import { listOf } from '../../platform/http/pagination.js';
import { PERMISSIONS, ROLES } from './identity.policy.js';

/** Request and response contracts of the identity module. */

export const Email = z
  .email({ message: 'must be a valid e-mail address' })
  .max(254)
  .transform((value) => value.toLowerCase());
export const Password = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(256, 'must be at most 256 characters');
export const Role = z.enum(ROLES);
export const PermissionName = z.enum(PERMISSIONS);
const Name = z.string().trim().min(1).max(200);
const Timestamp = z.iso.datetime();
export const IdParams = z.object({ id: z.uuid() }).strict();

export const LoginBody = z
  .object({
    email: Email,
    password: z.string().min(1).max(256),
    org: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe('Organisation slug, when the e-mail exists in several'),
  })
  .strict();

export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(512) }).strict();

export const TokenPair = z
  .object({
    accessToken: z.string(),
    refreshToken: z.string(),
    expiresIn: z.number().int().describe('Access token lifetime in seconds'),
    tokenType: z.literal('Bearer'),
  })
  .meta({ id: 'TokenPair' });

export const SignupBody = z
  .object({
    name: z.string().trim().min(2).max(120),
    slug: z
      .string()
      .regex(
        /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/,
        'lower-case letters, digits and inner dashes, 1–48 chars',
      )
      .optional(),
    adminEmail: Email,
    adminPassword: Password,
    adminName: Name.optional(),
  })
  .strict();

export const OrganizationResponse = z
  .object({ id: z.uuid(), name: z.string(), slug: z.string(), createdAt: Timestamp })
  .meta({ id: 'Organization' });

export const UserResponse = z
  .object({
    id: z.uuid(),
    email: z.string(),
    name: z.string(),
    role: Role,
    isActive: z.boolean(),
    company: z.string().nullable(),
    isVip: z.boolean(),
    teamIds: z.array(z.uuid()),
    lastLoginAt: Timestamp.nullable(),
    deactivatedAt: Timestamp.nullable(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'User' });

export const SignupResponse = TokenPair.extend({
  organization: OrganizationResponse,
  user: UserResponse,
}).meta({
  id: 'SignupResult',
});

export const MeResponse = z
  .object({
    user: z.object({ id: z.uuid(), email: z.string(), name: z.string() }),
    organization: OrganizationResponse.pick({ id: true, name: true, slug: true }),
    role: Role,
    permissions: z.array(PermissionName),
    teams: z.array(z.object({ id: z.uuid(), name: z.string() })),
    authenticatedWith: z.enum(['session', 'api_token']),
  })
  .meta({ id: 'Me' });

export const UserListQuery = z
  .object({
    page: z.coerce.number().int().min(1).max(100_000).default(1),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    role: Role.optional(),
    active: z.enum(['true', 'false']).optional(),
    teamId: z.uuid().optional(),
    q: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

/** The requester's own organisation (a customer company); SLA policies may choose by it. */
const Company = z.string().trim().min(1).max(200).nullable();

export const CreateUserBody = z
  .object({
    email: Email,
    name: Name,
    role: Role,
    password: Password.describe('Initial password; the user should change it'),
    teamIds: z.array(z.uuid()).max(100).default([]),
    company: Company.optional(),
    isVip: z.boolean().default(false),
  })
  .strict();

export const UpdateUserBody = z
  .object({
    name: Name.optional(),
    role: Role.optional(),
    teamIds: z.array(z.uuid()).max(100).optional(),
    password: Password.optional(),
    company: Company.optional(),
    isVip: z.boolean().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'at least one field is required');

export const TeamResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    memberCount: z.number().int(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .meta({ id: 'Team' });

export const TeamDetailResponse = TeamResponse.extend({
  members: z.array(z.object({ id: z.uuid(), name: z.string(), email: z.string(), role: Role })),
}).meta({ id: 'TeamDetail' });

export const CreateTeamBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    description: z.string().max(1000).default(''),
    memberIds: z.array(z.uuid()).max(500).default([]),
  })
  .strict();

export const UpdateTeamBody = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    description: z.string().max(1000).optional(),
    memberIds: z.array(z.uuid()).max(500).optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'at least one field is required');

export const ApiTokenResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.string()),
    expiresAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    createdAt: Timestamp,
  })
  .meta({ id: 'ApiToken' });

export const CreateApiTokenBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z.array(PermissionName).min(1).max(PERMISSIONS.length),
    expiresInDays: z.number().int().min(1).max(3650).optional(),
  })
  .strict();

export const CreatedApiTokenResponse = ApiTokenResponse.extend({
  token: z.string().describe('Shown once; store it now'),
}).meta({ id: 'CreatedApiToken' });

export const UserList = listOf(UserResponse);
export const TeamList = listOf(TeamResponse);
