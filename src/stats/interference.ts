/**
 * Did something else run on our CPUs while we measured? The kernel's per-CPU busy time
 * (/proc/stat, in USER_HZ ticks) on the instance's CPUs over the timed window, minus the CPU time
 * of our own process (and of the runtime processes it runs, e.g. a Python child, from
 * /proc/PID/stat), is the time other processes took there. A few percent is noise; more means
 * the latencies were measured on a shared machine (the study's "third busy process" case).
 */
import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on every Linux configuration that matters here.

export interface CpuSample {
  readonly busyMs: number;
  readonly ownCpuMs: number;
}

export interface Interference {
  readonly cpus: readonly number[];
  readonly window_ms: number;
  readonly cpus_busy_ms: number;
  readonly own_cpu_ms: number;
  /** Busy time on our CPUs that was not ours, as a share of their capacity over the window. */
  readonly others_share: number;
  /** CPU time of bench's own parent counted as ours (a dispatch run's parent routes requests meanwhile). */
  readonly harness_cpu_ms?: number;
}

/** Busy milliseconds per CPU id from the text of /proc/stat. */
export function busyByCpu(procStat: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of procStat.split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = m[2]!.trim().split(/\s+/).map(Number);
    const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
    void idle;
    void iowait;
    out.set(Number(m[1]), busy * TICK_MS);
  }
  return out;
}

/** User + system CPU time of process `pid` from /proc/PID/stat, in ms; 0 once it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

/** `pids`: processes whose CPU time counts as ours too (a runtime the instance runs in a child). */
export function sampleCpus(cpus: readonly number[], pids: readonly number[] = []): CpuSample | null {
  try {
    const busy = busyByCpu(readFileSync('/proc/stat', 'utf8'));
    const usage = process.cpuUsage();
    const children = pids.reduce((s, pid) => s + processCpuMs(pid), 0);
    return {
      busyMs: cpus.reduce((s, c) => s + (busy.get(c) ?? 0), 0),
      ownCpuMs: (usage.user + usage.system) / 1000 + children,
    };
  } catch {
    return null;
  }
}

export function interference(
  cpus: readonly number[],
  start: CpuSample,
  end: CpuSample,
  windowMs: number,
): Interference {
  const busy = end.busyMs - start.busyMs;
  const own = end.ownCpuMs - start.ownCpuMs;
  const capacity = windowMs * cpus.length;
  return {
    cpus,
    window_ms: windowMs,
    cpus_busy_ms: busy,
    own_cpu_ms: own,
    // Tick granularity makes small differences meaningless; clamp at 0.
    others_share: capacity > 0 ? Math.max(0, busy - own) / capacity : 0,
  };
}

/**
 * The same measurement with bench's own parent's CPU time taken out: a dispatch run's parent routes
 * requests while the instances serve (on whichever CPU the kernel gives it), and that work is the
 * harness's, not another process's. `harnessMs` is the parent's CPU time over the window, or the
 * share of it that falls on these CPUs.
 */
export function withoutHarness(x: Interference, harnessMs: number): Interference {
  const capacity = x.window_ms * x.cpus.length;
  const others = Math.max(0, x.cpus_busy_ms - x.own_cpu_ms - harnessMs);
  return { ...x, harness_cpu_ms: harnessMs, others_share: capacity > 0 ? others / capacity : 0 };
}

/** Above this share of our CPUs' time used by other processes, a measurement is called disturbed. */
export const DISTURBED_SHARE = 0.05;

const DISTURBANCE_PREFIX = 'other processes used';

/**
 * The share of the CPUs' time other processes took for certain: /proc/stat counts in ticks, so its
 * busy time over a window can be off by up to one tick per CPU at each end; that much is given the
 * benefit of the doubt. (On a 0.2 s window of 2 CPUs this is 10 points, on a 5 s one 0.4.)
 */
export function certainOthersShare(x: Interference): number {
  const capacity = x.window_ms * x.cpus.length;
  return capacity > 0 ? Math.max(0, x.others_share - (2 * TICK_MS * x.cpus.length) / capacity) : 0;
}

export function isDisturbed(x: Interference | null | undefined): x is Interference {
  return x !== null && x !== undefined && certainOthersShare(x) > DISTURBED_SHARE;
}

/** The instances of a run that other processes disturbed, with how much they took. */
export function disturbedInstances<T extends { readonly index: number; readonly interference?: Interference | null }>(
  instances: readonly T[],
): (T & { readonly interference: Interference })[] {
  return instances.filter((i): i is T & { readonly interference: Interference } => isDisturbed(i.interference));
}

/** The run's warning for a disturbed instance; `isDisturbanceWarning` recognizes it among others. */
export function disturbanceWarning(index: number, x: Interference): string {
  return (
    `${DISTURBANCE_PREFIX} ${(x.others_share * 100).toFixed(0)}% of CPU${x.cpus.length === 1 ? '' : 's'} ${x.cpus.join(',')} while instance ${index} measured: ` +
    'its numbers are disturbed; measure on a quiet machine (or pin the other load elsewhere)'
  );
}

export const isDisturbanceWarning = (warning: string): boolean => warning.startsWith(DISTURBANCE_PREFIX);
