import type { Database } from '../../platform/db/database.js';
import { AppError, notFound } from '../../platform/http/app-error.js';
import type { EmailModule } from '../email/index.js';
import { type Actor, directory, hasPermission } from '../identity/index.js';
import { DONE_STATUSES, type TicketsModule } from '../tickets/index.js';
import { type SurveyPage, surveyMailValues } from './surveys.render.js';
import * as repo from './surveys.repository.js';
import { CSAT_COMMENT_MAX } from './surveys.table.js';
import type { SurveyTokens } from './surveys.tokens.js';

/** Survey links expire this long after sending; an answer can be changed this long after it was first given. */
export const SURVEY_WINDOW_DAYS = 7;
const WINDOW_MS = SURVEY_WINDOW_DAYS * 86_400_000;

export interface SurveysContext {
  database: Database;
  tokens: SurveyTokens;
  publicUrl: string;
  email: Pick<EmailModule, 'outbound'>;
  tickets: Pick<TicketsModule, 'system' | 'tickets'>;
  /** The clock; tests move it. */
  now?: () => Date;
}

export interface AnswerInput {
  rating?: number | undefined;
  comment?: string | undefined;
}

/**
 * Customer satisfaction surveys: one per ticket, mailed some time after it is resolved
 * (through the outbound mail pipeline), answered through signed one-click links.
 */
export class SurveysService {
  constructor(private readonly context: SurveysContext) {}

  private now(): Date {
    return this.context.now?.() ?? new Date();
  }

  /**
   * Whether a resolution should get a survey job: the ticket is still done and `resolvedAt`
   * is the resolution the job is for (the send job checks the same again when it runs).
   */
  async resolutionOf(orgId: string, ticketId: string): Promise<Date | undefined> {
    return this.context.database.withOrg(orgId, async (tx) => {
      const ticket = await this.context.tickets.system.find(tx, orgId, ticketId);
      if (!ticket || !DONE_STATUSES.includes(ticket.status) || !ticket.resolvedAt) return undefined;
      return ticket.resolvedAt;
    });
  }

  /**
   * Plans the survey mail of one resolution, when the ticket is still done from that same
   * resolution (not reopened since), the organisation has a mailbox and the ticket has no
   * survey yet. Returns the delivery to queue for sending: a retry after a crash between
   * commit and enqueue finds its own survey and returns its delivery again.
   */
  async plan(orgId: string, ticketId: string, resolvedAt: Date): Promise<string | undefined> {
    return this.context.database.withOrg(orgId, async (tx) => {
      const ticket = await this.context.tickets.system.find(tx, orgId, ticketId);
      if (!ticket || !DONE_STATUSES.includes(ticket.status)) return undefined;
      if (ticket.resolvedAt?.getTime() !== resolvedAt.getTime()) return undefined;
      const existing = await repo.findByTicket(tx, orgId, ticketId);
      if (existing) {
        // Only this resolution's own survey (planned after it) is queued again.
        return existing.sentAt >= resolvedAt ? (existing.deliveryId ?? undefined) : undefined;
      }
      const sentAt = this.now();
      const token = this.context.tokens.issue(orgId, ticketId, new Date(sentAt.getTime() + WINDOW_MS));
      const delivery = await this.context.email.outbound.planTicketMail(tx, ticket, {
        kind: 'csat',
        causeEventId: `csat-${ticketId}`,
        values: surveyMailValues(`${this.context.publicUrl}/csat/${token}`, SURVEY_WINDOW_DAYS),
      });
      if (!delivery) return undefined;
      await repo.insertSurvey(tx, {
        orgId,
        ticketId,
        requesterId: ticket.requesterId,
        teamId: ticket.teamId,
        deliveryId: delivery.id,
        sentAt,
      });
      return delivery.status === 'queued' ? delivery.id : undefined;
    });
  }

