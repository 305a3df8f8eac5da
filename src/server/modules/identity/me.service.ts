import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import { compileSerializer } from '../../platform/http/serializer.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import type { IdentityContext } from './identity.context.js';
import { type Actor, permissionList, ROLE_PERMISSIONS, type Role } from './identity.policy.js';
import * as repo from './identity.repository.js';
import { MeResponse } from './identity.schema.js';

type Profile = Omit<z.output<typeof MeResponse>, 'role' | 'permissions' | 'authenticatedWith'>;

/**
 * Per-process cache of what `/me` shows (name, organisation, teams), evicted in every
 * process when a user or team changes.
 */
export type ProfileCache = SharedCache<Profile>;

export function createProfileCache(pubsub: PubSub): ProfileCache {
  return new SharedCache<Profile>(pubsub, 'profile-invalidated', { ttlMs: 60_000, maxEntries: 50_000 });
}

/** `GET /me`: who the caller is, in which organisation, with which permissions. */
export class MeService {
  constructor(
    private readonly context: IdentityContext,
    private readonly profiles: ProfileCache,
  ) {}

  /** `/me` already serialised, per cached profile and role; a new profile object starts afresh. */
  private readonly rendered = new WeakMap<Profile, Map<Role, string>>();
  private readonly serialize = compileSerializer(MeResponse);

  async me(actor: Actor): Promise<z.output<typeof MeResponse>> {
    return view(this.profiles.get(actor.userId) ?? (await this.profile(actor)), actor);
  }

  /**
   * `/me` as the JSON the route sends, without building or serialising it again: for a
   * session (whose permissions are its role's) with a cached profile; undefined otherwise,
   * and the caller uses {@link me}. Evicting the profile evicts this with it.
   */
  json(actor: Actor): string | undefined {
    if (actor.apiTokenId || actor.permissions !== ROLE_PERMISSIONS[actor.role]) return undefined;
    const profile = this.profiles.get(actor.userId);
    if (!profile) return undefined;
    let byRole = this.rendered.get(profile);
    if (!byRole) {
      byRole = new Map();
      this.rendered.set(profile, byRole);
    }
    let body = byRole.get(actor.role);
    if (body === undefined) {
      body = this.serialize(view(profile, actor));
      byRole.set(actor.role, body);
    }
    return body;
  }

  /**
   * Ids of the live teams the actor belongs to, from the profile cache: every ticket request
   * needs them to decide what the caller may see. On a miss the profile is read in `tx`.
   */
  async teamIdsOf(tx: Executor, actor: Actor): Promise<string[]> {
    return (await this.profile(actor, tx)).teams.map((team) => team.id);
  }

  private profile(actor: Actor, tx?: Executor): Promise<Profile> {
    return this.profiles.load(actor.userId, () =>
      tx
        ? readProfile(tx, actor)
        : this.context.database.withOrg(actor.orgId, (own) => readProfile(own, actor)),
    );
  }
}

function view(profile: Profile, actor: Actor): z.output<typeof MeResponse> {
  // Named properties, not `{ ...profile, role, … }`: V8 copies a spread followed by more
  // properties through its slow generic path, a microsecond on every request.
  return {
    user: profile.user,
    organization: profile.organization,
    teams: profile.teams,
    role: actor.role,
    permissions: permissionList(actor.permissions),
    authenticatedWith: actor.apiTokenId ? 'api_token' : 'session',
  };
}

async function readProfile(tx: Executor, actor: Actor): Promise<Profile> {
  // One after another: a transaction is one connection, which runs one statement at a time.
  const user = await repo.findUser(tx, actor.orgId, actor.userId);
  const org = await repo.findOrganization(tx, actor.orgId);
  const teams = await repo.teamsOfUser(tx, actor.orgId, actor.userId);
  if (!user?.isActive || !org) throw new AppError('TOKEN_REVOKED', 'The account is no longer active');
  return {
    user: { id: user.id, email: user.email, name: user.name },
    organization: { id: org.id, name: org.name, slug: org.slug },
    teams,
  };
}
