import { z } from 'zod';
import type { JobDefinition } from './jobs.port.js';

/** Where a driver reports what it cannot hand back to a caller (a failing sink, a lost connection). */
export interface JobQueueLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Used when no logger is given, so a driver's own failures are never silent. */
export const fallbackLogger: JobQueueLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

/** Validates a payload against its job's schema; the error names the job and every issue. */
export function parsePayload(definition: JobDefinition, payload: unknown): unknown {
  const result = definition.payload.safeParse(payload);
  if (!result.success) {
    throw new Error(`Invalid payload for job "${definition.name}": ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
