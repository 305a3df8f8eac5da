import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../../platform/http/route-helpers.js';
import { actorOf } from '../identity/index.js';
import { type SurveyPage, surveyPageHtml } from './surveys.render.js';
import {
  CsatReport,
  CsatReportQuery,
  SurveyAnswerBody,
  SurveyLinkQuery,
  SurveyResponse,
  SurveyToken,
} from './surveys.schema.js';
import type { SurveysService } from './surveys.service.js';

const PAGE_STATUS: Record<SurveyPage['state'], 200 | 400 | 410> = {
  open: 200,
  invalid: 400,
  expired: 410,
  closed: 410,
};

const HtmlPage = z.string().describe('HTML page');
const pageResponses = { 200: HtmlPage, 400: HtmlPage, 410: HtmlPage, ...errorResponses };

function sendPage(reply: FastifyReply, page: SurveyPage) {
  return (
    reply
      .status(PAGE_STATUS[page.state])
      .type('text/html; charset=utf-8')
      // The token in the URL is the requester's credential: keep it out of caches and referrers.
      .header('cache-control', 'no-store')
      .header('referrer-policy', 'no-referrer')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
      .send(surveyPageHtml(page))
  );
}

/** The public survey pages a requester reaches from the survey mail (no login: the link is signed). */
export const surveyPublicRoutes: FastifyPluginAsyncZod<{ surveys: SurveysService }> = async (
  app,
  { surveys },
) => {
  // The page's form posts urlencoded; this parser lives only in this plugin.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  app.get('/csat/:token', {
    config: { public: true },
    schema: {
      tags: ['Surveys'],
      summary: 'Survey link: records the rating given in the query, answers the survey page',
      params: SurveyToken,
      querystring: SurveyLinkQuery,
      produces: ['text/html'],
      response: pageResponses,
    },
    handler: async (request, reply) =>
      sendPage(reply, await surveys.answer(request.params.token, { rating: request.query.rating })),
  });

  app.post('/csat/:token', {
    config: { public: true },
    schema: {
      tags: ['Surveys'],
      summary: 'Survey form: changes the rating and comment (urlencoded or JSON), answers the survey page',
      params: SurveyToken,
      body: SurveyAnswerBody,
      produces: ['text/html'],
      response: pageResponses,
    },
    handler: async (request, reply) =>
      sendPage(
        reply,
        await surveys.answer(request.params.token, {
          rating: request.body.rating,
          comment: request.body.comment,
        }),
      ),
  });
};

/** Survey answers and the satisfaction report, for agents and leads. */
export const surveyRoutes: FastifyPluginAsyncZod<{ surveys: SurveysService }> = async (app, { surveys }) => {
  app.get('/tickets/:id/csat', {
    schema: {
      tags: ['Surveys'],
      summary: "A ticket's satisfaction survey and answer (null when none was sent)",
      security: [{ bearer: [] }],
      params: z.object({ id: z.uuid() }).strict(),
      response: { 200: z.object({ data: SurveyResponse.nullable() }), ...errorResponses },
    },
    handler: (request) => surveys.forTicket(actorOf(request), request.params.id),
  });

  app.get('/reports/csat', {
    schema: {
      tags: ['Surveys', 'Reports'],
      summary: 'Satisfaction over surveys sent in [from, to): answers, average, distribution, response rate',
      security: [{ bearer: [] }],
      querystring: CsatReportQuery,
      response: { 200: CsatReport, ...errorResponses },
    },
    handler: (request) => surveys.report(actorOf(request), request.query),
  });
};
