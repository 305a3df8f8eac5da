import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import {
  benchPassword,
  loadNote,
  login,
  makeTempDir,
  parseRunnerOption,
  printTable,
  ROOT,
  resolveRunners,
  runBenchmark,
  startSwitchboard,
  stopProcess,
  waitUntilReady,
} from './lib.js';

/**
 * Where the server spends CPU under load: starts Switchboard (embedded, LOG_LEVEL=warn)
 * with `node --cpu-prof`, drives one endpoint with autocannon, stops it with SIGTERM (which
 * writes the profile) and prints self time by package and the heaviest functions.
 *
 *   npx tsx bench/cpu-profile.ts [--path /api/v1/me] [--duration 10] [--connections 100]
 *     [--runner built|tsx] [--top 25] [--keep]
 *
 * --keep leaves the .cpuprofile under bench/dist/ (git-ignored) for Chrome DevTools or
 * speedscope; delete it afterwards.
 */

const { values } = parseArgs({
  options: {
    path: { type: 'string', default: '/api/v1/me' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '100' },
    runner: { type: 'string', default: 'built' },
    top: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
  },
});
const top = Number(values.top);
const [runnerName] = parseRunnerOption(values.runner);
if (!runnerName) throw new Error('--runner must be built or tsx');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
}

await runBenchmark('cpu-profile', async (cleanup) => {
  console.log(`cpu-profile: ${loadNote()}`);
  const [runner] = await resolveRunners([runnerName], cleanup);
  if (!runner) throw new Error('no runner resolved');
  const profileDir = values.keep
    ? fs.mkdtempSync(path.join(ROOT, 'bench', 'dist', 'profile-'))
    : makeTempDir(cleanup, 'sb-cpu-profile');
  const password = benchPassword();
  const server = await startSwitchboard(
    cleanup,
    { ...runner, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, ...runner.nodeArgs] },
    {
      DATA_DIR: makeTempDir(cleanup, 'sb-cpu-profile-data'),
      LOG_LEVEL: 'warn',
      SEED_ADMIN_PASSWORD: password,
    },
  );
  await waitUntilReady(server);
  const token = await login(server.baseUrl, 'admin@acme.example', password);
  const result = await autocannon({
    url: `${server.baseUrl}${values.path}`,
    connections: Number(values.connections),
    duration: Number(values.duration),
    headers: { authorization: `Bearer ${token}` },
  });
  const shutdown = await stopProcess(server);
  console.log(
    `${runner.description}, GET ${values.path}: ${Math.round(result.requests.average)} req/s, ` +
      `non-2xx ${result.non2xx}, exit ${shutdown.code ?? shutdown.signal}`,
  );
  if (result.non2xx > 0) throw new Error(`GET ${values.path} answered non-2xx ${result.non2xx} times`);
  const file = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${profileDir} (did the server exit cleanly?)`);
  summarize(JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile);
  if (values.keep) console.log(`\nprofile kept: ${path.relative(ROOT, path.join(profileDir, file))}`);
});

/** Self time by package, then the top functions by self and by inclusive time. */
function summarize(profile: CpuProfile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  // Start-up (module loading, migrations) is in the profile too; it is small next to a
  // 10 s load run but not zero, so the figures are "whole process lifetime".
  const busy = profile.nodes.filter((node) => node.callFrame.functionName !== '(idle)');
  const totalHits = busy.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const share = (hits: number) => `${((hits / totalHits) * 100).toFixed(1)}%`;

  const byPackage = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusiveByFunction = new Map<string, number>();
  for (const node of busy) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    byPackage.set(packageOf(node), (byPackage.get(packageOf(node)) ?? 0) + hits);
    selfByFunction.set(labelOf(node), (selfByFunction.get(labelOf(node)) ?? 0) + hits);
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

  console.log(`\nSelf CPU time by package (${totalHits} samples, idle excluded):`);
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
