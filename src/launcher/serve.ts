/**
 * The parent side of the dispatch scenario: place the pools on disjoint cores, start each pool's
 * pinned children in serve mode, feed them the workload through the dispatcher, and then do the
 * same with the same workload (same seed, lengths and arrival times) against one homogeneous pool
 * on the same cores, one setup after the other so they never compete.
 *
 * Placement: the usable physical cores (after launcher.nodes / sockets / cpu_list, one CPU per core
 * unless launcher.use_smt) are ordered node by node as the planner orders them, and the pools take
 * consecutive slices in the order they are listed, each pool's instances consecutive slices of its
 * own: so pools never share a core, and a pool that fits in what is left of a node stays in it. A
 * pool with cores_per_instance: null gets the cores the others leave, split evenly among its
 * instances. Pools that need more cores than exist are refused with a PlanError naming
 * scenario.pools.
 *
 * Baseline: scenario.baseline.instances instances (null: as many as all pools together) of equal
 * size, floor(pool cores / instances) cores each, planned by the standard planner over exactly the
 * pools' CPUs; requests go to the instance with the fewest outstanding, whatever their length.
 */
import { join } from 'node:path';
import type { DispatchScenarioConfig, RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InstanceResult } from '../results/types.js';
import {
  buildWorkload,
  checkLengths,
  describeClass,
  Dispatcher,
  DispatchTimeout,
  gain,
  makeRouter,
  previewLengths,
  readLengthFile,
  requestColumns,
  setupStats,
  spreadLengths,
  type DispatchReport,
  type DispatchRun,
  type ServedInstance,
  type SetupReport,
  type Workload,
} from '../scenarios/dispatch.js';
import { disturbanceWarning, disturbedInstances, withoutHarness } from '../stats/interference.js';
import { summarize } from '../stats/summary.js';
import { formatCpuList } from '../topology/cpulist.js';
import type { Topology } from '../topology/model.js';
import { LaunchError, type BindingKind } from './binding.js';
import { planInstances, PlanError, type Plan, type PlanInstance, type PlanOptions } from './plan.js';
import { spawnChild, type Child } from './process.js';
import { asChildMessage, type ServedReport } from './protocol.js';


export interface PoolPlacement {
  readonly name: string;
  readonly max_length: number | null;
  readonly cores_per_instance: number;
  /** Global instance indexes, in pool order. */
  readonly instances: readonly PlanInstance[];
}

export interface DispatchPlan {
  /** In the order the pools are listed in scenario.pools. */
  readonly pools: readonly PoolPlacement[];
  /** The homogeneous pool; null when scenario.baseline.enabled is false. */
  readonly baseline: readonly PlanInstance[] | null;
  readonly baseline_cores_per_instance: number;
  /** The dispatched setup as a plan (every pool's instances), for bench plan and results.json. */
  readonly plan: Plan;
  readonly warnings: readonly string[];
}

export function dispatchScenario(cfg: RunConfig): DispatchScenarioConfig {
  if (cfg.scenario.name !== 'dispatch') throw new Error('not a dispatch run');
  return cfg.scenario;
}

