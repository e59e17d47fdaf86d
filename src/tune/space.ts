/**
 * The search space of `bench tune`, built from the machine: how many instances, how many cores
 * each, SMT siblings or not, the batch whole or split, threads per CPU or per core, crossed with
 * any config keys listed in `tune.space.params`. Every candidate is a list of ordinary overrides,
 * checked against the planner before anything runs, so a candidate is always a valid bench run.
 */
import { ConfigError } from '../config/errors.js';
import { elementText } from '../config/grammar.js';
import type { RunConfig, TuneConfig } from '../config/schema.js';
import type { ConfigRepository } from '../config/repository.js';
import { getPath, leaves } from '../util/tree.js';
import { makePlan } from '../run/launch.js';
import { PlanError } from '../launcher/plan.js';
import type { Topology } from '../topology/model.js';
import { optionsWithKey } from '../config/suggest.js';

export interface Layout {
  readonly instances: number;
  readonly cores_per_instance: number;
  readonly use_smt: boolean;
  readonly split_batch: boolean;
  /** Intra-op threads per instance: one per CPU it is given, or one per physical core. */
  readonly threads: 'cpus' | 'cores';
  /** What the plan gives each instance: CPUs, threads and batch. */
  readonly cpus_per_instance: number;
  readonly threads_per_instance: number;
  readonly batch_per_instance: number;
}

export interface Candidate {
  /** Position in the space; stable for a given config and machine. */
  readonly id: number;
  readonly label: string;
  readonly layout: Layout;
  readonly params: Readonly<Record<string, unknown>>;
  /** The overrides that make a bench run of this setup. */
  readonly overrides: readonly string[];
}

export interface TuneSpace {
  readonly candidates: readonly Candidate[];
  /** Usable physical cores (after launcher.nodes / sockets / cpu_list). */
  readonly physical_cores: number;
  readonly smt: boolean;
  /** What was left out and why (a params key the config lacks, a split that does not divide the batch). */
  readonly notes: readonly string[];
}

