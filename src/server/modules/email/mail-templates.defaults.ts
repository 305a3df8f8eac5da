import { DELIVERY_KINDS } from './email.table.js';

/** The kinds of mail, each with one template per organisation (or the built-in default). */
export type MailKind = (typeof DELIVERY_KINDS)[number];
export const MAIL_KINDS = DELIVERY_KINDS;

/** A template as stored or built in: mustache with plain `{{variables}}` only. */
export interface MailTemplate {
  subject: string;
  text: string;
  html: string | null;
}

const TICKET = [
  'ticket.number',
  'ticket.title',
  'ticket.status',
  'ticket.priority',
  'ticket.url',
  'requester.name',
  'requester.email',
  'requester.first_name',
] as const;
/** Who acted: the replying agent, the author of a mention, who assigned. */
const AGENT = ['agent.name', 'agent.first_name'] as const;
/** The agent a notification is for. */
const RECIPIENT = ['recipient.name', 'recipient.first_name'] as const;

/** The variables each kind of mail may use. */
export const MAIL_VARIABLES: Record<MailKind, readonly string[]> = {
  ack: [...TICKET],
  reply: [...TICKET, ...AGENT, 'message.body'],
  assignment: [...TICKET, ...AGENT, ...RECIPIENT],
  mention: [...TICKET, ...AGENT, ...RECIPIENT, 'message.body', 'message.type'],
  sla: [...TICKET, ...RECIPIENT, 'sla.level', 'sla.trigger', 'sla.clock'],
  csat: [
    ...TICKET,
    'survey.url',
    'survey.valid_days',
    ...[5, 4, 3, 2, 1].map((rating) => `survey.rating_url_${rating}`),
  ],
};

const SUBJECT = '[{{ticket.number}}] {{ticket.title}}';
const OPEN = 'Open it at {{ticket.url}}';

/**
 * The built-in wording, used while an organisation has no template of its own. Subjects keep
 * `[TKT-…]`: inbound mail threads on it when the reply token is lost.
 */
export const DEFAULT_TEMPLATES: Record<MailKind, MailTemplate> = {
  ack: {
    subject: SUBJECT,
    text: [
      'Hello,',
      '',
      'We have received your request and opened ticket {{ticket.number}}: "{{ticket.title}}".',
      'Reply to this e-mail to add to it; keep the ticket number in the subject.',
      '',
      'Follow it at {{ticket.url}}',
    ].join('\n'),
    html: null,
  },
  reply: { subject: SUBJECT, text: '{{message.body}}', html: null },
  assignment: {
    subject: '[{{ticket.number}}] Assigned to you: {{ticket.title}}',
    text: [
      'Hello {{recipient.first_name}},',
      '',
      'Ticket {{ticket.number}} ("{{ticket.title}}") was assigned to you by {{agent.name}}.',
      'Requester: {{requester.name}}. Status {{ticket.status}}, priority {{ticket.priority}}.',
      '',
      OPEN,
    ].join('\n'),
    html: null,
  },
  mention: {
    subject: '[{{ticket.number}}] {{agent.name}} mentioned you: {{ticket.title}}',
    text: [
      'Hello {{recipient.first_name}},',
      '',
      '{{agent.name}} mentioned you on ticket {{ticket.number}} ("{{ticket.title}}") in this {{message.type}}:',
      '',
      '{{message.body}}',
      '',
      OPEN,
    ].join('\n'),
    html: null,
  },
  sla: {
    subject: '[{{ticket.number}}] SLA escalation, level {{sla.level}}: {{ticket.title}}',
    text: [
      'Hello {{recipient.first_name}},',
      '',
      'Ticket {{ticket.number}} ("{{ticket.title}}") reached escalation level {{sla.level}}: its {{sla.clock}} target is {{sla.trigger}}.',
      'Requester: {{requester.name}}. Status {{ticket.status}}, priority {{ticket.priority}}.',
      '',
      OPEN,
    ].join('\n'),
    html: null,
  },
  csat: {
    subject: SUBJECT,
    text: [
      'Hello,',
      '',
      'Your ticket {{ticket.number}} ("{{ticket.title}}") has been resolved. How satisfied are you with our help?',
      '',
      '  5 - Very satisfied: {{survey.rating_url_5}}',
      '  4 - Satisfied: {{survey.rating_url_4}}',
      '  3 - Neutral: {{survey.rating_url_3}}',
      '  2 - Dissatisfied: {{survey.rating_url_2}}',
      '  1 - Very dissatisfied: {{survey.rating_url_1}}',
      '',
      'One click records your answer; the page that opens lets you add a comment. The links work for {{survey.valid_days}} days.',
    ].join('\n'),
    html: [
      '<!doctype html><html><body>',
      '<p>Hello,</p>',
      '<p>Your ticket {{ticket.number}} (&ldquo;{{ticket.title}}&rdquo;) has been resolved. How satisfied are you with our help?</p>',
      '<ul><li><a href="{{survey.rating_url_5}}">5 &ndash; Very satisfied</a></li>',
      '<li><a href="{{survey.rating_url_4}}">4 &ndash; Satisfied</a></li>',
      '<li><a href="{{survey.rating_url_3}}">3 &ndash; Neutral</a></li>',
      '<li><a href="{{survey.rating_url_2}}">2 &ndash; Dissatisfied</a></li>',
      '<li><a href="{{survey.rating_url_1}}">1 &ndash; Very dissatisfied</a></li></ul>',
      '<p>One click records your answer; the page that opens lets you add a comment. The links work for {{survey.valid_days}} days.</p>',
      '</body></html>',
    ].join('\n'),
  },
};

/** What previews render with: every variable of every kind, made up. */
export function sampleValues(publicUrl: string): Record<string, string> {
  const survey = `${publicUrl}/csat/sample-token`;
  return {
    'ticket.number': 'TKT-20250101-00042',
    'ticket.title': 'Printer on floor 3 <jammed> & offline',
    'ticket.status': 'open',
    'ticket.priority': 'high',
    'ticket.url': `${publicUrl}/tickets/01900000-0000-7000-8000-000000000042`,
    'requester.name': 'Robin Requester',
    'requester.email': 'robin@example.com',
    'requester.first_name': 'Robin',
    'agent.name': 'Alex Agent',
    'agent.first_name': 'Alex',
    'recipient.name': 'Sam Senior',
    'recipient.first_name': 'Sam',
    'message.body': 'Could you send us the printer’s status page?',
    'message.type': 'internal note',
    'sla.level': '2',
    'sla.trigger': 'breached',
    'sla.clock': 'resolution',
    'survey.url': survey,
    'survey.valid_days': '7',
    ...Object.fromEntries(
      [5, 4, 3, 2, 1].map((rating) => [`survey.rating_url_${rating}`, `${survey}?rating=${rating}`]),
    ),
  };
}
