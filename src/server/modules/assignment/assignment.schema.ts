import { z } from 'zod';
import { defineEvent } from '../../platform/events/events.js';
import { listOf, PageQuery } from '../../platform/http/pagination.js';
import { ASSIGNMENT_MODES, AVAILABILITIES } from './assignment.table.js';

/** Request and response contracts of automatic assignment, and the events it publishes. */

export const Tags = ['Assignment'];

export const Availability = z.enum(AVAILABILITIES);
export const AssignmentMode = z.enum(ASSIGNMENT_MODES);

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
/** Skills are compared exactly, so they are stored trimmed and lower-cased. */
export const Skill = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .refine((value) => !CONTROL.test(value), 'must not contain control characters');
export const Skills = z
  .array(Skill)
  .max(50)
  .transform((skills) => [...new Set(skills)]);
const Timestamp = z.iso.datetime();

export const UserParams = z.object({ userId: z.uuid() }).strict();
export const TeamParams = z.object({ teamId: z.uuid() }).strict();

export const AgentListQuery = PageQuery.extend({
  teamId: z.uuid().optional().describe('Only members of this team'),
}).strict();

export const AvailabilityBody = z.object({ availability: Availability }).strict();

export const UpdateAgentBody = z
  .object({
    capacity: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .nullable()
      .optional()
      .describe('Open tickets the agent holds at most; null removes the cap'),
    skills: Skills.optional().describe('Replaces the skills (trimmed, lower-cased)'),
    isSenior: z.boolean().optional().describe('Senior agents take SLA escalations'),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, { message: 'give at least one change' });

export const AgentResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    email: z.string(),
    role: z.enum(['agent', 'team_lead', 'admin']),
    availability: Availability,
    capacity: z.number().int().nullable().describe('null: no cap'),
    skills: z.array(z.string()),
    isSenior: z.boolean(),
    openTickets: z.number().int().describe('Assigned tickets not resolved or closed'),
    availabilityChangedAt: Timestamp.nullable().describe('null: no profile stored yet (available)'),
  })
  .meta({ id: 'Agent' });

export const AgentList = listOf(AgentResponse).meta({ id: 'AgentList' });

export const RoutingBody = z
  .object({
    mode: AssignmentMode.describe(
      'off: nothing is assigned automatically; round_robin: the next agent in turn; least_open: the agent with the fewest open tickets',
    ),
    categorySkills: z
      .record(z.uuid(), Skill)
      .default({})
      .refine((map) => Object.keys(map).length <= 500, 'at most 500 categories')
      .describe('Category id → the skill an agent needs for tickets of that category'),
  })
  .strict();

export const RoutingResponse = z
  .object({
    teamId: z.uuid(),
    mode: AssignmentMode,
    categorySkills: z.record(z.string(), z.string()),
    lastAssigneeId: z.uuid().nullable().describe('Who got the last automatically assigned ticket'),
    updatedAt: Timestamp.nullable().describe('null: the team has no routing row yet (off)'),
  })
  .meta({ id: 'TeamRouting' });

// Events. Listeners of this module drain team queues after them (see assignment.jobs.ts).

const Changes = z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() }));

export const AgentAvailabilityChanged = defineEvent(
  'agent.availability_changed',
  'agent',
  z.object({ userId: z.uuid(), from: Availability, to: Availability }),
);
export const AgentProfileUpdated = defineEvent(
  'agent.profile_updated',
  'agent',
  z.object({ userId: z.uuid(), changes: Changes }),
);
export const TeamRoutingUpdated = defineEvent(
  'team_routing.updated',
  'team',
  z.object({ teamId: z.uuid(), mode: AssignmentMode, changes: Changes }),
);
