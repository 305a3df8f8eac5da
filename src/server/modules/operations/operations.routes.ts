import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AppError, notFound } from '../../platform/http/app-error.js';
import { listOf, PageQuery, paginate, toOffset } from '../../platform/http/pagination.js';
import { errorResponses } from '../../platform/http/route-helpers.js';
import type { DeadLetterStore } from '../../platform/jobs/dead-letters.repository.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import { type Actor, actorOf, hasPermission } from '../identity/index.js';

const DeadLetterResponse = z
  .object({
    id: z.uuid(),
    queue: z.string(),
    jobName: z.string(),
    jobId: z.string(),
    payload: z.unknown(),
    error: z.string(),
    attempts: z.number().int(),
    failedAt: z.iso.datetime(),
  })
  .meta({ id: 'DeadLetter' });

const QueueCountsResponse = z.object({
  driver: z.enum(['memory', 'bullmq']),
  queues: z.record(
    z.string(),
    z.object({
      waiting: z.number(),
      active: z.number(),
      delayed: z.number(),
      failed: z.number(),
      completed: z.number(),
    }),
  ),
});

const security = [{ bearer: [] }];
const tags = ['admin: jobs'];

function assertJobsAdmin(actor: Actor): void {
  if (!hasPermission(actor, 'admin:jobs'))
    throw new AppError('FORBIDDEN', 'Job administration needs admin:jobs');
}

/** Queue state and dead letters for admins: nothing fails out of sight. */
export const operationsRoutes: FastifyPluginAsyncZod<{
  deadLetters: DeadLetterStore;
  jobs: JobQueue;
}> = async (app, { deadLetters, jobs }) => {
  app.get('/admin/jobs/queues', {
    schema: {
      tags,
      summary: 'Jobs per queue and state',
      security,
      response: { 200: QueueCountsResponse, ...errorResponses },
    },
    handler: async (request) => {
      assertJobsAdmin(actorOf(request));
      return { driver: jobs.driver, queues: await jobs.counts() };
    },
  });

  app.get('/admin/jobs/dead-letters', {
    schema: {
      tags,
      summary: 'Jobs of this organisation that failed every retry',
      security,
      querystring: PageQuery.strict(),
      response: { 200: listOf(DeadLetterResponse), ...errorResponses },
    },
    handler: async (request) => {
      const actor = actorOf(request);
      assertJobsAdmin(actor);
      const { rows, total } = await deadLetters.list(actor.orgId, toOffset(request.query));
      const data = rows.map((row) => ({
        id: row.id,
        queue: row.queue,
        jobName: row.jobName,
        jobId: row.jobId,
        payload: row.payload,
        error: row.error,
        attempts: row.attempts,
        failedAt: row.failedAt.toISOString(),
      }));
      return paginate(data, total, request.query, request.url);
    },
  });

  const IdParams = z.object({ id: z.uuid() }).strict();
  app.post('/admin/jobs/dead-letters/:id/replay', {
    schema: {
      tags,
      summary: 'Run a dead job again',
      security,
      params: IdParams,
      response: { 202: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      assertJobsAdmin(actor);
      if (!(await deadLetters.replay(actor.orgId, request.params.id))) throw notFound('Dead letter');
      return reply.status(202).send(null);
    },
  });
  app.post('/admin/jobs/dead-letters/:id/discard', {
    schema: {
      tags,
      summary: 'Discard a dead job',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      const actor = actorOf(request);
      assertJobsAdmin(actor);
      if (!(await deadLetters.discard(actor.orgId, request.params.id))) throw notFound('Dead letter');
      return reply.status(204).send(null);
    },
  });
};
