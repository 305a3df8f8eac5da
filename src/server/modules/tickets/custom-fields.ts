import { AppError } from '../../platform/http/app-error.js';
import type { ticketFieldDefinitions } from './tickets.table.js';

export type FieldDefinition = Pick<
  typeof ticketFieldDefinitions.$inferSelect,
  'key' | 'label' | 'type' | 'options' | 'required' | 'visibleToRequester' | 'archivedAt'
>;

const MAX_TEXT_VALUE = 10_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isValidDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === value;
}

/** Missing, empty text or an empty list: what does not satisfy a required field. */
function isBlank(value: unknown): boolean {
  return (
    value === undefined ||
    (typeof value === 'string' && value.trim() === '') ||
    (Array.isArray(value) && value.length === 0)
  );
}

/** Checks one value against its definition; returns the value to store or an error text. */
function checkValue(definition: FieldDefinition, value: unknown): { value: unknown } | { error: string } {
  switch (definition.type) {
    case 'text':
      return typeof value === 'string' && value.length <= MAX_TEXT_VALUE
        ? { value }
        : { error: `must be text of at most ${MAX_TEXT_VALUE} characters` };
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? { value } : { error: 'must be a number' };
    case 'checkbox':
      return typeof value === 'boolean' ? { value } : { error: 'must be true or false' };
    case 'date':
      return typeof value === 'string' && isValidDate(value)
        ? { value }
        : { error: 'must be a date as YYYY-MM-DD' };
    case 'select':
      return typeof value === 'string' && definition.options.includes(value)
        ? { value }
        : { error: `must be one of: ${definition.options.join(', ')}` };
    case 'multi_select': {
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
        return { error: 'must be a list of options' };
      const unknown = value.filter((item) => !definition.options.includes(item));
      if (unknown.length > 0) return { error: `unknown options: ${unknown.join(', ')}` };
      if (new Set(value).size !== value.length) return { error: 'must not repeat an option' };
      return { value };
    }
  }
}

/**
 * Validates custom field values against the organisation's definitions and merges them into
 * `current`. `null` clears a value (not a required one). Unknown or archived keys, wrong
 * types, blank required values and (when `requireAll`) missing required fields are one 422
 * listing every problem.
 */
export function applyCustomFields(
  definitions: readonly FieldDefinition[],
  current: Record<string, unknown>,
  input: Record<string, unknown>,
  options: { requireAll: boolean },
): Record<string, unknown> {
  const byKey = new Map(definitions.filter((d) => !d.archivedAt).map((d) => [d.key, d]));
  const problems: Record<string, string> = {};
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(input)) {
    const definition = byKey.get(key);
    if (!definition) {
      problems[key] = 'is not a custom field of this organisation';
      continue;
    }
    if (value === null) {
      // A required value can be replaced but not removed (tickets older than the field may lack it).
      if (definition.required) problems[key] = 'is required';
      else delete next[key];
      continue;
    }
    const checked = checkValue(definition, value);
    if ('error' in checked) problems[key] = checked.error;
    else if (definition.required && isBlank(checked.value)) problems[key] = 'is required';
    else next[key] = checked.value;
  }
  if (options.requireAll) {
    for (const definition of byKey.values()) {
      if (definition.required && isBlank(next[definition.key]) && !problems[definition.key])
        problems[definition.key] = 'is required';
    }
  }
  if (Object.keys(problems).length > 0) {
    throw new AppError('UNPROCESSABLE', 'Invalid custom field values', {
      details: { customFields: problems },
    });
  }
  return next;
}

/** The custom fields a requester may see. */
export function requesterVisibleFields(
  definitions: readonly FieldDefinition[],
  values: Record<string, unknown>,
): Record<string, unknown> {
  const visible = new Set(definitions.filter((d) => d.visibleToRequester).map((d) => d.key));
  return Object.fromEntries(Object.entries(values).filter(([key]) => visible.has(key)));
}
