// Shared by the drivers so both enforce the same rules; not part of the public surface.
import type { MessageHandler, PubSubLogger } from './pubsub.port.js';

/** @internal Used when a driver is built without a logger: failures must never vanish. */
export const consoleLogger: PubSubLogger = {
  error(obj, msg) {
    console.error(msg, obj);
  },
};

/** @internal Redis rejects non-integer and non-positive expiries; the memory driver must too. */
export function assertValidTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
  }
}

/**
 * @internal Runs one subscriber so that neither a throw nor a rejected promise (an async
 * handler passed where a void one is expected) reaches the publisher or other subscribers.
 */
export function invokeHandler(
  handler: MessageHandler,
  message: string,
  channel: string,
  logger: PubSubLogger,
): void {
  const report = (error: unknown) => logger.error({ err: error, channel }, 'Pub/sub handler failed');
  try {
    const result: unknown = handler(message, channel);
    if (result instanceof Promise) result.catch(report);
  } catch (error) {
    report(error);
  }
}