/** Every candidate of `tune.space` on this topology, for the base run config (batch, filters). */
export function tuneSpace(
  tune: TuneConfig,
  base: RunConfig,
  topology: Topology,
  composed: unknown,
  /** Whether a params key missing from this config belongs to another option of its group (another backend's knob). */
  otherOptionKey: (key: string) => boolean = () => false,
): TuneSpace {
  const notes: string[] = [];
  type Shape = { instances: number; cores_per_instance: number | null; use_smt: boolean; split_batch: boolean };
  const planFor = (layout: Shape, numThreads: number | null) =>
    makePlan(
      {
        ...base,
        scenario: { name: 'latency', min_iterations: 1 },
        launcher: {
          ...base.launcher,
          num_instances: layout.instances,
          cores_per_instance: layout.cores_per_instance,
          use_smt: layout.use_smt,
          split_batch: layout.split_batch,
        },
        backend: { ...base.backend, num_threads: numThreads },
      },
      topology,
    );
  const whole = planFor({ instances: 1, cores_per_instance: null, use_smt: false, split_batch: false }, null);
  const cores = whole.instances[0]!.cpus.length;
  const withSmt = planFor({ instances: 1, cores_per_instance: null, use_smt: true, split_batch: false }, null);
  const smt = withSmt.instances[0]!.cpus.length > cores;

  const space = tune.space;
  const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  const instanceCounts = space.instances ?? range(cores);
  const coreCounts = space.cores_per_instance ?? range(cores);
  const smtOptions = space.use_smt ?? (smt ? [false, true] : [false]);
  if (!smt && smtOptions.includes(true))
    notes.push(
      'tune.space.use_smt: the cores of this machine have no SMT siblings; use_smt=true is the same as false and is left out',
    );

  const layouts: Layout[] = [];
  const seen = new Set<string>();
  for (const n of instanceCounts) {
    for (const c of coreCounts) {
      if (n * c > cores) continue;
      if (space.use_all_cores && n * c !== cores) continue;
      const splits = space.split_batch ?? (tune.objective === 'latency' ? [n > 1] : n > 1 ? [false, true] : [false]);
      for (const useSmt of smt ? smtOptions : [false]) {
        for (const split of splits) {
          if (split && n === 1) continue;
          if (split && (base.batch_size < n || (base.batch_size % n !== 0 && !base.launcher.allow_uneven_split))) {
            notes.push(
              `${n} instances cannot split batch_size=${base.batch_size} evenly: left out (launcher.allow_uneven_split=true allows it)`,
            );
            continue;
          }
          for (const threads of space.threads) {
            const numThreads = threads === 'cpus' ? null : c;
            let plan;
            try {
              plan = planFor({ instances: n, cores_per_instance: c, use_smt: useSmt, split_batch: split }, numThreads);
            } catch (err) {
              if (!(err instanceof PlanError)) throw err;
              notes.push(`${n} x ${c} cores: the planner refuses it (${err.message})`);
              continue;
            }
            const first = plan.instances[0]!;
            // threads=cores is threads=cpus without SMT: one candidate, not two.
            const key = `${n}/${c}/${useSmt}/${split}/${first.threads}`;
            if (seen.has(key)) continue;
            seen.add(key);
            layouts.push({
              instances: n,
              cores_per_instance: c,
              use_smt: useSmt,
              split_batch: split,
              threads,
              cpus_per_instance: first.cpus.length,
              threads_per_instance: first.threads,
              batch_per_instance: first.batch_size,
            });
          }
        }
      }
    }
  }
  if (layouts.length === 0) {
    throw new PlanError(
      `tune.space leaves no setup on ${cores} usable core${cores === 1 ? '' : 's'}` +
        (notes.length > 0 ? ` (${notes.join('; ')})` : '') +
        ': widen tune.space.instances / cores_per_instance, or set tune.space.use_all_cores=false',
    );
  }

  const paramAxes: [string, readonly unknown[]][] = [];
  for (const [key, values] of Object.entries(leaves(space.params ?? {}) as Record<string, unknown[]>)) {
    if (!getPath(composed, key).found) {
      if (!otherOptionKey(key)) {
        throw new ConfigError(
          `tune.space.params: ${key} is not a key of this config nor of any option of its group; check its spelling (bench --cfg job lists the keys)`,
        );
      }
      notes.push(`tune.space.params: ${key} is not in this config (backend=${base.backend.name}); left out`);
      continue;
    }
    paramAxes.push([key, [...new Map(values.map((v) => [JSON.stringify(v), v])).values()]]);
  }
  let combos: Record<string, unknown>[] = [{}];
  for (const [key, values] of paramAxes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));

  // Layouts vary fastest: a stretch of time when the machine runs slow then spreads over the
  // layouts instead of penalizing one of them in every run of a rung.
  const candidates: Candidate[] = [];
  for (const params of combos) {
    for (const layout of layouts) {
      candidates.push({
        id: candidates.length,
        label: candidateLabel(layout, params),
        layout,
        params,
        overrides: [
          `launcher.num_instances=${layout.instances}`,
          `launcher.cores_per_instance=${layout.cores_per_instance}`,
          `launcher.use_smt=${layout.use_smt}`,
          `launcher.split_batch=${layout.split_batch}`,
          `backend.num_threads=${layout.threads === 'cpus' ? 'null' : layout.cores_per_instance}`,
          ...Object.entries(params).map(([k, v]) => `${k}=${elementText(v)}`),
        ],
      });
    }
  }
  return { candidates, physical_cores: cores, smt, notes: [...new Set(notes)] };
}

/** `2 x 1 core, batch 4 each, graph_optimization_level=all, execution_mode=sequential` */
export function candidateLabel(layout: Layout, params: Readonly<Record<string, unknown>>): string {
  const l = layout;
  const coreText = `${l.cores_per_instance} core${l.cores_per_instance === 1 ? '' : 's'}`;
  const smtText = l.use_smt
    ? ` (+SMT, ${l.threads_per_instance} threads)`
    : l.threads_per_instance !== l.cpus_per_instance
      ? ` (${l.threads_per_instance} threads)`
      : '';
  const batchText = `batch ${l.batch_per_instance}${l.instances > 1 ? ' each' : ''}`;
  const paramText = Object.entries(params).map(([k, v]) => `${k.split('.').at(-1)}=${elementText(v)}`);
  return [`${l.instances} x ${coreText}${smtText}`, batchText, ...paramText].join(', ');
}

/** Whether `key` (e.g. backend.execution_mode) is a key of some option of its group (backend/onnxruntime). */
export function keyOfSomeOption(repo: ConfigRepository, key: string): boolean {
  return optionsWithKey(repo, key).length > 0;
}
