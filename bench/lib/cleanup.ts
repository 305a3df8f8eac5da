import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Undo steps and the benchmark wrapper that always runs them. */

/**
 * A LIFO list of undo steps. Every step runs even if an earlier one fails; failures are
 * reported, never swallowed.
 */
export class Cleanup {
  private readonly steps: Array<{ label: string; undo: () => unknown }> = [];
  private running: Promise<void> | undefined;

  defer(label: string, undo: () => unknown): void {
    this.steps.push({ label, undo });
  }

  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.undo();
      } catch (error) {
        process.exitCode = 1;
        console.error(`cleanup: ${step.label} failed: ${describeError(error)}`);
      }
    }
  }
}

/**
 * Runs a benchmark with a cleanup list that also runs on Ctrl-C / SIGTERM, then sets the
 * exit code: 1 if the benchmark threw (its message is printed).
 */
export async function runBenchmark(name: string, body: (cleanup: Cleanup) => Promise<void>): Promise<void> {
  const cleanup = new Cleanup();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${name}: ${signal} received, cleaning up`);
    void cleanup.run().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await body(cleanup);
  } catch (error) {
    process.exitCode = 1;
    console.error(`\n${name} FAILED: ${describeError(error)}`);
  } finally {
    await cleanup.run();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** A fresh directory under the OS temp dir, removed on cleanup. */
export function makeTempDir(cleanup: Cleanup, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  cleanup.defer(`remove ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
