import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hitsWithin, monotonicMicros, readProfile, summarizeProfile } from './lib/cpu-profile.js';
import {
  benchPassword,
  type Cleanup,
  createServicesEnv,
  loadNote,
  login,
  makeTempDir,
  type NodeServer,
  parseSingleRunnerOption,
  ROOT,
  resolveRunner,
  runBenchmark,
  startNodeServer,
  startSwitchboard,
  stopProcess,
  waitUntilReady,
} from './lib.js';

/**
 * Where the server spends CPU under load: starts Switchboard (embedded, or PostgreSQL +
 * Redis with --services; LOG_LEVEL=warn)
 * with `node --cpu-prof`, drives one endpoint with autocannon, stops it with SIGTERM (which
 * writes the profile) and prints self time by package and the heaviest functions.
 *
 *   npx tsx bench/cpu-profile.ts [--target switchboard|bare] [--services] [--path /api/v1/me]
 *     [--duration 10] [--connections 100] [--runner built|tsx] [--top 25] [--keep]
 *
 * `--target bare` profiles bench/hello-fastify.ts (GET /) the same way, for comparison.
 *
 * --keep leaves the .cpuprofile under bench/dist/ (git-ignored) for Chrome DevTools or
 * speedscope; delete it afterwards.
 */

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'switchboard' },
    services: { type: 'boolean', default: false },
    path: { type: 'string', default: '/api/v1/me' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100' },
    runner: { type: 'string', default: 'built' },
    top: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
  },
});
const top = Number(values.top);
if (values.target !== 'switchboard' && values.target !== 'bare')
  throw new Error(`--target must be switchboard or bare (got ${values.target})`);
const runnerName = parseSingleRunnerOption(values.runner);

await runBenchmark('cpu-profile', async (cleanup) => {
  console.log(`cpu-profile: ${loadNote()}`);
  let profileDir: string;
  if (values.keep) {
    fs.mkdirSync(path.join(ROOT, 'bench', 'dist'), { recursive: true });
    profileDir = fs.mkdtempSync(path.join(ROOT, 'bench', 'dist', 'profile-'));
  } else {
    profileDir = makeTempDir(cleanup, 'sb-cpu-profile');
  }
  const profiling = ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  const { server, description, urlPath, headers } =
    values.target === 'bare'
      ? await startBare(cleanup, profiling)
      : await startProfiledSwitchboard(cleanup, profiling);
  const loadStarted = monotonicMicros();
  const result = await autocannon({
    url: `${server.baseUrl}${urlPath}`,
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers,
  });
  const loadEnded = monotonicMicros();
  const shutdown = await stopProcess(server);
  console.log(
    `${description}, GET ${urlPath}: ${Math.round(result.requests.average)} req/s, ` +
      `non-2xx ${result.non2xx}, exit ${shutdown.code ?? shutdown.signal}`,
  );
  if (result.non2xx > 0) throw new Error(`GET ${urlPath} answered non-2xx ${result.non2xx} times`);
  const profile = readProfile(profileDir);
  summarizeProfile(profile, hitsWithin(profile, loadStarted, loadEnded), top);
  if (values.keep) console.log(`\nprofile kept in ${path.relative(ROOT, profileDir)}`);
});

interface ProfiledTarget {
  server: NodeServer;
  description: string;
  urlPath: string;
  headers: Record<string, string>;
}

async function startProfiledSwitchboard(cleanup: Cleanup, profiling: string[]): Promise<ProfiledTarget> {
  const runner = await resolveRunner(runnerName, cleanup);
  const password = benchPassword();
  const storage: Record<string, string> = values.services
    ? { ...(await createServicesEnv(cleanup)), MIGRATE_ON_START: 'true', SEED_DEMO: 'true' }
    : { DATA_DIR: makeTempDir(cleanup, 'sb-cpu-profile-data') };
  const server = await startSwitchboard(
    cleanup,
    { ...runner, nodeArgs: [...profiling, ...runner.nodeArgs] },
    { ...storage, LOG_LEVEL: 'warn', SEED_ADMIN_PASSWORD: password },
  );
  await waitUntilReady(server);
  const token = await login(server.baseUrl, 'admin@acme.example', password);
  return {
    server,
    description: `Switchboard ${values.services ? 'PostgreSQL + Redis' : 'embedded'}, ${runner.description}`,
    urlPath: values.path,
    headers: { authorization: `Bearer ${token}` },
  };
}

async function startBare(cleanup: Cleanup, profiling: string[]): Promise<ProfiledTarget> {
  const server = await startNodeServer(
    cleanup,
    [...profiling, '--import', 'tsx', 'bench/hello-fastify.ts'],
    {},
  );
  await waitUntilReady(server, { urlPath: '/' });
  return { server, description: 'bare Fastify (bench/hello-fastify.ts)', urlPath: '/', headers: {} };
}
