import Mustache from 'mustache';
import { AppError } from '../../platform/http/app-error.js';
import type { TicketRenderContext } from '../tickets/index.js';

/** The variables a template may use, each written `{{name}}`. */
export const TEMPLATE_VARIABLES = [
  'ticket.number',
  'ticket.title',
  'ticket.status',
  'ticket.priority',
  'ticket.url',
  'requester.name',
  'requester.email',
  'requester.first_name',
  'agent.name',
  'agent.email',
  'agent.first_name',
] as const;

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);

type Token = Mustache.TemplateSpans[number];

// A writer of our own, without a template cache: the default one keeps every template it
// ever parsed, an unbounded map in a server that renders arbitrary stored text.
const writer = new Mustache.Writer();
(writer as unknown as { templateCache: undefined }).templateCache = undefined;

/** Why a template cannot be saved: unknown variables, tags other than `{{a.b}}`, bad syntax. */
export interface TemplateProblems {
  unknownVariables?: string[];
  unsupportedTags?: string[];
  syntax?: string;
}

/**
 * Parses a template and lists its problems; undefined when it is fine. Only plain variables
 * are allowed: sections, inverted sections, partials, comments, delimiter changes and
 * triple mustaches are refused, so a template can do nothing but insert known values.
 */
export function templateProblems(
  text: string,
  known: ReadonlySet<string> = KNOWN,
): TemplateProblems | undefined {
  const parsed = parse(text);
  return Array.isArray(parsed) ? tokenProblems(parsed, text, known) : parsed;
}

function tokenProblems(
  tokens: readonly Token[],
  text: string,
  known: ReadonlySet<string>,
): TemplateProblems | undefined {
  const unknown = new Set<string>();
  const unsupported = new Set<string>();
  for (const [type, value, start, end] of tokens) {
    if (type === 'text') continue;
    if (type === 'name') {
      if (!known.has(value)) unknown.add(value);
    } else {
      unsupported.add(text.slice(start, end));
    }
  }
  if (unknown.size === 0 && unsupported.size === 0) return undefined;
  return {
    ...(unknown.size > 0 ? { unknownVariables: [...unknown] } : {}),
    ...(unsupported.size > 0 ? { unsupportedTags: [...unsupported] } : {}),
  };
}

/** Throws a 422 naming `field` when the template has problems. */
export function assertValidTemplate(
  text: string,
  field: string,
  allowed: readonly string[] = TEMPLATE_VARIABLES,
): void {
  const problems = templateProblems(text, allowed === TEMPLATE_VARIABLES ? KNOWN : new Set(allowed));
  if (problems) throw invalidTemplate(problems, field, allowed);
}

function invalidTemplate(problems: TemplateProblems, field: string, allowed: readonly string[]): AppError {
  const parts = [
    problems.syntax,
    problems.unknownVariables &&
      `unknown variables ${problems.unknownVariables.map((name) => `{{${name}}}`).join(', ')}`,
    problems.unsupportedTags &&
      `only {{variable}} tags are allowed, not ${problems.unsupportedTags.join(', ')}`,
  ].filter(Boolean);
  return new AppError('UNPROCESSABLE', `Invalid template in ${field}: ${parts.join('; ')}`, {
    details: { field, ...problems, allowedVariables: allowed },
  });
}

/**
 * Renders a template as plain text. Values go in verbatim (no HTML escaping: bodies are
 * stored as text and never interpreted as HTML) and are never rendered again, so a ticket
 * title containing `{{agent.name}}` stays literal.
 */
export function renderTemplate(text: string, context: TicketRenderContext, publicUrl: string): string {
  // Stored templates were checked on save; this guards rows written before a rule changed.
  assertValidTemplate(text, 'template');
  // Plain data only: a function in the view would be called as a mustache lambda.
  return writer.render(text, viewOf(context, publicUrl), {}, { escape: String });
}

/**
 * Renders a template checked with `assertValidTemplate` against plain data (other templated
 * text, such as mail, has its own variables); `escapeValue` is applied to every value.
 */
export function renderVariables(text: string, view: object, escapeValue: (value: string) => string): string {
  return writer.render(text, view, {}, { escape: escapeValue });
}

function parse(text: string): Token[] | TemplateProblems {
  try {
    return writer.parse(text) as Token[];
  } catch (error) {
    // Mustache's messages name the problem and its offset ("Unclosed tag at 12").
    return { syntax: error instanceof Error ? error.message : 'unreadable template' };
  }
}

function viewOf(context: TicketRenderContext, publicUrl: string) {
  const { ticket, requester, agent } = context;
  return {
    ticket: {
      number: ticket.number,
      title: ticket.title,
      // Written for people: "pending user", not the API's "pending_user".
      status: ticket.status.replaceAll('_', ' '),
      priority: ticket.priority,
      url: `${publicUrl.replace(/\/+$/, '')}/tickets/${ticket.id}`,
    },
    requester: { name: requester.name, email: requester.email, first_name: firstName(requester.name) },
    agent: { name: agent.name, email: agent.email, first_name: firstName(agent.name) },
  };
}

function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? '';
}
