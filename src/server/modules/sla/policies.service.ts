import type { z } from 'zod';
import type { Executor } from '../../platform/db/database.js';
import { recordEvent } from '../../platform/events/events.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { type Actor, directory } from '../identity/index.js';
import * as repo from './configuration.repository.js';
import {
  type Changes,
  ConfigurationUseCases,
  nameTaken,
  noteChange,
  originOf,
  type Problems,
  refuseProblems,
} from './configuration.service.js';
import { SlaPolicyCreated, SlaPolicyDeleted, SlaPolicyUpdated } from './sla.events.js';
import {
  type CreatePolicyBody,
  MAX_TARGET_MINUTES,
  type PolicyConditionsInput,
  type PolicyOrderBody,
  type PolicyTargetsInput,
  type UpdatePolicyBody,
} from './sla.schema.js';
import type { BUSINESS_HOURS_SOURCES, PolicyConditions, PolicyTargets, TIMER_KINDS } from './sla.table.js';

type Priority = keyof PolicyTargets;
type TargetKey = 'firstResponse' | 'nextResponse' | 'resolution';

const PRIORITIES: readonly Priority[] = ['low', 'medium', 'high', 'critical'];
/** API target names → stored timer kinds. */
const TARGET_KINDS: ReadonlyArray<readonly [TargetKey, (typeof TIMER_KINDS)[number]]> = [
  ['firstResponse', 'first_response'],
  ['nextResponse', 'next_response'],
  ['resolution', 'resolution'],
];
const policyTaken = (name: string) => () => nameTaken('An SLA policy', name);

