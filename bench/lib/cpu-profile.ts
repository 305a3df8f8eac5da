import fs from 'node:fs';
import path from 'node:path';
import { printTable } from './report.js';

/**
 * Reading a V8 CPU profile (`node --cpu-prof`) of a server: the samples of a load window,
 * self time by package and function, inclusive time, and the heaviest stacks.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds on the monotonic clock, the one process.hrtime uses in every process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

const STACK_DEPTH = 5;

/** Monotonic microseconds, comparable with the profile's timestamps. */
export const monotonicMicros = () => Number(process.hrtime.bigint() / 1000n);

/**
 * Samples per node taken between two monotonicMicros() readings (the load window), so
 * start-up (module loading, initdb, migrations, seeding) and shutdown do not count.
 */
export function hitsWithin(profile: CpuProfile, from: number, to: number): Map<number, number> {
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
export function summarizeProfile(profile: CpuProfile, hitsOf: Map<number, number>, top = 25): void {
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

/** The one `.cpuprofile` a server wrote into `dir` on exit (`--cpu-prof-dir`). */
export function readProfile(dir: string): CpuProfile {
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (did the server exit cleanly?)`);
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
}
