import fs from 'node:fs';
import path from 'node:path';

/**
 * Architecture lint: dependencies point inward.
 * - a module imports another module only through its `index.ts`;
 * - `platform/` never imports a feature module (it has no domain words).
 * Exits 1 listing every offending import.
 */
const ROOT = path.resolve(import.meta.dirname, '..');
const SERVER = path.join(ROOT, 'src/server');
const MODULES = path.join(SERVER, 'modules');
const PLATFORM = path.join(SERVER, 'platform');

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

const moduleOf = (file: string): string | undefined =>
  file.startsWith(MODULES + path.sep) ? path.relative(MODULES, file).split(path.sep)[0] : undefined;

const IMPORT = /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;
const problems: string[] = [];

for (const file of sourceFiles(SERVER)) {
  const text = fs.readFileSync(file, 'utf8');
  for (const match of text.matchAll(IMPORT)) {
    const specifier = match[1] ?? match[2]!;
    const target = path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts');
    const from = moduleOf(file);
    const to = moduleOf(target);
    const where = `${path.relative(ROOT, file)}: '${specifier}'`;
    if (file.startsWith(PLATFORM + path.sep) && to)
      problems.push(`${where} — platform must not import feature modules`);
    if (to && from !== to && path.basename(target) !== 'index.ts') {
      problems.push(`${where} — import modules/${to} through its index.ts`);
    }
  }
}

if (problems.length > 0) {
  process.stderr.write(`Module boundary violations:\n${problems.map((line) => `  ${line}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('module boundaries: ok\n');
