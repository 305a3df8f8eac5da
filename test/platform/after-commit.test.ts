import { afterAll, beforeAll, expect, it } from 'vitest';
import { afterCommit } from '../../src/server/platform/db/database.js';
import { startTestApp, type TestApp } from '../support/harness.js';

let server: TestApp;
beforeAll(async () => {
  server = await startTestApp();
});
afterAll(async () => server?.close());

it('runs after-commit callbacks after a commit, in order, and never after a rollback', async () => {
  const calls: string[] = [];
  await server.platform.database.transaction(async (tx) => {
    afterCommit(tx, () => calls.push('first'));
    afterCommit(tx, () => calls.push('second'));
    // Not yet: the transaction is still open.
    expect(calls).toEqual([]);
  });
  expect(calls).toEqual(['first', 'second']);

  await expect(
    server.platform.database.transaction(async (tx) => {
      afterCommit(tx, () => calls.push('rolled back'));
      throw new Error('boom');
    }),
  ).rejects.toThrow('boom');
  expect(calls).toEqual(['first', 'second']);
});
