import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { TopologyError } from './errors.js';
import { formatCpuList, parseCpuList } from './cpulist.js';
import { parseLscpu } from './lscpu.js';
import { parseSysfs } from './sysfs.js';
import type { ReadSysfsFile } from './sysfs.js';
import { restrictTo } from './model.js';
import type { Topology } from './model.js';

/**
 * The impure edge of the topology layer: runs lscpu, reads sysfs and /proc. Everything it reads
 * goes through the pure parsers, and the effects are injectable so tests run without a machine.
 */
export interface DetectEffects {
  /** Runs a program without a shell and resolves to its stdout; rejects on failure. */
  runCommand(file: string, args: readonly string[]): Promise<string>;
  /** Synchronous small-file read (sysfs, /proc); undefined when missing or unreadable. */
  readSmallFile: ReadSysfsFile;
}

/**
 * Per-CPU columns, with `--all` so offline CPUs show up as such. CACHE and MAXMHZ are extra to
 * the minimal set: L1d ids separate hybrid cores that share a logical core id (see build.ts).
 */
const LSCPU_PARSABLE_ARGS = ['-p=CPU,CORE,SOCKET,NODE,CACHE,ONLINE,MAXMHZ', '--all'];

export const nodeEffects: DetectEffects = {
  async runCommand(file, args) {
    const { stdout } = await promisify(execFile)(file, [...args], {
      // C locale: lscpu translates the summary's field names otherwise.
      env: { ...process.env, LC_ALL: 'C' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  },
  readSmallFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
};

/**
 * The machine's topology restricted to the CPUs this process may use. Tries `lscpu -p` (exact
 * per-CPU ids), then `lscpu -J` (a summary: siblings are derived), then sysfs directly.
 */
export async function detectTopology(effects: DetectEffects = nodeEffects): Promise<Topology> {
  const failures: string[] = [];
  const parsableSource = `lscpu ${LSCPU_PARSABLE_ARGS.join(' ')}`;
  const attempts: { source: string; load: () => Promise<Topology> }[] = [
    {
      source: parsableSource,
      load: async () => parseLscpu(await effects.runCommand('lscpu', LSCPU_PARSABLE_ARGS), parsableSource),
    },
    { source: 'lscpu -J', load: async () => parseLscpu(await effects.runCommand('lscpu', ['-J']), 'lscpu -J') },
    { source: 'sysfs', load: async () => parseSysfs(effects.readSmallFile, '/sys/devices/system') },
  ];
  for (const attempt of attempts) {
    try {
      const topology = await attempt.load();
      return restrictToAffinity(withFallbackNote(topology, failures), effects.readSmallFile);
    } catch (error) {
      failures.push(`${attempt.source}: ${(error as Error).message}`);
    }
  }
  throw new TopologyError(
    `cannot detect the CPU topology (${failures.join('; ')}); install util-linux (lscpu) or set ` +
      'topology.file to a recorded `lscpu -p` output of this machine',
  );
}

function withFallbackNote(topology: Topology, failures: readonly string[]): Topology {
  if (failures.length === 0) return topology;
  return { ...topology, warnings: [`fell back to ${topology.source} (${failures.join('; ')})`, ...topology.warnings] };
}

/** Applies `Cpus_allowed_list` of /proc/self/status (taskset, cgroup cpuset, container limits). */
export function restrictToAffinity(topology: Topology, readSmallFile: ReadSysfsFile): Topology {
  const status = readSmallFile('/proc/self/status');
  const allowed = status === undefined ? null : parseCpusAllowedList(status);
  if (allowed === null) return topology;
  const restricted = restrictTo(topology, allowed);
  if (restricted.cpus.length === topology.cpus.length) return restricted;
  return {
    ...restricted,
    warnings: [
      ...restricted.warnings,
      `process affinity allows CPUs ${formatCpuList(allowed)} only; ` +
        `${topology.cpus.length - restricted.cpus.length} of ${topology.cpus.length} CPUs left out`,
    ],
  };
}

/** The `Cpus_allowed_list:` value of a /proc/<pid>/status text, or null when absent. */
export function parseCpusAllowedList(statusText: string): number[] | null {
  const line = statusText.split('\n').find((candidate) => candidate.startsWith('Cpus_allowed_list:'));
  if (line === undefined) return null;
  try {
    return parseCpuList(line.slice('Cpus_allowed_list:'.length));
  } catch (error) {
    throw new TopologyError(`/proc/self/status Cpus_allowed_list: ${(error as Error).message}`);
  }
}

/** A recorded topology (any lscpu form, auto-detected), not restricted to this process's CPUs. */
export async function loadTopologyFile(path: string): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TopologyError(
      `topology.file: cannot read '${path}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'give the path of a saved `lscpu`, `lscpu -p`, `lscpu -e` or `lscpu -J` output',
    );
  }
  return parseLscpu(text, path);
}

/** The CPUs this process may run on, as the kernel reports them (null off Linux). */
export function currentAffinity(): number[] | null {
  try {
    return parseCpusAllowedList(readFileSync('/proc/self/status', 'utf8'));
  } catch {
    return null;
  }
}
