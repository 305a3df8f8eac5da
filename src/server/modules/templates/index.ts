import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../platform/db/database.js';
import type { TicketsModule } from '../tickets/index.js';
import { templateRoutes } from './templates.routes.js';
import { CannedResponsesService, MacrosService, type TemplatesContext } from './templates.service.js';

/** The restricted mustache of canned responses, for other templated text (mail). */
export { assertValidTemplate, renderVariables, templateProblems } from './render.js';

/** The templates module: canned responses and macros. */
export interface TemplatesModule {
  cannedResponses: CannedResponsesService;
  macros: MacrosService;
  register(app: FastifyInstance): Promise<void>;
}

export function createTemplatesModule(
  platform: { config: Pick<Config, 'publicUrl'>; database: Database },
  tickets: Pick<TicketsModule, 'actions'>,
): TemplatesModule {
  const context: TemplatesContext = {
    database: platform.database,
    publicUrl: platform.config.publicUrl,
    actions: tickets.actions,
  };
  const cannedResponses = new CannedResponsesService(context);
  const macros = new MacrosService(context);
  return {
    cannedResponses,
    macros,
    async register(app) {
      await app.register(templateRoutes, { prefix: '/api/v1', cannedResponses, macros });
    },
  };
}