export function planDispatch(topology: Topology, cfg: RunConfig): DispatchPlan {
  const s = dispatchScenario(cfg);
  const l = cfg.launcher;
  if (l.name === 'inline') throw new PlanError('scenario=dispatch runs its pools as pinned child processes: use launcher=process');
  const base: PlanOptions = {
    num_instances: 1,
    cores_per_instance: null,
    use_smt: l.use_smt,
    nodes: l.nodes,
    sockets: l.sockets,
    cpu_list: l.cpu_list,
    binding: l.binding,
    split_batch: false,
    allow_uneven_split: false,
    batch_size: 1,
    num_threads: cfg.backend.num_threads,
  };
  // One CPU per core without SMT: the count of usable physical cores.
  const all = planInstances(topology, { ...base, use_smt: false, num_instances: 1 }).instances[0]!;
  const available = all.cpus.length;
  const fixed = s.pools.reduce((sum, p) => sum + (p.cores_per_instance ?? 0) * (p.instances ?? 0), 0);
  const restPool = s.pools.find((p) => p.cores_per_instance === null);
  // `instances: null` on the pool that takes the rest: one instance per NUMA node of those cores
  // (they come node by node, after the fixed pools'), so no instance spans two nodes on a
  // multi-socket machine and one instance takes them all on a single-node one.
  const restCount =
    restPool?.instances ??
    (restPool
      ? Math.max(1, new Set(planInstances(topology, { ...base, num_instances: available, cores_per_instance: 1 }).instances.slice(fixed).flatMap((c) => c.memory_nodes)).size)
      : 0);
  const counts = s.pools.map((p) => p.instances ?? restCount);
  const restEach = restPool ? Math.floor((available - fixed) / restCount) : 0;
  const sizes = s.pools.map((p) => p.cores_per_instance ?? restEach);
  const needed = s.pools.reduce((sum, _p, i) => sum + sizes[i]! * counts[i]!, 0);
  const layout = s.pools.map((p, i) => `${p.name} ${p.instances ?? 'per-node'} x ${p.cores_per_instance ?? 'rest'}`).join(', ');
  const where = `${available} physical core${available === 1 ? ' is' : 's are'} usable (CPUs ${formatCpuList(all.cpus)})`;
  if (restPool && restEach < 1) {
    throw new PlanError(
      `scenario.pools: ${layout} leaves ${Math.max(0, available - fixed)} core(s) for the ${restCount} instance(s) of ${restPool.name} (cores_per_instance: null), but ${where}; ` +
        'give the other pools fewer cores or instances',
    );
  }
  if (needed > available) {
    throw new PlanError(`scenario.pools: ${layout} need ${needed} physical cores but ${where}; give the pools fewer instances or cores_per_instance`);
  }

  // One plan instance per core, node by node in the planner's order; pools take consecutive slices.
  const cores = planInstances(topology, { ...base, num_instances: needed, cores_per_instance: 1 }).instances;
  const threadsFor = (cpus: readonly number[]): number => cfg.backend.num_threads ?? cpus.length;
  let next = 0;
  let index = 0;
  const warnings: string[] = [];
  const pools: PoolPlacement[] = s.pools.map((p, i) => {
    const size = sizes[i]!;
    const instances = Array.from({ length: counts[i]! }, (): PlanInstance => {
      const slice = cores.slice(next, (next += size));
      const cpus = slice.flatMap((c) => c.cpus).sort((a, b) => a - b);
      const memory_nodes = [...new Set(slice.flatMap((c) => c.memory_nodes))].sort((a, b) => a - b);
      if (memory_nodes.length > 1) warnings.push(`pool ${p.name}: instance ${index} (CPUs ${formatCpuList(cpus)}) spans NUMA nodes ${memory_nodes.join(', ')}, so part of its memory is remote`);
      return { index: index++, cpus, memory_nodes, threads: threadsFor(cpus), batch_size: 1 };
    });
    return { name: p.name, max_length: p.max_length, cores_per_instance: size, instances };
  });
  const used = new Set(pools.flatMap((p) => p.instances.flatMap((i) => i.cpus)));
  const leftover = planInstances(topology, { ...base, num_instances: 1 })
    .instances[0]!.cpus.filter((c) => !used.has(c))
    .sort((a, b) => a - b);
  if (leftover.length > 0) warnings.push(`scenario.pools use ${needed} of the ${available} usable physical cores; ${leftover.length === 1 ? 'CPU' : 'CPUs'} ${formatCpuList(leftover)} ${leftover.length === 1 ? 'stays' : 'stay'} idle`);
  if (l.num_instances !== 1 || l.cores_per_instance !== null || l.split_batch) {
    warnings.push('launcher.num_instances, cores_per_instance and split_batch do not apply to scenario=dispatch: scenario.pools sets the instances');
  }
  if (l.binding === 'none') warnings.push('launcher.binding=none: the pools are not pinned and will compete for CPUs');

  let baseline: PlanInstance[] | null = null;
  let baselineCores = 0;
  if (s.baseline.enabled) {
    const count = s.baseline.instances ?? pools.reduce((sum, p) => sum + p.instances.length, 0);
    if (count > needed) {
      throw new PlanError(`scenario.baseline.instances=${count} needs at least one core each, but the pools have ${needed} cores; use scenario.baseline.instances<=${needed}`);
    }
    const b = planInstances(topology, {
      ...base,
      nodes: null,
      sockets: null,
      cpu_list: formatCpuList([...used]),
      num_instances: count,
      cores_per_instance: Math.floor(needed / count),
    });
    baseline = b.instances;
    baselineCores = Math.floor(needed / count);
    // The planner's own advice names launcher keys, which do not size the baseline: say it in scenario terms.
    const spanning = b.instances.filter((inst) => inst.memory_nodes.length > 1).map((inst) => inst.index);
    if (spanning.length > 0) {
      const nodes = new Set(b.instances.flatMap((inst) => inst.memory_nodes)).size;
      warnings.push(
        `baseline: instance${spanning.length === 1 ? '' : 's'} ${spanning.join(', ')} of ${count} span${spanning.length === 1 ? 's' : ''} NUMA nodes, so part of their memory is remote; ` +
          `a multiple of ${nodes} for scenario.baseline.instances keeps each in one node`,
      );
    }
  }
  const instances = pools.flatMap((p) => p.instances);
  const dispatch = {
    pools: pools.map((p) => ({ name: p.name, max_length: p.max_length, instances: p.instances.map((i) => i.index) })),
    baseline: baseline?.map((i) => ({ cpus: [...i.cpus], memory_nodes: [...i.memory_nodes], threads: i.threads })) ?? null,
  };
  return { pools, baseline, baseline_cores_per_instance: baselineCores, plan: { binding: l.binding, instances: [...instances], leftover_cpus: leftover, warnings, dispatch }, warnings };
}

