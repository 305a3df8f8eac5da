import dotenv from 'dotenv';
import { loadConfig } from '../src/server/config.js';
import { createDomain } from '../src/server/domain.js';
import { describeSeed, seedDemo } from '../src/server/modules/identity/index.js';
import { seedDemoSla } from '../src/server/modules/sla/index.js';
import { seedDemoTickets } from '../src/server/modules/tickets/index.js';
import { applyMigrations } from '../src/server/platform/db/migrations.js';
import { createLogger } from '../src/server/platform/logger.js';
import { createPlatform } from '../src/server/platform/platform.js';

/**
 * `npm run seed:demo`: migrations, then the demo organisation and its sample tickets, on
 * whichever database is configured.
 */
dotenv.config({ quiet: true });
const config = loadConfig();
const platform = await createPlatform(config, createLogger('warn'));
try {
  await applyMigrations(platform.database);
  const result = await seedDemo(platform.database, {
    adminEmail: config.seedAdminEmail,
    adminPassword: config.seedAdminPassword,
  });
  if (result.demo) {
    const domain = createDomain(platform);
    await seedDemoSla(domain.sla.admin, result.demo);
    await seedDemoTickets(domain.tickets, result.demo);
  }
  process.stdout.write(describeSeed(result, config.publicUrl, Boolean(config.seedAdminPassword)));
} finally {
  await platform.close();
}
