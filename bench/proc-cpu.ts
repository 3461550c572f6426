// Per-process CPU time from /proc, for the whole-system benchmarks: the API, the worker, Redis and
// PostgreSQL all run on this box, so each one's user + system time is read from the kernel rather
// than asked of the process (which would leave Redis and PostgreSQL out).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's time fields (USER_HZ, 100 on Linux almost everywhere). */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  ppid: number;
  /** utime + stime of the process itself, in ticks. */
  own: number;
  /** cutime + cstime: its children that exited and were reaped, in ticks. */
  reaped: number;
}

/** /proc/<pid>/stat, or null when the process is gone. The command name may hold spaces: parse after its ")". */
function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // After the name: state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17), 1-based as in proc(5).
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), own: field(14) + field(15), reaped: field(16) + field(17) };
}

/** The parent of `pid` (for a PostgreSQL backend: the postmaster). */
export function parentOf(pid: number): number {
  const stat = procStat(pid);
  if (!stat) throw new Error(`no process ${pid} in /proc`);
  return stat.ppid;
}

/**
 * CPU seconds a process has used. With `children`, also every live child's and every reaped
 * child's: PostgreSQL runs one backend per connection under the postmaster, and a backend that
 * ends moves its time into the postmaster's reaped counters, so the sum never goes backwards.
 */
export function cpuSeconds(pid: number, { children = false } = {}): number {
  const stat = procStat(pid);
  if (!stat) return Number.NaN;
  let ticks = stat.own;
  if (children) {
    ticks += stat.reaped;
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const child = procStat(Number(entry));
      if (child?.ppid === pid) ticks += child.own;
    }
  }
  return ticks / TICKS_PER_SECOND;
}

/** The processes of one design, by the name its figures are printed under. */
export type ProcessSet = Record<string, { pid: number; children?: boolean }>;

/** Each process's CPU seconds now. */
export function sampleCpu(processes: ProcessSet): Record<string, number> {
  return Object.fromEntries(
    Object.entries(processes).map(([name, { pid, children }]) => [name, cpuSeconds(pid, { children })]),
  );
}

/** CPU seconds each process used between two samples. */
export function cpuBetween(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([name, seconds]) => [name, seconds - (before[name] ?? 0)]));
}

/** All the CPU seconds of a sample or a difference, every process together. */
export function totalCpu(cpu: Record<string, number>): number {
  return Object.values(cpu).reduce((sum, seconds) => sum + seconds, 0);
}
