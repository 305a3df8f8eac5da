import dotenv from 'dotenv';
import { loadConfig } from '../src/server/config.js';
import { describeSeed, seedDemo } from '../src/server/modules/identity/index.js';
import { Database } from '../src/server/platform/db/database.js';
import { applyMigrations } from '../src/server/platform/db/migrations.js';

/** `npm run seed:demo`: migrations, then the demo organisation, on whichever database is configured. */
dotenv.config({ quiet: true });
const config = loadConfig();
const database = await Database.open({
  url: config.databaseUrl,
  dataDir: `${config.dataDir}/pglite`,
  poolSize: 2,
});
try {
  await applyMigrations(database);
  const result = await seedDemo(database, {
    adminEmail: config.seedAdminEmail,
    adminPassword: config.seedAdminPassword,
  });
  process.stdout.write(describeSeed(result, config.publicUrl, Boolean(config.seedAdminPassword)));
} finally {
  await database.close();
}
