import { z } from 'zod';
import { CSAT_SCALES } from './surveys.table.js';

export const SurveyToken = z.object({ token: z.string().max(200) }).strict();

export const SurveyLinkQuery = z.object({ rating: z.coerce.number().int().optional() }).strict();

/** The survey page's form (urlencoded) or a JSON body. */
export const SurveyAnswerBody = z
  .object({
    rating: z.coerce.number().int(),
    comment: z.string().optional(),
  })
  .strict();

export const SurveyResponse = z.object({
  id: z.uuid(),
  ticketId: z.uuid(),
  requesterId: z.uuid(),
  teamId: z.uuid().nullable(),
  scale: z.enum(CSAT_SCALES),
  rating: z.number().int().nullable(),
  comment: z.string().nullable(),
  sentAt: z.string(),
  answeredAt: z.string().nullable(),
  changedAt: z.string().nullable(),
});

export const CsatReportQuery = z
  .object({
    from: z.coerce.date().optional(),
    to: z.coerce.date().optional(),
    teamId: z.uuid().optional(),
  })
  .strict();

export const CsatReport = z.object({
  from: z.string().nullable(),
  to: z.string().nullable(),
  teamId: z.uuid().nullable(),
  /** Surveys sent in the period. */
  sent: z.number().int(),
  /** Surveys answered (with a rating). */
  count: z.number().int(),
  average: z.number().nullable(),
  distribution: z.object({
    1: z.number().int(),
    2: z.number().int(),
    3: z.number().int(),
    4: z.number().int(),
    5: z.number().int(),
  }),
  /** count / sent, 0–1; null when nothing was sent. */
  responseRate: z.number().nullable(),
});