function presentPolicy(row: repo.SlaPolicyRow) {
  const minutes = (seconds: number | undefined) => (seconds === undefined ? null : Math.round(seconds / 60));
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    position: row.position,
    enabled: row.enabled,
    conditions: row.conditions,
    targets: Object.fromEntries(
      PRIORITIES.map((priority) => {
        const targets = row.targets[priority] ?? {};
        return [
          priority,
          Object.fromEntries(TARGET_KINDS.map(([key, kind]) => [key, minutes(targets[kind])])) as Record<
            TargetKey,
            number | null
          >,
        ];
      }),
    ) as Record<Priority, Record<TargetKey, number | null>>,
    businessHours: row.businessHours,
    calendarId: row.calendarId,
    atRiskPercent: Math.round(row.atRiskShare * 100),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Minutes from the API → seconds as stored; out-of-range targets become problems. */
function storedTargets(input: z.output<typeof PolicyTargetsInput>, problems: Problems): PolicyTargets {
  const targets = { low: {}, medium: {}, high: {}, critical: {} } as PolicyTargets;
  let count = 0;
  let invalid = false;
  for (const priority of PRIORITIES) {
    for (const [key, kind] of TARGET_KINDS) {
      const minutes = input[priority]?.[key];
      if (minutes === undefined) continue;
      if (minutes < 1 || minutes > MAX_TARGET_MINUTES) {
        problems[`targets.${priority}.${key}`] = `must be from 1 to ${MAX_TARGET_MINUTES} minutes`;
        invalid = true;
      } else {
        targets[priority][kind] = minutes * 60;
        count += 1;
      }
    }
  }
  if (count === 0 && !invalid) problems.targets = 'must set at least one target';
  return targets;
}

const unique = <T>(values: readonly T[]) => [...new Set(values)];

/** A custom field value fits a definition of this type (and its options). */
function fitsField(definition: { type: string; options: string[] }, value: string | number | boolean) {
  switch (definition.type) {
    case 'number':
      return typeof value === 'number';
    case 'checkbox':
      return typeof value === 'boolean';
    case 'select':
    case 'multi_select':
      return typeof value === 'string' && definition.options.includes(value);
    default:
      return typeof value === 'string';
  }
}

/** Conditions as stored: lists de-duplicated, empty lists dropped (they would match nothing). */
async function storedConditions(
  tx: Executor,
  orgId: string,
  input: z.output<typeof PolicyConditionsInput>,
  problems: Problems,
): Promise<PolicyConditions> {
  const conditions: PolicyConditions = {};
  const lists = ['teamIds', 'categoryIds', 'channels', 'priorities', 'requesterCompanies'] as const;
  for (const name of lists) {
    const values = input[name];
    if (values && values.length > 0) conditions[name] = unique<string>(values);
  }
  if (input.requesterVip !== undefined) conditions.requesterVip = input.requesterVip;

  const teamIds = conditions.teamIds ?? [];
  const teams = await directory.teams(tx, orgId, teamIds);
  const unknownTeams = teamIds.filter((id) => !teams.has(id));
  if (unknownTeams.length > 0) problems['conditions.teamIds'] = `unknown teams: ${unknownTeams.join(', ')}`;
  const categoryIds = conditions.categoryIds ?? [];
  const categories = await repo.existingCategoryIds(tx, orgId, categoryIds);
  const unknownCategories = categoryIds.filter((id) => !categories.has(id));
  if (unknownCategories.length > 0)
    problems['conditions.categoryIds'] = `unknown categories: ${unknownCategories.join(', ')}`;

  const fields = Object.entries(input.customFields ?? {});
  if (fields.length > 0) {
    const definitions = await repo.liveFieldDefinitions(
      tx,
      orgId,
      fields.map(([key]) => key),
    );
    conditions.customFields = {};
    for (const [key, values] of fields) {
      const definition = definitions.get(key);
      const path = `conditions.customFields.${key}`;
      if (!definition) problems[path] = 'no live custom field has this key';
      else if (!values.every((value) => fitsField(definition, value)))
        problems[path] =
          `values do not fit the ${definition.type} field${definition.options.length > 0 ? ` (options: ${definition.options.join(', ')})` : ''}`;
      else conditions.customFields[key] = unique(values);
    }
  }
  return conditions;
}

/** Where the clock takes its hours from, checked: a calendar exactly when businessHours is "calendar". */
async function checkBusinessHours(
  tx: Executor,
  orgId: string,
  businessHours: (typeof BUSINESS_HOURS_SOURCES)[number],
  calendarId: string | null,
  problems: Problems,
): Promise<void> {
  if (businessHours === 'calendar' && calendarId === null)
    problems.calendarId = 'is required when businessHours is "calendar"';
  else if (businessHours !== 'calendar' && calendarId !== null)
    problems.calendarId = 'is only accepted when businessHours is "calendar"';
  else if (calendarId !== null && !(await repo.findBusinessCalendar(tx, orgId, calendarId)))
    problems.calendarId = 'no business calendar with this id';
}

function checkAtRisk(percent: number, problems: Problems): void {
  if (percent < 1 || percent > 99) problems.atRiskPercent = 'must be from 1 to 99';
}

/**
 * A policy as `input` describes it, checked like a new one but not stored (simulations).
 * Throws the same 422 a create would.
 */
export async function draftPolicy(
  tx: Executor,
  orgId: string,
  input: z.output<typeof CreatePolicyBody>,
): Promise<repo.SlaPolicyRow> {
  const problems: Problems = {};
  const conditions = await storedConditions(tx, orgId, input.conditions, problems);
  const targets = storedTargets(input.targets, problems);
  const calendarId = input.calendarId ?? null;
  await checkBusinessHours(tx, orgId, input.businessHours, calendarId, problems);
  checkAtRisk(input.atRiskPercent, problems);
  refuseProblems('Invalid SLA policy', problems);
  const now = new Date();
  return {
    id: '00000000-0000-0000-0000-000000000000',
    orgId,
    name: input.name,
    description: input.description,
    position: 0,
    enabled: true,
    conditions,
    targets,
    businessHours: input.businessHours,
    calendarId,
    atRiskShare: input.atRiskPercent / 100,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
  };
}

/** Admin use cases on SLA policies: the first enabled policy whose conditions match applies. */
export class PoliciesService extends ConfigurationUseCases {
  async listPolicies(actor: Actor) {
    return this.read(actor, async (tx) => ({
      data: (await repo.listPolicies(tx, actor.orgId)).map(presentPolicy),
    }));
  }

  async getPolicy(actor: Actor, id: string) {
    return this.read(actor, async (tx) => {
      const row = await repo.findPolicy(tx, actor.orgId, id);
      if (!row) throw notFound('SLA policy');
      return presentPolicy(row);
    });
  }

  /** Creates a policy after every existing one (re-order with `reorderPolicies`). */
  async createPolicy(actor: Actor, input: z.output<typeof CreatePolicyBody>) {
    return this.change(
      actor,
      async (tx) => {
        const problems: Problems = {};
        const conditions = await storedConditions(tx, actor.orgId, input.conditions, problems);
        const targets = storedTargets(input.targets, problems);
        const calendarId = input.calendarId ?? null;
        await checkBusinessHours(tx, actor.orgId, input.businessHours, calendarId, problems);
        checkAtRisk(input.atRiskPercent, problems);
        refuseProblems('Invalid SLA policy', problems);
        if (await repo.findPolicyNamed(tx, actor.orgId, input.name)) throw policyTaken(input.name)();
        const row = await repo.insertPolicy(tx, {
          orgId: actor.orgId,
          name: input.name,
          description: input.description,
          enabled: input.enabled,
          position: await repo.nextPolicyPosition(tx, actor.orgId),
          conditions,
          targets,
          businessHours: input.businessHours,
          calendarId,
          atRiskShare: input.atRiskPercent / 100,
        });
        await recordEvent(tx, SlaPolicyCreated, originOf(actor), row.id, { name: row.name });
        return presentPolicy(row);
      },
      policyTaken(input.name),
    );
  }

  /**
   * Edits a policy; `conditions` and `targets` replace the old ones whole. Leaving
   * businessHours "calendar" without naming a calendar clears the calendar.
   */
  async updatePolicy(actor: Actor, id: string, input: z.output<typeof UpdatePolicyBody>) {
    return this.change(
      actor,
      async (tx) => {
        const row = await repo.findPolicy(tx, actor.orgId, id);
        if (!row) throw notFound('SLA policy');
        const problems: Problems = {};
        const conditions = input.conditions
          ? await storedConditions(tx, actor.orgId, input.conditions, problems)
          : row.conditions;
        const targets = input.targets ? storedTargets(input.targets, problems) : row.targets;
        const businessHours = input.businessHours ?? row.businessHours;
        const calendarId =
          input.calendarId !== undefined
            ? input.calendarId
            : businessHours === 'calendar'
              ? row.calendarId
              : null;
        if (input.businessHours !== undefined || input.calendarId !== undefined)
          await checkBusinessHours(tx, actor.orgId, businessHours, calendarId, problems);
        if (input.atRiskPercent !== undefined) checkAtRisk(input.atRiskPercent, problems);
        refuseProblems('Invalid SLA policy', problems);

        const next = {
          name: input.name ?? row.name,
          description: input.description ?? row.description,
          enabled: input.enabled ?? row.enabled,
          conditions,
          targets,
          businessHours,
          calendarId,
          atRiskShare: input.atRiskPercent !== undefined ? input.atRiskPercent / 100 : row.atRiskShare,
        };
        const changes: Changes = {};
        for (const field of Object.keys(next) as Array<keyof typeof next>)
          noteChange(changes, field, row[field], next[field]);
        if (Object.keys(changes).length === 0) return presentPolicy(row);
        const renamed = changes.name && next.name.toLowerCase() !== row.name.toLowerCase();
        if (renamed && (await repo.findPolicyNamed(tx, actor.orgId, next.name)))
          throw policyTaken(next.name)();
        const updated = await repo.updatePolicy(tx, actor.orgId, id, next);
        await recordEvent(tx, SlaPolicyUpdated, originOf(actor), id, { name: next.name, changes });
        return presentPolicy(updated!);
      },
      policyTaken(input.name ?? ''),
    );
  }

  /** Soft delete: timers the policy started keep running to their end. */
  async deletePolicy(actor: Actor, id: string): Promise<void> {
    await this.change(actor, async (tx) => {
      const row = await repo.findPolicy(tx, actor.orgId, id);
      if (!row) throw notFound('SLA policy');
      await repo.updatePolicy(tx, actor.orgId, id, { deletedAt: new Date() });
      await recordEvent(tx, SlaPolicyDeleted, originOf(actor), id, { name: row.name });
    });
  }

  /** Sets the evaluation order; `ids` must list every live policy exactly once. */
  async reorderPolicies(actor: Actor, input: z.output<typeof PolicyOrderBody>) {
    return this.change(actor, async (tx) => {
      const rows = await repo.listPolicies(tx, actor.orgId);
      const live = new Set(rows.map((row) => row.id));
      const unknown = input.ids.filter((id) => !live.has(id));
      const missing = rows.filter((row) => !input.ids.includes(row.id)).map((row) => row.id);
      const repeated = input.ids.length !== new Set(input.ids).size;
      if (unknown.length > 0 || missing.length > 0 || repeated)
        throw new AppError('UNPROCESSABLE', 'The order must list every live SLA policy exactly once', {
          details: {
            ids: [
              unknown.length > 0 ? `unknown policies: ${unknown.join(', ')}` : '',
              missing.length > 0 ? `missing policies: ${missing.join(', ')}` : '',
              repeated ? 'lists a policy twice' : '',
            ]
              .filter(Boolean)
              .join('; '),
          },
        });
      const byId = new Map(rows.map((row) => [row.id, row]));
      const data: repo.SlaPolicyRow[] = [];
      for (const [position, id] of input.ids.entries()) {
        const row = byId.get(id)!;
        if (row.position === position) {
          data.push(row);
          continue;
        }
        data.push((await repo.updatePolicy(tx, actor.orgId, id, { position }))!);
        await recordEvent(tx, SlaPolicyUpdated, originOf(actor), id, {
          name: row.name,
          changes: { position: { from: row.position, to: position } },
        });
      }
      return { data: data.map(presentPolicy) };
    });
  }
}
