import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import type { CalendarsService } from './calendars.service.js';
import type { EscalationService } from './escalation.service.js';
import type { PoliciesService } from './policies.service.js';
import {
  CalendarList,
  CalendarResponse,
  CreateCalendarBody,
  CreateHolidayCalendarBody,
  CreatePolicyBody,
  EscalationPolicyBody,
  EscalationPolicyResponse,
  HolidayCalendarList,
  HolidayCalendarResponse,
  IdParams,
  PolicyList,
  PolicyOrderBody,
  PolicyResponse,
  UpdateCalendarBody,
  UpdateHolidayCalendarBody,
  UpdatePolicyBody,
} from './sla.schema.js';

const security = [{ bearer: [] }];
const tags = ['SLA'];

/** SLA configuration: holiday and business calendars, policies, escalation. All need `sla:manage`. */
export const slaConfigurationRoutes: FastifyPluginAsyncZod<{
  calendars: CalendarsService;
  policies: PoliciesService;
  escalation: EscalationService;
}> = async (app, { calendars, policies, escalation }) => {
  app.get('/sla/holiday-calendars', {
    schema: {
      tags,
      summary: 'List holiday calendars with their holidays',
      security,
      response: { 200: HolidayCalendarList, ...errorResponses },
    },
    handler: (request) => calendars.listHolidayCalendars(actorOf(request)),
  });
  app.post('/sla/holiday-calendars', {
    schema: {
      tags,
      summary: 'Create a holiday calendar (dates unique within it, names unique ignoring case)',
      security,
      body: CreateHolidayCalendarBody,
      response: { 201: HolidayCalendarResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await calendars.createHolidayCalendar(actorOf(request), request.body)),
  });
  app.get('/sla/holiday-calendars/:id', {
    schema: {
      tags,
      summary: 'Read a holiday calendar',
      security,
      params: IdParams,
      response: { 200: HolidayCalendarResponse, ...errorResponses },
    },
    handler: (request) => calendars.getHolidayCalendar(actorOf(request), request.params.id),
  });
  app.patch('/sla/holiday-calendars/:id', {
    schema: {
      tags,
      summary: 'Rename a holiday calendar or replace its holidays',
      security,
      params: IdParams,
      body: UpdateHolidayCalendarBody,
      response: { 200: HolidayCalendarResponse, ...errorResponses },
    },
    handler: (request) => calendars.updateHolidayCalendar(actorOf(request), request.params.id, request.body),
  });
  app.delete('/sla/holiday-calendars/:id', {
    schema: {
      tags,
      summary: 'Delete a holiday calendar (409 while business calendars use it)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await calendars.deleteHolidayCalendar(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.get('/sla/calendars', {
    schema: {
      tags,
      summary: 'List business calendars with their teams',
      security,
      response: { 200: CalendarList, ...errorResponses },
    },
    handler: (request) => calendars.listCalendars(actorOf(request)),
  });
  app.post('/sla/calendars', {
    schema: {
      tags,
      summary: 'Create a business calendar',
      description:
        'Listed teams move to this calendar; `isDefault` makes it the default in place of the previous one.',
      security,
      body: CreateCalendarBody,
      response: { 201: CalendarResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await calendars.createCalendar(actorOf(request), request.body)),
  });
  app.get('/sla/calendars/:id', {
    schema: {
      tags,
      summary: 'Read a business calendar',
      security,
      params: IdParams,
      response: { 200: CalendarResponse, ...errorResponses },
    },
    handler: (request) => calendars.getCalendar(actorOf(request), request.params.id),
  });
  app.patch('/sla/calendars/:id', {
    schema: {
      tags,
      summary: 'Edit a business calendar (hours and teams are replaced whole)',
      security,
      params: IdParams,
      body: UpdateCalendarBody,
      response: { 200: CalendarResponse, ...errorResponses },
    },
    handler: (request) => calendars.updateCalendar(actorOf(request), request.params.id, request.body),
  });
  app.delete('/sla/calendars/:id', {
    schema: {
      tags,
      summary: 'Delete a business calendar (409 while policies use it or timers counted by it)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await calendars.deleteCalendar(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.get('/sla/policies', {
    schema: {
      tags,
      summary: 'List SLA policies in evaluation order (targets in minutes)',
      security,
      response: { 200: PolicyList, ...errorResponses },
    },
    handler: (request) => policies.listPolicies(actorOf(request)),
  });
  app.post('/sla/policies', {
    schema: {
      tags,
      summary: 'Create an SLA policy; it goes last in the order',
      security,
      body: CreatePolicyBody,
      response: { 201: PolicyResponse, ...errorResponses },
    },
    handler: async (request, reply) =>
      reply.status(201).send(await policies.createPolicy(actorOf(request), request.body)),
  });
  app.put('/sla/policies/order', {
    schema: {
      tags,
      summary: 'Set the evaluation order of every live policy',
      security,
      body: PolicyOrderBody,
      response: { 200: PolicyList, ...errorResponses },
    },
    handler: (request) => policies.reorderPolicies(actorOf(request), request.body),
  });
  app.get('/sla/policies/:id', {
    schema: {
      tags,
      summary: 'Read an SLA policy',
      security,
      params: IdParams,
      response: { 200: PolicyResponse, ...errorResponses },
    },
    handler: (request) => policies.getPolicy(actorOf(request), request.params.id),
  });
  app.patch('/sla/policies/:id', {
    schema: {
      tags,
      summary: 'Edit an SLA policy (conditions and targets are replaced whole)',
      security,
      params: IdParams,
      body: UpdatePolicyBody,
      response: { 200: PolicyResponse, ...errorResponses },
    },
    handler: (request) => policies.updatePolicy(actorOf(request), request.params.id, request.body),
  });
  app.delete('/sla/policies/:id', {
    schema: {
      tags,
      summary: 'Delete an SLA policy (soft; running timers keep their targets)',
      security,
      params: IdParams,
      response: { 204: z.null(), ...errorResponses },
    },
    handler: async (request, reply) => {
      await policies.deletePolicy(actorOf(request), request.params.id);
      return reply.status(204).send(null);
    },
  });

  app.get('/sla/escalation-policy', {
    schema: {
      tags,
      summary: "Read the organisation's escalation policy (levels null until set)",
      security,
      response: { 200: EscalationPolicyResponse, ...errorResponses },
    },
    handler: (request) => escalation.getEscalationPolicy(actorOf(request)),
  });
  app.put('/sla/escalation-policy', {
    schema: {
      tags,
      summary: "Replace the organisation's escalation policy",
      security,
      body: EscalationPolicyBody,
      response: { 200: EscalationPolicyResponse, ...errorResponses },
    },
    handler: (request) => escalation.setEscalationPolicy(actorOf(request), request.body),
  });
};