/** The lengths a run may draw, for the checks made before anything starts. */
function possibleLengths(s: DispatchScenarioConfig, fileLengths: readonly number[] | null): { lengths: number[]; source: string } {
  switch (s.lengths.distribution) {
    case 'mix':
      return { lengths: s.lengths.mix.filter(([, w]) => w > 0).map(([len]) => len), source: 'scenario.lengths.mix' };
    case 'lognormal':
      return { lengths: [s.lengths.lognormal.max], source: 'scenario.lengths.lognormal.max' };
    case 'file':
      return { lengths: [...(fileLengths ?? [])], source: `scenario.lengths.file=${s.lengths.file}` };
  }
}

function maxPositions(cfg: RunConfig): number {
  const m = cfg.model;
  return m.model_type === 'roberta' ? m.max_position_embeddings - m.pad_token_id - 1 : m.max_position_embeddings;
}

/** Reads the lengths file (if any) and refuses lengths no pool takes; no directory exists yet. */
export function checkDispatchWorkload(cfg: RunConfig): readonly number[] | null {
  const s = dispatchScenario(cfg);
  const fileLengths = s.lengths.distribution === 'file' && s.lengths.file !== null ? readLengthFile(s.lengths.file) : null;
  const { lengths, source } = possibleLengths(s, fileLengths);
  checkLengths(lengths, makeRouter(s.pools), maxPositions(cfg), source);
  return fileLengths;
}

export interface DispatchLaunch {
  readonly instances: readonly InstanceResult[];
  readonly backend: Record<string, unknown> | null;
  readonly pids: readonly number[];
  readonly report: DispatchReport;
}

export interface DispatchRequest {
  readonly config: RunConfig;
  readonly topology: Topology;
  readonly binding: BindingKind;
  readonly env: Readonly<Record<string, string>>;
  readonly model: ResolvedModel | null;
  readonly outputDir: string;
  readonly signal?: AbortSignal;
  readonly onSpawn?: (pids: readonly number[]) => void;
}

