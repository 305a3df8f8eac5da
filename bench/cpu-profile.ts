import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  benchPassword,
  type Cleanup,
  createServicesEnv,
  loadNote,
  login,
  makeTempDir,
  type NodeServer,
  parseSingleRunnerOption,
  printTable,
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

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock, the one process.hrtime uses in every process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const STACK_DEPTH = 5;

/** Monotonic microseconds, comparable with the profile's timestamps. */
const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

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
  const file = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${profileDir} (did the server exit cleanly?)`);
  const profile = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile;
  summarize(profile, hitsWithin(profile, loadStarted, loadEnded));
  if (values.keep) console.log(`\nprofile kept: ${path.relative(ROOT, path.join(profileDir, file))}`);
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

/**
 * Samples per node taken while autocannon ran, so start-up (module loading, initdb,
 * migrations, seeding) and shutdown do not count.
 */
function hitsWithin(profile: CpuProfile, from: number, to: number): Map<number, number> {
  const hits = new Map<number, number>();
  let time = profile.startTime;
  profile.samples.forEach((nodeId, index) => {
    time += profile.timeDeltas[index] ?? 0;
    if (time >= from && time <= to) hits.set(nodeId, (hits.get(nodeId) ?? 0) + 1);
  });
  if (hits.size === 0) throw new Error('no profile samples fall inside the load window');
  return hits;
}

/** Self time by package, then the top functions by self and by inclusive time. */
function summarize(profile: CpuProfile, hitsOf: Map<number, number>): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const busy = profile.nodes.filter((node) => node.callFrame.functionName !== '(idle)');
  const idleHits = profile.nodes
    .filter((node) => node.callFrame.functionName === '(idle)')
    .reduce((sum, node) => sum + (hitsOf.get(node.id) ?? 0), 0);
  const totalHits = busy.reduce((sum, node) => sum + (hitsOf.get(node.id) ?? 0), 0);
  const share = (hits: number) => `${((hits / totalHits) * 100).toFixed(1)}%`;

  const byPackage = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  const selfByStack = new Map<string, number>();
  for (const node of busy) {
    const hits = hitsOf.get(node.id) ?? 0;
    if (hits === 0) continue;
    byPackage.set(packageOf(node), (byPackage.get(packageOf(node)) ?? 0) + hits);
    selfByFunction.set(labelOf(node), (selfByFunction.get(labelOf(node)) ?? 0) + hits);
    const stack = callersOf(node.id, byId, parentOf, STACK_DEPTH).join(' ← ');
    selfByStack.set(stack, (selfByStack.get(stack) ?? 0) + hits);
    // Walk to the root once per node, counting each function once per stack (recursion).
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parentOf.get(id)) {
      const ancestor = byId.get(id);
      if (!ancestor || ancestor.callFrame.functionName === '(root)') continue;
      const label = labelOf(ancestor);
      if (seen.has(label)) continue;
      seen.add(label);
      inclusiveByFunction.set(label, (inclusiveByFunction.get(label) ?? 0) + hits);
    }
  }
  const ranked = (map: Map<string, number>, count: number) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, count);

  console.log(
    `\nSelf CPU time of the main thread during the load, by package (${totalHits} busy samples; ` +
      `the thread was idle in ${((idleHits / (idleHits + totalHits)) * 100).toFixed(1)}% of samples):`,
  );
  printTable(
    ['package', 'self'],
    ranked(byPackage, top).map(([name, hits]) => [name, share(hits)]),
  );
  console.log('\nTop functions by self time:');
  printTable(
    ['function', 'self'],
    ranked(selfByFunction, top).map(([name, hits]) => [name, share(hits)]),
  );
  console.log('\nTop functions by inclusive time (callees included):');
  printTable(
    ['function', 'inclusive'],
    ranked(inclusiveByFunction, top).map(([name, hits]) => [name, share(hits)]),
  );
  console.log(`\nHeaviest self-time stacks (function ← its callers, ${STACK_DEPTH} frames):`);
  printTable(
    ['stack', 'self'],
    ranked(selfByStack, 10).map(([stack, hits]) => [stack, share(hits)]),
  );
}

/** The function at `id` and up to `depth - 1` callers, short labels. */
function callersOf(
  id: number,
  byId: Map<number, ProfileNode>,
  parentOf: Map<number, number>,
  depth: number,
): string[] {
  const labels: string[] = [];
  for (let current: number | undefined = id; current !== undefined && labels.length < depth; ) {
    const node = byId.get(current);
    if (!node || node.callFrame.functionName === '(root)') break;
    labels.push(labelOf(node).replace(/ \S*\/([^/]+:\d+)$/, ' $1'));
    current = parentOf.get(current);
  }
  return labels;
}

function packageOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return '(node internals)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match?.[1]) return match[1];
  return url.includes('/src/') || url.includes('/bench/dist/') || url.includes('/dist/')
    ? 'switchboard'
    : url;
}

function labelOf(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url
    ? `${url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|dist)\//, '')}:${lineNumber + 1}`
    : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}
