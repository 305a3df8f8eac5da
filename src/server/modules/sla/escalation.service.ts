import type { z } from 'zod';
import { recordEvent } from '../../platform/events/events.js';
import { type Actor, directory } from '../identity/index.js';
import * as repo from './configuration.repository.js';
import {
  type Changes,
  ConfigurationUseCases,
  noteChange,
  originOf,
  type Problems,
  refuseProblems,
} from './configuration.service.js';
import { EscalationPolicyUpdated } from './sla.events.js';
import {
  ESCALATION_TRIGGERS,
  type EscalationLevelInput,
  type EscalationPolicyBody,
  MAX_ESCALATION_DELAY_MINUTES,
  MAX_ESCALATION_LEVELS,
  type SENIOR_ROLES,
} from './sla.schema.js';
import type { EscalationLevel } from './sla.table.js';

type LevelInput = z.output<typeof EscalationLevelInput>;

function presentEscalationPolicy(row: repo.EscalationPolicyRow | undefined) {
  if (!row) return { levels: null, managerIds: [], seniorRole: null, updatedAt: null };
  return {
    levels: row.levels.map((level, index) => ({
      level: index + 1,
      trigger: level.trigger,
      delayMinutes: level.delayMinutes ?? null,
      kinds: level.kinds ?? null,
      notify: level.notify,
      reassignToSenior: level.reassignToSenior ?? false,
      raisePriority: level.raisePriority ?? false,
    })),
    managerIds: row.managerIds,
    seniorRole: row.seniorRole as (typeof SENIOR_ROLES)[number] | null,
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Problems of the levels as sent (paths name their index in the request). */
function levelProblems(levels: readonly LevelInput[], hasManagers: boolean): Problems {
  const problems: Problems = {};
  if (levels.length > MAX_ESCALATION_LEVELS)
    problems.levels = `must have at most ${MAX_ESCALATION_LEVELS} levels`;
  const seenTriggers = new Set<string>();
  const seenDelays = new Set<number>();
  levels.forEach((level, index) => {
    const path = `levels.${index}`;
    if (level.trigger === 'after_breach') {
      const delay = level.delayMinutes;
      if (delay === undefined) problems[`${path}.delayMinutes`] = 'is required for after_breach levels';
      else if (delay < 1 || delay > MAX_ESCALATION_DELAY_MINUTES)
        problems[`${path}.delayMinutes`] = `must be from 1 to ${MAX_ESCALATION_DELAY_MINUTES} minutes`;
      else if (seenDelays.has(delay))
        problems[`${path}.delayMinutes`] = 'another after_breach level has this delay';
      else seenDelays.add(delay);
    } else {
      if (level.delayMinutes !== undefined)
        problems[`${path}.delayMinutes`] = 'is only accepted for after_breach levels';
      if (seenTriggers.has(level.trigger))
        problems[`${path}.trigger`] = `only one ${level.trigger} level is allowed`;
      seenTriggers.add(level.trigger);
    }
    if (level.reassignToSenior && level.trigger === 'at_risk')
      problems[`${path}.reassignToSenior`] = 'is only accepted for breach and after_breach levels';
    if (level.notify.includes('escalation_managers') && !hasManagers)
      problems[`${path}.notify`] = 'escalation_managers needs managerIds';
    else if (level.notify.length === 0 && !level.reassignToSenior && !level.raisePriority)
      problems[`${path}.notify`] = 'a level must notify someone, reassign or raise the priority';
  });
  return problems;
}

/** A level as stored: unset options left out, recipients and kinds de-duplicated. */
function storedLevel(level: LevelInput): EscalationLevel {
  return {
    trigger: level.trigger,
    ...(level.trigger === 'after_breach' ? { delayMinutes: level.delayMinutes! } : {}),
    ...(level.kinds ? { kinds: [...new Set(level.kinds)] } : {}),
    notify: [...new Set(level.notify)],
    ...(level.reassignToSenior ? { reassignToSenior: true } : {}),
    ...(level.raisePriority ? { raisePriority: true } : {}),
  };
}

/** Firing order: at risk, breach, then after-breach steps by delay. */
const byFiringOrder = (left: EscalationLevel, right: EscalationLevel) =>
  ESCALATION_TRIGGERS.indexOf(left.trigger) - ESCALATION_TRIGGERS.indexOf(right.trigger) ||
  (left.delayMinutes ?? 0) - (right.delayMinutes ?? 0);

/** Admin use cases on the organisation's escalation policy (one per organisation). */
export class EscalationService extends ConfigurationUseCases {
  async getEscalationPolicy(actor: Actor) {
    return this.read(actor, async (tx) =>
      presentEscalationPolicy(await repo.findEscalationPolicy(tx, actor.orgId)),
    );
  }

  /** Replaces the escalation policy; levels are stored in firing order and numbered 1..n. */
  async setEscalationPolicy(actor: Actor, input: z.output<typeof EscalationPolicyBody>) {
    return this.change(actor, async (tx) => {
      const managerIds = [...new Set(input.managerIds)];
      const problems = levelProblems(input.levels, managerIds.length > 0);
      const users = await directory.users(tx, actor.orgId, managerIds);
      const unknown = managerIds.filter((id) => !users.get(id)?.isActive);
      if (unknown.length > 0)
        problems.managerIds = `not active users of the organisation: ${unknown.join(', ')}`;
      refuseProblems('Invalid escalation policy', problems);

      const before = await repo.findEscalationPolicy(tx, actor.orgId);
      const levels = input.levels.map(storedLevel).sort(byFiringOrder);
      const changes: Changes = {};
      noteChange(changes, 'levels', before?.levels ?? null, levels);
      noteChange(changes, 'managerIds', before?.managerIds ?? [], managerIds);
      noteChange(changes, 'seniorRole', before?.seniorRole ?? null, input.seniorRole);
      if (before && Object.keys(changes).length === 0) return presentEscalationPolicy(before);
      const row = await repo.upsertEscalationPolicy(tx, {
        orgId: actor.orgId,
        levels,
        managerIds,
        seniorRole: input.seniorRole,
      });
      await recordEvent(tx, EscalationPolicyUpdated, originOf(actor), actor.orgId, { changes });
      return presentEscalationPolicy(row);
    });
  }
}
