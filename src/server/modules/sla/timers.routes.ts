import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { TicketPriority, TicketStatus } from '../tickets/index.js';
import { CreatePolicyBody } from './sla.schema.js';
import { MAX_SIMULATION_DAYS, type SlaReadService, type SlaSimulationService } from './sla.service.js';
import { TIMER_EVENT_KINDS, TIMER_KINDS, TIMER_STATES } from './sla.table.js';

const security = [{ bearer: [] }];
const tags = ['SLA'];

const Timer = z
  .object({
    id: z.uuid(),
    kind: z.enum(TIMER_KINDS),
    cycle: z.number().int(),
    state: z.enum(TIMER_STATES),
    policyId: z.uuid(),
    calendarId: z.uuid().nullable(),
    targetSeconds: z.number().int(),
    businessSecondsUsed: z.number().int(),
    remainingBusinessSeconds: z.number().int().describe('Negative once overdue'),
    startedAt: z.string(),
    dueAt: z.string().nullable().describe('Null while paused'),
    atRiskAt: z.string().nullable(),
    pausedAt: z.string().nullable(),
    breachedAt: z.string().nullable(),
    completedAt: z.string().nullable(),
    events: z.array(
      z.object({
        kind: z.enum(TIMER_EVENT_KINDS),
        level: z.number().int(),
        dueAt: z.string(),
        firedAt: z.string(),
      }),
    ),
  })
  .meta({ id: 'SlaTimer' });

const TicketSummary = z.object({
  id: z.uuid(),
  number: z.string(),
  title: z.string(),
  status: TicketStatus,
  priority: TicketPriority,
  teamId: z.uuid().nullable(),
  assigneeId: z.uuid().nullable(),
  requesterId: z.uuid(),
  createdAt: z.string(),
});

const Outcome = z.object({
  met: z.number().int(),
  breached: z.number().int(),
  running: z.number().int().describe('Still running at the end of the window, not yet breached'),
});

/** SLA timers of a ticket, the at-risk board, and policy simulation. */
export const timerRoutes: FastifyPluginAsyncZod<{
  reads: SlaReadService;
  simulation: SlaSimulationService;
}> = async (app, { reads, simulation }) => {
  app.get('/tickets/:id/sla', {
    schema: {
      tags,
      summary: "A ticket's SLA timers: due times, business time left, state",
      security,
      params: z.object({ id: z.uuid() }),
      response: { 200: z.object({ data: z.array(Timer) }), ...errorResponses },
    },
    handler: (request) => reads.ticketTimers(actorOf(request), request.params.id),
  });

  app.get('/sla/at-risk', {
    schema: {
      tags,
      summary: 'Open tickets whose SLA is at risk, breached, or due soon, soonest first',
      security,
      querystring: z.object({
        teamId: z.uuid().optional(),
        assigneeId: z.uuid().optional(),
        withinMinutes: z.coerce.number().int().min(0).max(10_080).default(60),
        limit: z.coerce.number().int().min(1).max(200).default(50),
      }),
      response: {
        200: z.object({
          data: z.array(z.object({ timer: Timer, ticket: TicketSummary })),
          meta: z.object({
            limit: z.number().int(),
            withinMinutes: z.number().int(),
            generatedAt: z.string(),
          }),
        }),
        ...errorResponses,
      },
    },
    handler: (request) => reads.atRisk(actorOf(request), request.query),
  });

  app.post('/sla/simulate', {
    schema: {
      tags,
      summary: "How a draft policy would have done on the organisation's recent tickets (writes nothing)",
      description:
        'Replays the tickets created in the last `days` days with the live timer rules: first response to the first public agent reply, next response after each requester reply, resolution from creation and each reopening; waiting statuses and time outside the calendar do not count.',
      security,
      body: z
        .object({
          policy: CreatePolicyBody,
          days: z.number().int().min(1).max(MAX_SIMULATION_DAYS).default(30),
        })
        .strict(),
      response: {
        200: z.object({
          ticketsConsidered: z.number().int(),
          ticketsMatched: z.number().int(),
          truncated: z
            .boolean()
            .describe('More tickets were created in the window than one simulation reads'),
          byKind: z.object({ first_response: Outcome, next_response: Outcome, resolution: Outcome }),
          window: z.object({ from: z.string(), to: z.string() }),
        }),
        ...errorResponses,
      },
    },
    handler: (request) => simulation.simulate(actorOf(request), request.body),
  });
};
