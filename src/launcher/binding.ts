/**
 * How instances are pinned. `auto` prefers numactl (CPUs and memory), probed once with the first
 * instance's own CPUs and nodes (a probe on CPU 0 / node 0 fails in containers whose cpuset
 * excludes them); where numactl is missing or refused it falls back to taskset (CPUs only) with a
 * warning that memory binding is lost; with neither, instances run unpinned, also with a warning.
 */
import { UserError } from '../util/errors.js';
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { formatCpuList } from '../topology/cpulist.js';
import type { Binding, PlanInstance } from './plan.js';

export class LaunchError extends UserError {
  override readonly name = 'LaunchError';
}

export type BindingKind = 'numactl' | 'taskset' | 'none';

export interface ResolvedBinding {
  readonly kind: BindingKind;
  readonly warnings: readonly string[];
}

export function findExecutable(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** The wrapper's part of an instance's command line. */
export function bindingPrefix(kind: BindingKind, instance: Pick<PlanInstance, 'cpus' | 'memory_nodes'>): string[] {
  const cpus = formatCpuList(instance.cpus);
  if (kind === 'numactl') {
    return [
      'numactl',
      '-C',
      cpus,
      ...(instance.memory_nodes.length > 0 ? ['-m', instance.memory_nodes.join(',')] : []),
    ];
  }
  if (kind === 'taskset') return ['taskset', '-c', cpus];
  return [];
}

const run = promisify(execFile);

async function probe(args: readonly string[]): Promise<string | null> {
  try {
    // The probe runs node itself (by absolute path), the program the instances will run.
    await run(args[0]!, [...args.slice(1), process.execPath, '--version'], { timeout: 10_000 });
    return null;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return (e.stderr ?? '').trim().split('\n')[0] || e.message;
  }
}

/**
 * The wrapper that can pin here: numactl, else taskset, else none. `numaNodes` is the machine's
 * NUMA node count: with one node, numactl's memory binding changes nothing, so falling back to
 * taskset is recorded (`binding`) without a warning on every run.
 */
export async function resolveBinding(
  requested: Binding,
  first: PlanInstance,
  numaNodes: number,
): Promise<ResolvedBinding> {
  const warnings: string[] = [];
  if (requested === 'none') {
    // The plan already warns that several unpinned instances compete for CPUs.
    return { kind: 'none', warnings };
  }
  if (requested === 'auto' || requested === 'numactl') {
    const numactl = findExecutable('numactl');
    const refused = numactl ? await probe(bindingPrefix('numactl', first)) : 'not installed';
    if (refused === null) return { kind: 'numactl', warnings };
    if (requested === 'numactl') {
      throw new LaunchError(
        `launcher.binding=numactl: numactl ${refused === 'not installed' ? 'is not installed (apt-get install numactl)' : `refused '${bindingPrefix('numactl', first).join(' ')}': ${refused}`}; ` +
          'or use launcher.binding=auto to fall back to taskset',
      );
    }
    if (numaNodes > 1)
      warnings.push(
        `numactl ${refused === 'not installed' ? 'is not installed' : `refused to bind (${refused})`}: pinning with taskset instead, ` +
          `so memory is no longer bound to the instances' NUMA nodes (${refused === 'not installed' ? 'apt-get install numactl to restore it' : 'numactl needs the right to set a memory policy: in a container, allow set_mempolicy (e.g. --cap-add SYS_NICE) or run with launcher.binding=taskset'})`,
      );
  }
  const taskset = findExecutable('taskset');
  const refused = taskset ? await probe(bindingPrefix('taskset', first)) : 'not installed';
  if (refused === null) return { kind: 'taskset', warnings };
  if (requested === 'taskset') {
    throw new LaunchError(
      `launcher.binding=taskset: taskset ${refused === 'not installed' ? 'is not installed (util-linux)' : `refused: ${refused}`}; or use launcher.binding=auto`,
    );
  }
  warnings.push(
    `taskset ${refused === 'not installed' ? 'is not installed' : `refused (${refused})`} either: instances run unpinned`,
  );
  return { kind: 'none', warnings };
}