  /**
   * A requester following a survey link: records the rating and comment given (the first
   * answer, or a change within the window after it) and says what page to show.
   */
  async answer(token: string, input: AnswerInput): Promise<SurveyPage> {
    const now = this.now();
    const checked = this.context.tokens.verify(token, now);
    if (!checked.valid) return { state: checked.reason };
    if (input.rating !== undefined && (input.rating < 1 || input.rating > 5))
      throw new AppError('UNPROCESSABLE', 'The rating is a whole number from 1 to 5', {
        details: { rating: 'must be from 1 to 5' },
      });
    if (input.comment !== undefined && input.comment.length > CSAT_COMMENT_MAX)
      throw new AppError('UNPROCESSABLE', `The comment is at most ${CSAT_COMMENT_MAX} characters`, {
        details: { comment: `at most ${CSAT_COMMENT_MAX} characters` },
      });
    const { orgId, ticketId } = checked;
    return this.context.database.withOrg(orgId, async (tx) => {
      const ticket = await this.context.tickets.system.find(tx, orgId, ticketId);
      const survey = ticket ? await repo.findByTicket(tx, orgId, ticketId, { lock: true }) : undefined;
      if (!ticket || !survey) return { state: 'invalid' as const };
      const open = (row: repo.CsatRow, saved: boolean): SurveyPage => ({
        state: 'open',
        action: `/csat/${token}`,
        number: ticket.number,
        rating: row.rating,
        comment: row.comment,
        saved,
      });
      const answering = input.rating !== undefined || input.comment !== undefined;
      if (!answering) return open(survey, false);
      if (survey.answeredAt && now.getTime() - survey.answeredAt.getTime() > WINDOW_MS)
        return { state: 'closed' as const, rating: survey.rating };
      const rating = input.rating ?? survey.rating;
      // A comment alone, before any rating, is kept but is not an answer yet.
      const comment = input.comment === undefined ? survey.comment : input.comment.trim() || null;
      const updated = await repo.updateAnswer(tx, orgId, survey.id, {
        rating,
        comment,
        ...(rating !== null && !survey.answeredAt ? { answeredAt: now } : {}),
        ...(survey.answeredAt ? { changedAt: now } : {}),
      });
      return open(updated, rating !== null);
    });
  }

  /** A ticket's survey, for agents who may see the ticket; `null` when none was sent. */
  async forTicket(actor: Actor, ticketId: string) {
    if (!hasPermission(actor, 'ticket:reply'))
      throw new AppError('FORBIDDEN', 'Survey answers are for agents (ticket:reply)');
    const [visible] = await this.context.tickets.tickets.summaries(actor, [ticketId]);
    if (!visible) throw notFound('Ticket');
    const row = await this.context.database.withOrg(actor.orgId, (tx) =>
      repo.findByTicket(tx, actor.orgId, ticketId),
    );
    return { data: row ? presentSurvey(row) : null };
  }

  /**
   * Satisfaction over surveys sent in [from, to): `reports:view_all` sees every team (or the
   * one asked for), `reports:view_team` only the teams the caller belongs to.
   */
  async report(
    actor: Actor,
    query: { from?: Date | undefined; to?: Date | undefined; teamId?: string | undefined },
  ) {
    const all = hasPermission(actor, 'reports:view_all');
    if (!all && !hasPermission(actor, 'reports:view_team'))
      throw new AppError('FORBIDDEN', 'Reports need reports:view_team or reports:view_all');
    const rows = await this.context.database.withOrg(actor.orgId, async (tx) => {
      let teamIds: string[] | undefined = query.teamId ? [query.teamId] : undefined;
      if (!all) {
        const own = await directory.teamIdsOf(tx, actor.orgId, actor.userId);
        if (query.teamId && !own.includes(query.teamId))
          throw new AppError('FORBIDDEN', 'Only the reports of your own teams (reports:view_team)');
        teamIds ??= own;
      }
      return repo.ratingCounts(tx, actor.orgId, { from: query.from, to: query.to, teamIds });
    });
    const distribution: Record<'1' | '2' | '3' | '4' | '5', number> = { 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 };
    let sent = 0;
    let answered = 0;
    let total = 0;
    for (const row of rows) {
      sent += row.count;
      if (row.rating === null) continue;
      answered += row.count;
      total += row.rating * row.count;
      distribution[String(row.rating) as keyof typeof distribution] += row.count;
    }
    return {
      from: query.from?.toISOString() ?? null,
      to: query.to?.toISOString() ?? null,
      teamId: query.teamId ?? null,
      sent,
      count: answered,
      average: answered > 0 ? Math.round((total / answered) * 100) / 100 : null,
      distribution,
      responseRate: sent > 0 ? Math.round((answered / sent) * 10_000) / 10_000 : null,
    };
  }
}

export function presentSurvey(row: repo.CsatRow) {
  return {
    id: row.id,
    ticketId: row.ticketId,
    requesterId: row.requesterId,
    teamId: row.teamId,
    scale: row.scale,
    rating: row.rating,
    comment: row.comment,
    sentAt: row.sentAt.toISOString(),
    answeredAt: row.answeredAt?.toISOString() ?? null,
    changedAt: row.changedAt?.toISOString() ?? null,
  };
}
