import { type Actor, type DemoDirectory, ROLE_PERMISSIONS } from '../identity/index.js';
import type { MessagesService } from './messages.service.js';
import type { TicketsService } from './tickets.service.js';
import type { WorkflowService } from './workflow.service.js';

type Step =
  | { reply: string; by: string }
  | { note: string; by: string }
  | { status: 'in_progress' | 'pending_user' | 'waiting_on_vendor' | 'resolved' | 'closed'; by: string }
  | { claim: string };

interface DemoTicket {
  requester: string;
  title: string;
  description: string;
  team: string;
  priority: 'low' | 'medium' | 'high' | 'critical';
  tags: string[];
  steps: Step[];
}

const DEMO_TICKETS: DemoTicket[] = [
  {
    requester: 'requester1',
    title: 'Laptop will not connect to the office Wi-Fi',
    description:
      'Since this morning my laptop says "Can\'t connect to this network" on ACME-Corp. My phone connects fine.',
    team: 'Service Desk',
    priority: 'high',
    tags: ['wifi', 'laptop'],
    steps: [
      { claim: 'agent1' },
      {
        reply: 'Could you forget the network and reconnect with your new password? It changed on Monday.',
        by: 'agent1',
      },
      { status: 'pending_user', by: 'agent1' },
    ],
  },
  {
    requester: 'requester2',
    title: 'Request: access to the Finance shared drive',
    description: 'I joined the Finance team last week and need read/write access to \\\\files\\finance.',
    team: 'Infrastructure',
    priority: 'medium',
    tags: ['access-request'],
    steps: [
      { note: 'Needs approval from the Finance lead before we grant write access.', by: 'agent2' },
      { claim: 'agent2' },
      { status: 'waiting_on_vendor', by: 'agent2' },
    ],
  },
  {
    requester: 'requester1',
    title: 'Printer on floor 3 prints blank pages',
    description: 'The HP printer next to the kitchen prints blank pages since the toner was replaced.',
    team: 'Service Desk',
    priority: 'low',
    tags: ['printer'],
    steps: [
      { claim: 'agent1' },
      {
        reply: 'The protective tape was still on the new toner; removed it. Please try again.',
        by: 'agent1',
      },
      { status: 'resolved', by: 'agent1' },
    ],
  },
  {
    requester: 'requester2',
    title: 'VPN disconnects every hour',
    description: 'Working from home, the VPN drops every 60 minutes and I lose my remote desktop session.',
    team: 'Infrastructure',
    priority: 'high',
    tags: ['vpn', 'remote'],
    steps: [{ status: 'in_progress', by: 'lead' }],
  },
  {
    requester: 'requester1',
    title: 'Email server not reachable from the branch office',
    description: 'Nobody in the Lyon office can send or receive email since 9:05.',
    team: 'Infrastructure',
    priority: 'critical',
    tags: ['email', 'outage'],
    steps: [
      { claim: 'agent2' },
      { note: 'Firewall rule change at 9:00 — rolling back.', by: 'agent2' },
      {
        reply: 'We found the cause and are rolling back a firewall change. Next update in 15 minutes.',
        by: 'agent2',
      },
    ],
  },
  {
    requester: 'requester2',
    title: 'New starter: set up accounts for Jamie Doe',
    description: 'Jamie starts on the 1st in Sales: needs email, CRM and a laptop.',
    team: 'Service Desk',
    priority: 'medium',
    tags: ['onboarding'],
    steps: [],
  },
  {
    requester: 'requester1',
    title: 'Monitor flickers when docked',
    description: 'The external monitor flickers every few seconds when the laptop is in the dock.',
    team: 'Service Desk',
    priority: 'low',
    tags: ['hardware'],
    steps: [
      { claim: 'agent1' },
      { reply: 'Replaced the dock cable; the flicker is gone on our test bench.', by: 'agent1' },
      { status: 'closed', by: 'agent1' },
    ],
  },
];

/**
 * Opens the demo organisation's sample tickets through the ticket services themselves, so
 * numbers, timelines, outbox events and view counts are exactly what real use produces.
 */
export async function seedDemoTickets(
  services: { tickets: TicketsService; messages: MessagesService; workflow: WorkflowService },
  demo: DemoDirectory,
): Promise<number> {
  const actor = (key: string): Actor => {
    const user = demo.users[key];
    if (!user) throw new Error(`unknown demo user ${key}`);
    return { userId: user.id, orgId: demo.orgId, role: user.role, permissions: ROLE_PERMISSIONS[user.role] };
  };
  for (const ticket of DEMO_TICKETS) {
    const created = await services.tickets.create(actor('lead'), {
      title: ticket.title,
      description: ticket.description,
      priority: ticket.priority,
      tags: ticket.tags,
      teamId: demo.teams[ticket.team] ?? null,
      requesterId: actor(ticket.requester).userId,
      channel: 'web',
      customFields: {},
    });
    for (const step of ticket.steps) {
      if ('claim' in step) await services.workflow.claim(actor(step.claim), created.id);
      else if ('reply' in step)
        await services.messages.add(
          actor(step.by),
          created.id,
          { body: step.reply, mentions: [], attachmentIds: [] },
          false,
        );
      else if ('note' in step)
        await services.messages.add(
          actor(step.by),
          created.id,
          { body: step.note, mentions: [], attachmentIds: [] },
          true,
        );
      else await services.workflow.changeStatus(actor(step.by), created.id, step.status);
    }
  }
  return DEMO_TICKETS.length;
}
