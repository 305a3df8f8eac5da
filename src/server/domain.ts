import { type AssignmentModule, createAssignmentModule } from './modules/assignment/index.js';
import { createEmailModule, type EmailModule } from './modules/email/index.js';
import { createSlaModule, type SlaModule } from './modules/sla/index.js';
import { createSurveysModule, type SurveysModule } from './modules/surveys/index.js';
import { createTicketsModule, type TicketsModule } from './modules/tickets/index.js';
import type { Platform } from './platform/platform.js';

/**
 * The feature modules with their wiring (which module reacts to which), built once per
 * process and shared by the HTTP app and the job handlers, so both run the same hooks and
 * caches.
 */
export interface Domain {
  tickets: TicketsModule;
  assignment: AssignmentModule;
  sla: SlaModule;
  email: EmailModule;
  surveys: SurveysModule;
  /** Starts what every process role needs before it handles work (cache eviction subscriptions). */
  start(): Promise<void>;
}

export function createDomain(platform: Platform): Domain {
  const tickets = createTicketsModule(platform);
  const assignment = createAssignmentModule(platform, tickets);
  tickets.setRouter(assignment.router);
  // Escalations reassign breached tickets to the senior agent automatic assignment picks.
  const sla = createSlaModule(platform, tickets, assignment.pickSenior);
  const email = createEmailModule(platform, tickets);
  // The ticket view shows what was kept of received mail (sender, threading decision, raw .eml).
  tickets.setMailSource(email.inbound);
  const surveys = createSurveysModule(platform, tickets, email);
  const start = async () => {
    await Promise.all([sla.admin.start(), assignment.start(), email.start()]);
  };
  return { tickets, assignment, sla, email, surveys, start };
}