/** Runs the dispatched setup, then the baseline, and writes dispatch.csv into the run directory. */
export async function runDispatch(req: DispatchRequest): Promise<DispatchLaunch> {
  const cfg = req.config;
  const s = dispatchScenario(cfg);
  const placement = planDispatch(req.topology, cfg);
  const fileLengths = checkDispatchWorkload(cfg);
  const router = makeRouter(s.pools);
  const workload = buildWorkload(s, cfg.benchmark_duration, cfg.seed, fileLengths);
  const preview = previewLengths(workload);
  const poolOfClass = router.classes.map((c) => s.pools.findIndex((p) => p.name === c.name));
  const routeToPool = (length: number): number => poolOfClass[router.classOf(length)]!;
  const classOfPool = s.pools.map((p) => router.classes.find((c) => c.name === p.name)!);

  const dispatchedInstances = placement.pools.flatMap((p) => p.instances);
  const poolOfInstance = placement.pools.flatMap((p, i) => p.instances.map(() => i));
  const warmupsByPool = s.pools.map((_, p) => {
    const mine = preview.filter((len) => routeToPool(len) === p);
    return mine.length > 0 ? spreadLengths(mine, s.warmup_lengths) : [classOfPool[p]!.min_length];
  });
  const pids: number[] = [];
  const onSpawn = (more: readonly number[]): void => {
    pids.push(...more);
    req.onSpawn?.([...pids]);
  };
  const dispatched = await runSetup(req, dispatchedInstances, {
    poolOfInstance,
    route: routeToPool,
    warmups: poolOfInstance.map((p) => warmupsByPool[p]!),
    workload,
    onSpawn,
  });
  const dispatchedStats = setupStats(
    dispatched.run,
    workload,
    router,
    s.pools.map((p) => p.name),
    placement.pools.map((p) => p.instances.length),
    'dispatched',
  );

  let baselineStats: ReturnType<typeof setupStats> | null = null;
  let baselineRun: SetupRun | null = null;
  if (placement.baseline) {
    // The same stream of lengths: a fresh copy from the same seed, so nothing carries over.
    const again = buildWorkload(s, cfg.benchmark_duration, cfg.seed, fileLengths);
    const warm = spreadLengths(preview, s.warmup_lengths);
    baselineRun = await runSetup(req, placement.baseline, {
      poolOfInstance: placement.baseline.map(() => 0),
      route: () => 0,
      warmups: placement.baseline.map(() => warm),
      workload: again,
      onSpawn,
    });
    baselineStats = setupStats(baselineRun.run, again, router, ['homogeneous'], [placement.baseline.length], 'homogeneous');
  }

  const poolNames = s.pools.map((p) => p.name);
  const dispatchedReport: SetupReport = {
    setup: 'dispatched',
    description: placement.pools
      .map((p, i) => `${p.name} ${describeClass(classOfPool[i]!)}: ${p.instances.length} x ${p.cores_per_instance} core${p.cores_per_instance === 1 ? '' : 's'}`)
      .join('; '),
    ...dispatchedStats,
    instances: servedInstances(dispatchedInstances, dispatched, poolOfInstance.map((p) => poolNames[p]!), dispatchedStats.window_s),
    requests: requestColumns(dispatched.run.records),
  };
  const baselineReport: SetupReport | null =
    placement.baseline && baselineRun && baselineStats
      ? {
          setup: 'homogeneous',
          description: `${placement.baseline.length} x ${placement.baseline_cores_per_instance} core${placement.baseline_cores_per_instance === 1 ? '' : 's'}, length-blind`,
          ...baselineStats,
          instances: servedInstances(placement.baseline, baselineRun, placement.baseline.map(() => 'homogeneous'), baselineStats.window_s),
          requests: requestColumns(baselineRun.run.records),
        }
      : null;
  const shares = new Map<string, number>();
  for (const len of preview) {
    const name = router.classes[router.classOf(len)]!.name;
    shares.set(name, (shares.get(name) ?? 0) + 1);
  }
  const report: DispatchReport = {
    workload: {
      mode: workload.mode,
      requests: dispatched.run.records.length,
      offered_rate_per_s: workload.mode === 'open' ? workload.ratePerS : null,
      clients: workload.mode === 'closed' ? workload.clients : null,
      arrival_window_s: workload.mode === 'open' ? workload.windowMs / 1000 : workload.requests === null ? workload.durationMs / 1000 : null,
      seed: cfg.seed,
      lengths: lengthsFacts(s, preview),
      classes: Object.fromEntries(router.classes.map((c) => [c.name, { range: describeClass(c), share: (shares.get(c.name) ?? 0) / Math.max(1, preview.length) }])),
    },
    pools: placement.pools.map((p, i) => ({
      name: p.name,
      range: describeClass(classOfPool[i]!),
      max_length: p.max_length,
      instances: p.instances.length,
      cores_per_instance: p.cores_per_instance,
      cpus: p.instances.map((inst) => inst.cpus),
    })),
    dispatched: dispatchedReport,
    baseline: baselineReport,
    gain:
      baselineStats && baselineRun
        ? gain(dispatchedStats, baselineStats, { dispatched: dispatched.run.records, baseline: baselineRun.run.records, router, seed: cfg.seed })
        : null,
    warnings: [
      ...dispatchedStats.warnings,
      ...(baselineStats?.warnings ?? []),
      // The dispatched setup's instances are the run's: job.ts warns about them as for any run.
      ...disturbedInstances(baselineReport?.instances ?? []).map((i) => `homogeneous setup: ${disturbanceWarning(i.index, i.interference)}`),
    ],
  };
  return {
    instances: instanceResults(dispatchedInstances, dispatched, dispatchedStats.window_s),
    backend: dispatched.reports[0]?.backend ?? null,
    pids,
    report,
  };
}

