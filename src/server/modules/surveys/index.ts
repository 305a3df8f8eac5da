import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { EventSubscriptions } from '../../platform/events/outbox-relay.js';
import type { JobQueue } from '../../platform/jobs/jobs.port.js';
import type { EmailModule } from '../email/index.js';
import type { TicketsModule } from '../tickets/index.js';
import { defineSurveyJobs } from './surveys.jobs.js';
import { surveyPublicRoutes, surveyRoutes } from './surveys.routes.js';
import { SurveysService } from './surveys.service.js';
import { SurveyTokens } from './surveys.tokens.js';

export { SURVEY_WINDOW_DAYS } from './surveys.service.js';
/** Survey tables, for foreign keys only. */
export * as surveyTables from './surveys.table.js';

/** Customer satisfaction (CSAT): a survey mail after resolution, one-click answers, reports. */
export interface SurveysModule {
  surveys: SurveysService;
  /** Signed survey links (the reply-token key with its own purpose). */
  tokens: SurveyTokens;
  /** Defines the module's jobs and event subscriptions (every process role). */
  defineJobs(): void;
  register(app: FastifyInstance): Promise<void>;
}

export function createSurveysModule(
  platform: {
    config: Pick<Config, 'publicUrl' | 'csatDelayMinutes'>;
    database: Database;
    jobs: JobQueue;
    subscriptions: EventSubscriptions;
  },
  tickets: Pick<TicketsModule, 'system' | 'tickets'>,
  email: Pick<EmailModule, 'outbound' | 'tokens'>,
): SurveysModule {
  const tokens = new SurveyTokens(email.tokens);
  const surveys = new SurveysService({
    database: platform.database,
    tokens,
    publicUrl: platform.config.publicUrl,
    email,
    tickets,
  });
  return {
    surveys,
    tokens,
    defineJobs() {
      defineSurveyJobs(platform, surveys, { delayMinutes: platform.config.csatDelayMinutes });
    },
    async register(app) {
      await app.register(surveyPublicRoutes, { surveys });
      await app.register(surveyRoutes, { prefix: '/api/v1', surveys });
    },
  };
}
