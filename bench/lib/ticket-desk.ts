import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { mapConcurrently } from './concurrent.js';
import { Random } from './random.js';
import { benchPassword, callApiJson, login } from './services.js';
import { insertRequesters } from './ticket-data.js';
import { TicketTextGenerator } from './ticket-text.js';
import { TOPICS, type TopicName } from './ticket-vocabulary.js';

/**
 * The ticket benchmark's settings, targets and service desk: an organisation, one team per
 * topic with a team lead and nine agents (all through the API), and requesters (in SQL).
 */

export interface TicketBenchSettings {
  tickets: number;
  messagesPerTicket: number;
  days: number;
  /** Concurrent clients of the create runs. */
  clients: number;
  /** Concurrent clients of the latency runs. */
  latencyClients: number;
  /** Seconds of each create run, and of each latency run. */
  duration: number;
  latencyDuration: number;
  warmup: number;
  rounds: number;
  bulkRounds: number;
  seed: number;
}

/** The issue's figures. */
export const TARGET = { createPerSecond: 1_000, listP99: 20, searchP95: 50, getP99: 15, bulkMs: 1_000 };
export const BULK_SIZE = 500;

/** One line of the summary. */
export interface Figure {
  figure: string;
  target: string;
  measured: string;
  verdict: string;
}

export interface DeskTeam {
  id: string;
  name: string;
  topic: TopicName;
  leadId: string;
  agentIds: string[];
  /** Access tokens of two agents, each a member of this team only. */
  agents: Array<{ id: string; token: string }>;
}

export interface Desk {
  orgId: string;
  adminToken: string;
  teams: DeskTeam[];
  requesterIds: string[];
}

const AGENTS_PER_TEAM = 10;
const SIGNED_IN_AGENTS = 2;
export const REQUESTERS = 2_000;
const ADMIN_EMAIL = 'admin@acme.example';

/** Signs up the organisation and creates teams, agents (API) and requesters (SQL). */
export async function setUpDesk(baseUrl: string, db: pg.Client, seed: number): Promise<Desk> {
  const started = performance.now();
  const password = benchPassword();
  const signup = await callApiJson<{ organization: { id: string }; accessToken: string }>(
    baseUrl,
    'POST',
    '/api/v1/orgs',
    { body: { name: 'Acme Service Desk', adminEmail: ADMIN_EMAIL, adminPassword: password }, expect: 201 },
  );
  const adminToken = signup.accessToken;
  const text = new TicketTextGenerator(new Random(seed + 3));
  const teamIds: string[] = [];
  for (const topic of TOPICS) {
    const team = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/teams', {
      token: adminToken,
      body: { name: topic.team },
      expect: 201,
    });
    teamIds.push(team.id);
  }
  const people = teamIds.flatMap((teamId, teamIndex) =>
    Array.from({ length: AGENTS_PER_TEAM }, (_, n) => ({
      teamId,
      email: `${n === 0 ? 'lead' : `agent${n}`}.team${teamIndex + 1}@acme.example`,
      name: text.person(),
      role: n === 0 ? 'team_lead' : 'agent',
    })),
  );
  // Each creation hashes a password (argon2): a few at a time keep the server responsive.
  const userIds = await mapConcurrently(people, 4, async (person) => {
    const user = await callApiJson<{ id: string }>(baseUrl, 'POST', '/api/v1/admin/users', {
      token: adminToken,
      body: { email: person.email, name: person.name, role: person.role, password, teamIds: [person.teamId] },
      expect: 201,
    });
    return user.id;
  });
  const apiSeconds = (performance.now() - started) / 1000;
  const requesterIds = await insertRequesters(db, signup.organization.id, REQUESTERS, seed + 2);
  const teams = await mapConcurrently(TOPICS, 2, async (topic, teamIndex) => {
    const members = people.flatMap((person, index) =>
      person.teamId === teamIds[teamIndex] ? [{ ...person, id: userIds[index]! }] : [],
    );
    const signedIn = members.slice(1, 1 + SIGNED_IN_AGENTS);
    const tokens = await mapConcurrently(signedIn, SIGNED_IN_AGENTS, (member) =>
      login(baseUrl, member.email, password),
    );
    return {
      id: teamIds[teamIndex]!,
      name: topic.team,
      topic: topic.name,
      leadId: members[0]!.id,
      agentIds: members.map((member) => member.id),
      agents: signedIn.map((member, index) => ({ id: member.id, token: tokens[index]! })),
    };
  });
  console.log(
    `\nService desk: organisation, ${teams.length} teams and ${people.length} agents and team leads through ` +
      `the API (${apiSeconds.toFixed(1)} s, an argon2 hash each), ${REQUESTERS.toLocaleString('en')} ` +
      'requesters in SQL (no password: they never sign in here)',
  );
  return { orgId: signup.organization.id, adminToken, teams, requesterIds };
}

/** An agent token that sees tickets of `teamId` (any team's agent for tickets without one). */
export function tokenForTeam(desk: Desk, teamId: string | null, index: number): string {
  const team =
    desk.teams.find((candidate) => candidate.id === teamId) ?? desk.teams[index % desk.teams.length]!;
  return team.agents[index % team.agents.length]!.token;
}

/** Whether the ticket routes exist yet (404 while the API is being written). */
export async function ticketApiAnswers(baseUrl: string, desk: Desk): Promise<boolean> {
  const response = await fetch(`${baseUrl}/api/v1/tickets?limit=1`, {
    headers: { authorization: `Bearer ${desk.teams[0]!.agents[0]!.token}` },
  });
  const body = await response.text();
  if (response.status === 404) return false;
  if (response.status !== 200) throw new Error(`GET /api/v1/tickets answered ${response.status}: ${body}`);
  return true;
}
