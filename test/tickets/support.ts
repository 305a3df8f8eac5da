import type { FastifyInstance } from 'fastify';
import { createUser, type SignedUp, signupOrg } from '../support/harness.js';

type Session = { id: string; auth: { authorization: string } };

/** Anyone who calls the API: a session's headers. */
export type Who = { auth: Record<string, string> };

/** An organisation with a team, two agents in it, a lead, an outside agent and two requesters. */
export interface TicketWorld {
  admin: SignedUp & Session;
  teamId: string;
  otherTeamId: string;
  agent: Session;
  agent2: Session;
  lead: Session;
  outsider: Session;
  requester: Session;
  requester2: Session;
}

export async function ticketWorld(app: FastifyInstance): Promise<TicketWorld> {
  const org = await signupOrg(app);
  const admin = { ...org, id: org.adminId };
  const team = async (name: string) => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/admin/teams',
      headers: admin.auth,
      payload: { name },
    });
    if (response.statusCode !== 201) throw new Error(`team: ${response.body}`);
    return response.json().id as string;
  };
  const teamId = await team('Service Desk');
  const otherTeamId = await team('Network');
  const [agent, agent2, lead, outsider, requester, requester2] = await Promise.all([
    createUser(app, admin, 'agent', { teamIds: [teamId] }),
    createUser(app, admin, 'agent', { teamIds: [teamId] }),
    createUser(app, admin, 'team_lead', { teamIds: [teamId] }),
    createUser(app, admin, 'agent', { teamIds: [otherTeamId] }),
    createUser(app, admin, 'requester'),
    createUser(app, admin, 'requester'),
  ]);
  return { admin, teamId, otherTeamId, agent, agent2, lead, outsider, requester, requester2 };
}

/** Opens a ticket through the API and returns its body. */
export async function openTicket(
  app: FastifyInstance,
  who: Session,
  payload: Record<string, unknown> = {},
): Promise<{ id: string; number: string; version: number } & Record<string, unknown>> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/tickets',
    headers: who.auth,
    payload: { title: 'Printer on floor 3 is jammed', description: 'It shows error E-42.', ...payload },
  });
  if (response.statusCode !== 201) throw new Error(`open ticket: ${response.statusCode} ${response.body}`);
  return response.json();
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * `api(method, '/tickets', who, payload?, headers?)` against `/api/v1` of the app `appOf`
 * returns (a getter, because test files start their app in `beforeAll`).
 */
export function apiClient(appOf: () => FastifyInstance) {
  return (
    method: Method,
    url: string,
    who: { auth: Record<string, string> },
    payload?: unknown,
    headers: Record<string, string> = {},
  ) =>
    appOf().inject({
      method,
      url: `/api/v1${url}`,
      headers: { ...who.auth, ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
}
