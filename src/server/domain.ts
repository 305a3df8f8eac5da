import { createTicketsModule, type TicketsModule } from './modules/tickets/index.js';
import type { Platform } from './platform/platform.js';

/**
 * The feature modules with their wiring (which module reacts to which), built once per
 * process and shared by the HTTP app and the job handlers, so both run the same hooks and
 * caches.
 */
export interface Domain {
  tickets: TicketsModule;
}

export function createDomain(platform: Platform): Domain {
  const tickets = createTicketsModule(platform);
  return { tickets };
}
