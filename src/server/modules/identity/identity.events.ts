import { z } from 'zod';
import { defineEvent } from '../../platform/events/events.js';
import { ROLES } from './identity.policy.js';

/** Events the identity module publishes (through the outbox). */
export const OrganizationCreated = defineEvent(
  'organization.created',
  'organization',
  z.object({ name: z.string(), slug: z.string(), adminUserId: z.uuid() }),
);
export const UserCreated = defineEvent(
  'user.created',
  'user',
  z.object({ email: z.string(), role: z.enum(ROLES), teamIds: z.array(z.uuid()) }),
);
export const UserUpdated = defineEvent(
  'user.updated',
  'user',
  z.object({ changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }),
);
export const UserDeactivated = defineEvent('user.deactivated', 'user', z.object({ email: z.string() }));
export const UserReactivated = defineEvent('user.reactivated', 'user', z.object({ email: z.string() }));
export const TeamCreated = defineEvent(
  'team.created',
  'team',
  z.object({ name: z.string(), memberIds: z.array(z.uuid()) }),
);
export const TeamUpdated = defineEvent(
  'team.updated',
  'team',
  z.object({ changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })) }),
);
export const TeamDeleted = defineEvent('team.deleted', 'team', z.object({ name: z.string() }));
export const SessionReuseDetected = defineEvent(
  'session.reuse_detected',
  'user',
  z.object({ familyId: z.uuid(), ip: z.string().nullable() }),
);