function lengthsFacts(s: DispatchScenarioConfig, preview: readonly number[]): Record<string, unknown> {
  const l = s.lengths;
  const detail = l.distribution === 'mix' ? { mix: l.mix } : l.distribution === 'lognormal' ? { lognormal: l.lognormal } : { file: l.file };
  const summary = summarize(preview);
  return { distribution: l.distribution, ...detail, mean_tokens: summary.mean_ms, p50_tokens: summary.p50_ms, max_tokens: summary.max_ms };
}

interface SetupRun {
  readonly run: DispatchRun;
  readonly reports: readonly ServedReport[];
  /** performance.timeOrigin + performance.now() at the start of the run, to place windows on the wall clock. */
  readonly startEpochMs: number;
}

interface SetupSpec {
  readonly poolOfInstance: readonly number[];
  readonly route: (length: number) => number;
  readonly warmups: readonly (readonly number[])[];
  readonly workload: Workload;
  readonly onSpawn: (pids: readonly number[]) => void;
}

/** Starts one setup's children, runs the workload through them, stops them; throws LaunchError on failure. */
async function runSetup(req: DispatchRequest, instances: readonly PlanInstance[], spec: SetupSpec): Promise<SetupRun> {
  const cfg = req.config;
  const children = instances.map((inst) => spawnChild(req.binding, inst, req.env));
  spec.onSpawn(children.map((c) => c.proc.pid ?? -1));
  const failure = (c: Child, what: string, timeout = ''): LaunchError => {
    const f = c.failure(what, timeout);
    return new LaunchError(`instance ${f.index}: ${f.message}${f.stderr_tail ? `\n--- its stderr (tail) ---\n${f.stderr_tail}` : ''}`);
  };
  const onAbort = (): void => {
    for (const c of children) if (!c.exited) c.proc.kill('SIGTERM');
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  try {
    instances.forEach((inst, i) =>
      children[i]!.send({
        type: 'serve',
        config: cfg,
        instance: { index: inst.index, threads: inst.threads },
        model: req.model,
        outputDir: req.outputDir,
        warmup_lengths: spec.warmups[i] ?? [],
      }),
    );
    const startTimeoutS = cfg.launcher.start_timeout_s;
    const readyBy = Date.now() + startTimeoutS * 1000;
    const ready = await Promise.all(children.map((c) => c.next('ready', readyBy)));
    const notReady = ready.findIndex((m) => m?.type !== 'ready');
    if (notReady >= 0) throw failure(children[notReady]!, 'before it was ready', `launcher.start_timeout_s=${startTimeoutS}`);

    const dispatcher = new Dispatcher(spec.workload, { poolOfInstance: spec.poolOfInstance, route: spec.route }, {
      submit: (instance, id, length) => children[instance]!.send({ type: 'request', id, length }),
    });
    children.forEach((c) => {
      c.proc.on('message', (raw: unknown) => {
        const m = asChildMessage(raw);
        if (m?.type === 'done') dispatcher.complete(m.id, m.service_ms);
        else if (m?.type === 'error' || m === null) dispatcher.fail(failure(c, 'while serving'));
      });
      c.proc.on('exit', () => dispatcher.fail(req.signal?.aborted ? new Error('interrupted') : failure(c, 'while serving')));
      c.onGarbage(() => dispatcher.fail(failure(c, 'while serving')));
    });
    const runTimeoutS = cfg.launcher.run_timeout_s ?? defaultRunTimeoutS(spec.workload, cfg.benchmark_duration);
    const startEpochMs = performance.timeOrigin + performance.now();
    const parentBefore = process.cpuUsage();
    let run: DispatchRun;
    try {
      run = await dispatcher.run(runTimeoutS * 1000);
    } catch (err) {
      if (err instanceof DispatchTimeout) {
        throw new LaunchError(
          `the pools did not finish the workload within launcher.run_timeout_s=${runTimeoutS}: ${err.message}; ` +
            'lower scenario.arrival.rate_per_s (the queue grows when requests arrive faster than the pools serve them) or raise launcher.run_timeout_s',
        );
      }
      throw err;
    }
    const parentUsage = process.cpuUsage(parentBefore);
    for (const c of children) c.send({ type: 'stop' });
    const stopBy = Date.now() + 30_000;
    const served = await Promise.all(children.map((c) => c.next('served', stopBy)));
    // The parent dispatched meanwhile, on the instances' CPUs (it is unpinned): its CPU time is
    // bench's own, shared out over the instances by their CPU counts, not another process's.
    const parentMs = (parentUsage.user + parentUsage.system) / 1000;
    const cpusOf = (i: number): number => instances[i]!.cpus.length;
    const totalCpus = instances.reduce((sum, _, i) => sum + cpusOf(i), 0);
    const reports = served.map((m, i) => {
      if (m?.type !== 'served') throw failure(children[i]!, 'while reporting');
      const x = m.report.interference;
      return x ? { ...m.report, interference: withoutHarness(x, (parentMs * cpusOf(i)) / Math.max(totalCpus, 1)) } : m.report;
    });
    return { run, reports, startEpochMs };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    await Promise.all(children.map((c) => c.stop()));
  }
}

/**
 * launcher.run_timeout_s when null: as for a latency run, 3 x the expected length + 120 s, the
 * expected length being the arrival window (open loop, which scenario.requests may make longer than
 * benchmark_duration) or benchmark_duration (closed loop); a closed loop of a fixed request count
 * has no expected length, so it gets an hour.
 */
function defaultRunTimeoutS(w: Workload, durationS: number): number {
  if (w.mode === 'open') return (w.windowMs / 1000) * 3 + 120;
  return w.requests === null ? durationS * 3 + 120 : 3600;
}

function servedInstances(instances: readonly PlanInstance[], setup: SetupRun, poolNames: readonly string[], windowS: number): ServedInstance[] {
  return instances.map((inst, i) => {
    const mine = setup.run.records.filter((r) => r.instance === i);
    const rep = setup.reports[i];
    return {
      index: inst.index,
      pool: poolNames[i] ?? '',
      planned_cpus: inst.cpus,
      cpus: rep?.cpus ?? null,
      memory_nodes: inst.memory_nodes,
      threads: inst.threads,
      requests: mine.length,
      busy_fraction: mine.reduce((sum, r) => sum + r.service_ms, 0) / 1000 / windowS,
      load_session_ms: rep?.load_session_ms ?? NaN,
      first_inference_ms: rep?.first_inference_ms ?? NaN,
      warmup_calls: rep?.warmup_calls ?? 0,
      peak_rss_mb: rep?.peak_rss_mb ?? NaN,
      interference: rep?.interference ?? null,
    };
  });
}

/**
 * The standard instance rows for the dispatched setup: each instance's calls are the requests it
 * served and its "latency" their service time (session.run), as in a latency run; request latency
 * and queueing are in the `dispatch` section.
 */
function instanceResults(instances: readonly PlanInstance[], setup: SetupRun, windowS: number): InstanceResult[] {
  const first = Math.min(...setup.run.records.map((r) => r.arrival_ms));
  return instances.map((inst, i) => {
    const mine = setup.run.records.filter((r) => r.instance === i).sort((a, b) => a.start_ms - b.start_ms);
    const service = mine.map((r) => r.service_ms);
    const rep = setup.reports[i];
    return {
      index: inst.index,
      status: 'ok',
      cpus: rep?.cpus ?? null,
      threads: inst.threads,
      batch_size: 1,
      load_prepare_ms: rep?.load_prepare_ms ?? 0,
      load_session_ms: rep?.load_session_ms ?? 0,
      first_inference_ms: rep?.first_inference_ms ?? NaN,
      warmup_runs: rep?.warmup_calls ?? 0,
      iterations: mine.length,
      window_start_epoch_ms: setup.startEpochMs + (Number.isFinite(first) ? first : 0),
      window_ms: windowS * 1000,
      latency: summarize(service),
      throughput_samples_per_s: mine.length / windowS,
      forwards_per_s: mine.length / windowS,
      peak_rss_mb: rep?.peak_rss_mb ?? 0,
      latencies_ms: service,
      interference: rep?.interference ?? null,
    };
  });
}
