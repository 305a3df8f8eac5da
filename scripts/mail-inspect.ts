import fs from 'node:fs/promises';
import { inspectEmail } from '../src/server/modules/email/email.inspect.js';

/**
 * `npm run mail:inspect -- FILE.eml...` — prints one JSON line per file describing what the
 * inbound pipeline would decide. Read-only; a file that fails still lets the others run, and
 * the exit code is 1 at the end.
 */
const files = process.argv.slice(2).filter((arg) => arg !== '--');
if (files.length === 0) {
  process.stderr.write('usage: npm run mail:inspect -- FILE.eml...\n');
  process.exit(2);
}

// `| head` closes stdout early; that is the reader being done, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

let failed = false;
for (const file of files) {
  try {
    const raw = await fs.readFile(file);
    const inspection = await inspectEmail(raw, {
      file,
      ...(process.env.MAIL_REPLY_DOMAIN ? { replyDomain: process.env.MAIL_REPLY_DOMAIN } : {}),
    });
    process.stdout.write(`${JSON.stringify(inspection)}\n`);
  } catch (error) {
    failed = true;
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    process.stdout.write(`${JSON.stringify({ file, error: message })}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
