import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LazyChildLogger } from '../../src/server/platform/logger.js';

/** A pino logger writing JSON lines into an array, and a count of the children it made. */
function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ level, redact: { paths: ['*.token'], censor: '[redacted]' } }, stream);
  const made = { children: 0 };
  const child = logger.child;
  // pino children inherit from their parent, so `this` must be the logger called.
  logger.child = function (this: pino.Logger, ...args: Parameters<typeof child>) {
    made.children += 1;
    return child.apply(this, args);
  } as typeof logger.child;
  return { logger, lines, made };
}

describe('request loggers', () => {
  it('make their child only when a line is written, with the request id bound and secrets redacted', async () => {
    const { logger, lines, made } = capture('info');
    const quiet = LazyChildLogger.factory(logger, { requestId: 'req-1' }, {});
    quiet.debug('below the level');
    expect(made.children).toBe(0);
    expect(quiet.isLevelEnabled('debug')).toBe(false);

    const loud = LazyChildLogger.factory(logger, { requestId: 'req-2' }, {});
    loud.info({ auth: { token: 'secret' } }, 'request completed');
    loud.warn('twice');
    expect(made.children).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      expect.objectContaining({
        requestId: 'req-2',
        msg: 'request completed',
        auth: { token: '[redacted]' },
      }),
      expect.objectContaining({ requestId: 'req-2', msg: 'twice', level: 40 }),
    ]);
  });

  it('writes nothing and makes no child at warn for info lines', () => {
    const { logger, lines, made } = capture('warn');
    const request = LazyChildLogger.factory(logger, { requestId: 'req-3' }, {});
    request.info('request completed');
    expect(request.level).toBe('warn');
    expect(made.children).toBe(0);
    expect(lines).toEqual([]);
  });

  it('gives a route with its own log level a real child at once, and children of children', async () => {
    const { logger, lines, made } = capture('warn');
    const verbose = LazyChildLogger.factory(logger, { requestId: 'req-4' }, { level: 'debug' });
    expect(made.children).toBe(1);
    expect(verbose.isLevelEnabled('debug')).toBe(true);
    const nested = LazyChildLogger.factory(logger, { requestId: 'req-5' }, {}).child({ job: 'x' });
    nested.error('failed');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([expect.objectContaining({ requestId: 'req-5', job: 'x', msg: 'failed' })]);
  });
});
