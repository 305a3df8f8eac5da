import type { Logger } from 'pino';
import type { Database, Executor } from '../../platform/db/database.js';
import { AppError } from '../../platform/http/app-error.js';
import type { PubSub } from '../../platform/pubsub/pubsub.port.js';
import { SharedCache } from '../../platform/pubsub/shared-cache.js';
import { type Actor, hasPermission } from '../identity/index.js';
import { assertValidTemplate, renderVariables, templateProblems } from '../templates/index.js';
import type { TicketRow } from '../tickets/index.js';
import {
  DEFAULT_TEMPLATES,
  MAIL_KINDS,
  MAIL_VARIABLES,
  type MailKind,
  type MailTemplate,
  sampleValues,
} from './mail-templates.defaults.js';
import * as repo from './mail-templates.repository.js';
import type {
  MailTemplateDraft,
  MailTemplateResponse,
  PutMailTemplateBody,
} from './mail-templates.schema.js';

/** A mail ready to store: every value inserted, HTML-escaped in `html`. */
export interface RenderedMail {
  subject: string;
  text: string;
  html: string | null;
}

const FIELDS = ['subject', 'text', 'html'] as const;

/**
 * The wording of every mail we send: an organisation's own template of a kind, else the
 * built-in default, rendered with the restricted mustache of canned responses. Admins edit
 * and preview them (`admin:settings`); planning mail renders through `render` only.
 */
export class MailTemplatesService {
  /**
   * Each organisation's own templates, cached per process: every planned mail renders one.
   * Saving or removing a template evicts the organisation in every process after commit.
   */
  private readonly cache: SharedCache<ReadonlyMap<MailKind, repo.EmailTemplateRow>>;
  private started: Promise<void> | undefined;

  constructor(
    private readonly context: { database: Database; logger: Logger; publicUrl: string; pubsub: PubSub },
  ) {
    this.cache = new SharedCache(context.pubsub, 'mail-templates-invalidated', {
      ttlMs: 60_000,
      maxEntries: 10_000,
    });
  }

  /** Subscribes to evictions from other processes (once). */
  start(): Promise<void> {
    this.started ??= this.cache.start();
    return this.started;
  }

