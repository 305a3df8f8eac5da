import fs from 'node:fs';
import os from 'node:os';

/** Readings from /proc and the machine description printed with every result. */

export interface Memory {
  rssMb: number;
  peakRssMb: number;
}

/** VmRSS and VmHWM of one process from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]);
  };
  return { rssMb: kilobytes('VmRSS') / 1024, peakRssMb: kilobytes('VmHWM') / 1024 };
}

/** The command line of a process, to prove which process was measured. */
export function commandLine(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
}

/** Every descendant of `pid` (children, grandchildren…), from /proc/<pid>/stat parent ids. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readProcFile(`/proc/${entry}/stat`);
    // Field 4 is the parent pid; the command (field 2) may hold spaces, so split after ')'.
    const fields = stat?.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields?.[1]) parentOf.set(Number(entry), Number(fields[1]));
  }
  const found: number[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop()!;
    for (const [child, childParent] of parentOf) {
      if (childParent === parent) {
        found.push(child);
        frontier.push(child);
      }
    }
  }
  return found;
}

/** user+system CPU seconds of one process (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readProcFile(`/proc/${pid}/stat`);
  if (!stat) throw new Error(`pid ${pid} has no /proc entry`);
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after the ')' split.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/**
 * user+system CPU seconds of the living processes whose command line contains `text`, e.g.
 * the PostgreSQL backends of one database (their process titles name it). A backend that
 * has exited took its CPU time along, so read this while the connections are open.
 */
export function cpuSecondsMatching(text: string): number {
  let total = 0;
  for (const seconds of cpuSecondsByProcess(text).values()) total += seconds;
  return total;
}

/** CPU seconds (user + system) of each process whose command line contains `text`, by pid. */
export function cpuSecondsByProcess(text: string): Map<number, number> {
  const byPid = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    if (!readProcFile(`/proc/${entry}/cmdline`)?.includes(text)) continue;
    const stat = readProcFile(`/proc/${entry}/stat`);
    if (stat) {
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(Number(entry), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
    }
  }
  return byPid;
}

/**
 * CPU seconds the processes matching `text` used since `before` (a cpuSecondsByProcess
 * reading): a process started since counts whole; one that exited meanwhile (a pool closing
 * an idle connection) took its time along and counts nothing, so the sum never goes negative.
 */
export function cpuSecondsSince(text: string, before: ReadonlyMap<number, number>): number {
  let total = 0;
  for (const [pid, seconds] of cpuSecondsByProcess(text)) total += seconds - (before.get(pid) ?? 0);
  return total;
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux that Node supports.
const CLOCK_TICKS_PER_SECOND = 100;

/** A /proc file, or undefined when the process vanished between listing and reading. */
function readProcFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'ENOENT' ||
      (error as NodeJS.ErrnoException).code === 'ESRCH'
    )
      return undefined;
    throw error;
  }
}

/** nproc, CPU model, total memory and node version, for the report header. */
export function machineSummary(): string {
  const cpus = os.cpus();
  const memoryGb = os.totalmem() / 1024 ** 3;
  return `${os.availableParallelism()} CPU (${cpus[0]?.model ?? 'unknown'}), ${memoryGb.toFixed(1)} GB RAM, node ${process.version}`;
}

/**
 * The 1- and 5-minute load averages, flagged when other work competes for the CPUs: the
 * benchmarks share the machine with whatever else runs, and say so next to their figures.
 */
export function loadNote(): string {
  const [one = 0, five = 0] = os.loadavg();
  const busy =
    one > 0.5
      ? ' (above 0.5: other work ran recently, maybe an earlier benchmark; figures may be noisier)'
      : '';
  return `load average ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min)${busy}`;
}
