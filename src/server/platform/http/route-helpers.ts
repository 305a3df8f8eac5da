import { ErrorResponse } from './error-handler.js';

/** Error statuses every API route documents; bodies follow the common error shape. */
export const errorResponses = {
  '4xx': ErrorResponse,
  '5xx': ErrorResponse,
} as const;

/** A route option that Fastify accepts as one hook or a list of them. */
type HookList<T> = T | T[] | undefined;

/**
 * Adds a hook to one route from an `onRoute` listener: `first` runs it before the route's
 * own hooks (authentication), `last` after them (metrics, logs).
 */
export function withRouteHook<T>(existing: HookList<T>, hook: T, position: 'first' | 'last'): T[] {
  const current = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  return position === 'first' ? [hook, ...current] : [...current, hook];
}
