import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { signupOrg, startTestApp, startWorkers, type TestApp } from '../support/harness.js';
import { until } from '../support/wait.js';

describe('failed jobs retry, then surface as dead letters an admin can replay', () => {
  let t: TestApp;
  let failing = true;
  const runs: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    t.platform.jobs.define({
      name: 'test.flaky',
      queue: 'test',
      payload: z.object({ orgId: z.uuid(), note: z.string() }),
      retry: { attempts: 3, backoffMs: 20 },
      async handle(payload) {
        runs.push((payload as { note: string }).note);
        if (failing) throw new Error('remote system said no');
      },
    });
    await startWorkers(t.platform);
  });
  afterAll(async () => t?.close());

  it('lists the dead job with its error for its organisation only, and replays it', async () => {
    const org = await signupOrg(t.app);
    const other = await signupOrg(t.app);
    await t.platform.jobs.enqueue('test.flaky', { orgId: org.orgId, note: 'sync-42' });

    const dead = await until(async () => {
      const response = await t.app.inject({
        method: 'GET',
        url: '/api/v1/admin/jobs/dead-letters',
        headers: org.auth,
      });
      return response.json().data.length > 0 ? response.json().data[0] : undefined;
    });
    expect(dead).toMatchObject({
      jobName: 'test.flaky',
      attempts: 3,
      error: expect.stringContaining('remote system said no'),
    });
    expect(runs.filter((note) => note === 'sync-42')).toHaveLength(3);

    const foreign = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/jobs/dead-letters',
      headers: other.auth,
    });
    expect(foreign.json().data).toEqual([]);
    const foreignReplay = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/jobs/dead-letters/${dead.id}/replay`,
      headers: other.auth,
    });
    expect(foreignReplay.statusCode).toBe(404);

    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(
      /switchboard_jobs_failed_total\{[^}]*name="test\.flaky"[^}]*final="true"[^}]*\} 1/,
    );

    failing = false;
    const replay = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/jobs/dead-letters/${dead.id}/replay`,
      headers: org.auth,
    });
    expect(replay.statusCode).toBe(202);
    await until(async () => runs.filter((note) => note === 'sync-42').length === 4);
    const after = await t.app.inject({
      method: 'GET',
      url: '/api/v1/admin/jobs/dead-letters',
      headers: org.auth,
    });
    expect(after.json().data).toEqual([]);
    const twice = await t.app.inject({
      method: 'POST',
      url: `/api/v1/admin/jobs/dead-letters/${dead.id}/replay`,
      headers: org.auth,
    });
    expect(twice.statusCode).toBe(404);
  });
});
