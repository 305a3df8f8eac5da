// Completes package-lock.json with the other platforms' optional binary packages (Biome,
// msgpackr-extract) when the registry an install ran against lacked them: without these
// entries `npm ci` refuses the lock file as out of sync. Each entry carries os/cpu/libc, so
// npm skips it on platforms it does not match. Run after `npm install` changes the lock.
import fs from 'node:fs';

const PLATFORM = /(android|darwin|linux|win32|freebsd)-(arm64|x64|arm|ia32)(?:-(musl|gnu|gnueabihf))?$/;
const lockPath = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const entry of Object.values({ ...packages })) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key]) continue;
    const match = PLATFORM.exec(name);
    if (!match) throw new Error(`${name}: not a platform package; install it from a full registry`);
    const [, os, cpu, libc] = match;
    packages[key] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      os: [os],
      cpu: [cpu],
      ...(os === 'linux' ? { libc: [libc === 'musl' ? 'musl' : 'glibc'] } : {}),
    };
    added += 1;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
process.stdout.write(`package-lock.json: ${added} platform entries added\n`);