  async list(actor: Actor): Promise<{ data: MailTemplateResponse[] }> {
    requireSettings(actor);
    const rows = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.listTemplates(tx, actor.orgId),
    );
    const byKind = new Map(rows.map((row) => [row.kind, row]));
    return { data: MAIL_KINDS.map((kind) => present(kind, byKind.get(kind))) };
  }

  /** Stores an organisation's template of a kind; unknown variables or other tags answer 422. */
  async put(actor: Actor, kind: MailKind, input: PutMailTemplateBody): Promise<MailTemplateResponse> {
    requireSettings(actor);
    const template = { subject: input.subject, text: input.text, html: input.html ?? null };
    assertValidMailTemplate(kind, template);
    const row = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.upsertTemplate(tx, actor.orgId, kind, template),
    );
    await this.cache.invalidate(actor.orgId);
    return present(kind, row);
  }

  /** Goes back to the built-in default. */
  async remove(actor: Actor, kind: MailKind): Promise<void> {
    requireSettings(actor);
    await this.context.database.withOrg(actor.orgId, (tx) => repo.deleteTemplate(tx, actor.orgId, kind));
    await this.cache.invalidate(actor.orgId);
  }

  /**
   * Renders a draft (fields left out come from the template in use) with sample values.
   * Writes nothing.
   */
  async preview(actor: Actor, kind: MailKind, draft: MailTemplateDraft | null | undefined) {
    requireSettings(actor);
    const current = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.findTemplate(tx, actor.orgId, kind),
    );
    const template: MailTemplate = {
      subject: draft?.subject ?? current?.subject ?? DEFAULT_TEMPLATES[kind].subject,
      text: draft?.text ?? current?.text ?? DEFAULT_TEMPLATES[kind].text,
      html: draft?.html !== undefined ? draft.html : current ? current.html : DEFAULT_TEMPLATES[kind].html,
    };
    assertValidMailTemplate(kind, template);
    return renderMail(template, sampleValues(this.context.publicUrl));
  }

  /** Renders the organisation's template of a kind (the default when it has none). */
  async render(tx: Executor, orgId: string, kind: MailKind, values: Record<string, string>) {
    const own = await this.cache.load(
      orgId,
      async () => new Map((await repo.listTemplates(tx, orgId)).map((row) => [row.kind, row])),
    );
    const row = own.get(kind);
    let template: MailTemplate = DEFAULT_TEMPLATES[kind];
    if (row) {
      const known = new Set(MAIL_VARIABLES[kind]);
      // Checked on save; a template the rules no longer allow must not stop mail.
      const broken = FIELDS.some((field) => row[field] !== null && templateProblems(row[field], known));
      if (broken)
        this.context.logger.warn({ orgId, kind }, 'stored mail template is invalid; using the default');
      else template = row;
    }
    return renderMail(template, values);
  }

  /** The values every ticket mail knows: `ticket.*` and `requester.*`. */
  ticketValues(
    ticket: Pick<TicketRow, 'id' | 'number' | 'title' | 'status' | 'priority'>,
    requester: { name: string; email: string },
  ): Record<string, string> {
    return {
      'ticket.number': ticket.number,
      'ticket.title': ticket.title,
      // Written for people: "pending user", not the API's "pending_user".
      'ticket.status': ticket.status.replaceAll('_', ' '),
      'ticket.priority': ticket.priority,
      'ticket.url': `${this.context.publicUrl.replace(/\/+$/, '')}/tickets/${ticket.id}`,
      'requester.name': requester.name,
      'requester.email': requester.email,
      'requester.first_name': firstName(requester.name),
    };
  }
}

/** Throws a 422 naming the field and its unknown variables or refused tags. */
export function assertValidMailTemplate(kind: MailKind, template: MailTemplate): void {
  for (const field of FIELDS) {
    const text = template[field];
    if (text !== null) assertValidTemplate(text, field, MAIL_VARIABLES[kind]);
  }
}

/**
 * Renders a checked template. Values are inserted once and never rendered again; the
 * subject is one line, whatever a value held.
 */
export function renderMail(template: MailTemplate, values: Record<string, string>): RenderedMail {
  const view = nest(values);
  return {
    subject: renderVariables(template.subject, view, String)
      .replace(/\s*[\r\n]+\s*/g, ' ')
      .trim(),
    text: renderVariables(template.text, view, String),
    html: template.html === null ? null : renderVariables(template.html, view, escapeHtml),
  };
}

export function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? '';
}

/** Mustache looks `a.b` up as a path, so `{ 'a.b': v }` becomes `{ a: { b: v } }`. */
function nest(values: Record<string, string>): Record<string, unknown> {
  const view: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(values)) {
    const [head, ...rest] = name.split('.');
    view[head!] ??= {};
    view[head!]![rest.join('.')] = value;
  }
  return view;
}

// Mustache's own escape also encodes `/` and `=`, which mangles URLs in attributes for
// anything that reads the HTML without decoding it; these five keep text and quoted
// attributes safe.
function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

function present(kind: MailKind, row: repo.EmailTemplateRow | undefined): MailTemplateResponse {
  const template = row ?? DEFAULT_TEMPLATES[kind];
  return {
    kind,
    custom: row !== undefined,
    subject: template.subject,
    text: template.text,
    html: template.html,
    variables: [...MAIL_VARIABLES[kind]],
    updatedAt: row?.updatedAt.toISOString() ?? null,
  };
}

function requireSettings(actor: Actor): void {
  if (!hasPermission(actor, 'admin:settings'))
    throw new AppError('FORBIDDEN', 'Mail templates need admin:settings');
}
