/**
 * The dispatch scenario's parent side, one repetition: start the dispatched setup's workers (its
 * pools, placement.ts), feed them the workload through the dispatcher, stop them; then do the same
 * with the same workload (same seed, lengths and arrival times) against the homogeneous pool on the
 * same cores, one setup after the other so they never compete; and report both, per class.
 */
import type { DispatchScenarioConfig, RunConfig } from '../../config/schema.js';
import { LaunchError } from '../../launcher/binding.js';
import type { Endpoint } from '../../launcher/endpoint.js';
import type { PlanInstance } from '../../launcher/plan.js';
import { isRecord } from '../../launcher/protocol.js';
import { disturbanceWarning, disturbedInstances, withoutHarness, type Interference } from '../../stats/interference.js';
import { summarize } from '../../stats/summary.js';
import type { InstanceResult, ScenarioContext, ScenarioOutcome } from '../types.js';
import { Dispatcher, DispatchTimeout, type DispatchRun } from './dispatcher.js';
import { checkDispatchWorkload, datasetLengths, dispatchConfig, planDispatch } from './placement.js';
import { requestColumns, type DispatchReport, type ServedInstance, type SetupReport } from './report.js';
import { describeClass, makeRouter } from './router.js';
import { gain, setupStats } from './stats.js';
import { buildWorkload, previewLengths, spreadLengths, type Workload } from './workload.js';

/** What a serving worker says about itself when it stops. */
export interface ServedReport {
  readonly index: number;
  /** The CPUs it ran on, as the kernel reported its affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  readonly threads: number;
  readonly load_prepare_ms: number;
  readonly load_session_ms: number;
  readonly first_inference_ms: number;
  readonly warmup_calls: number;
  readonly peak_rss_mb: number;
  readonly backend: Record<string, unknown>;
  /** The allocator the worker's process had mapped (launcher.malloc; launcher/malloc.ts). */
  readonly allocator?: string;
  /** Other processes' CPU time on its CPUs from its first request to `stop`; null where /proc is not readable. */
  readonly interference: Interference | null;
}

/** Runs the dispatched setup, then the baseline. */
export async function runDispatch(req: ScenarioContext): Promise<ScenarioOutcome> {
  const cfg = req.config;
  const s = dispatchConfig(cfg);
  const placement = planDispatch(req.topology, cfg);
  const fileLengths = checkDispatchWorkload(cfg, req.inputs ? datasetLengths(cfg, req.inputs) : null);
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
    baselineStats = setupStats(
      baselineRun.run,
      again,
      router,
      ['homogeneous'],
      [placement.baseline.length],
      'homogeneous',
    );
  }

  const poolNames = s.pools.map((p) => p.name);
  const dispatchedReport: SetupReport = {
    setup: 'dispatched',
    description: placement.pools
      .map(
        (p, i) =>
          `${p.name} ${describeClass(classOfPool[i]!)}: ${p.instances.length} x ${p.cores_per_instance} core${p.cores_per_instance === 1 ? '' : 's'}`,
      )
      .join('; '),
    ...dispatchedStats,
    instances: servedInstances(
      dispatchedInstances,
      dispatched,
      poolOfInstance.map((p) => poolNames[p]!),
      dispatchedStats.window_s,
    ),
    requests: requestColumns(dispatched.run.records),
  };
  const baselineReport: SetupReport | null =
    placement.baseline && baselineRun && baselineStats
      ? {
          setup: 'homogeneous',
          description: `${placement.baseline.length} x ${placement.baseline_cores_per_instance} core${placement.baseline_cores_per_instance === 1 ? '' : 's'}, length-blind`,
          ...baselineStats,
          instances: servedInstances(
            placement.baseline,
            baselineRun,
            placement.baseline.map(() => 'homogeneous'),
            baselineStats.window_s,
          ),
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
      arrival_window_s:
        workload.mode === 'open'
          ? workload.windowMs / 1000
          : workload.requests === null
            ? workload.durationMs / 1000
            : null,
      seed: cfg.seed,
      lengths: lengthsFacts(s, preview, cfg),
      classes: Object.fromEntries(
        router.classes.map((c) => [
          c.name,
          { range: describeClass(c), share: (shares.get(c.name) ?? 0) / Math.max(1, preview.length) },
        ]),
      ),
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
        ? gain(dispatchedStats, baselineStats, {
            dispatched: dispatched.run.records,
            baseline: baselineRun.run.records,
            router,
            seed: cfg.seed,
          })
        : null,
    warnings: [
      ...dispatchedStats.warnings,
      ...(baselineStats?.warnings ?? []),
      ...idlePools(dispatchedStats.per_class, placement.pools),
      // The dispatched setup's instances are the run's: job.ts warns about them as for any run.
      ...disturbedInstances(baselineReport?.instances ?? []).map(
        (i) => `homogeneous setup: ${disturbanceWarning(i.index, i.interference)}`,
      ),
    ],
  };
  return {
    instances: instanceResults(dispatchedInstances, dispatched, dispatchedStats.window_s),
    failures: [],
    backend: dispatched.reports[0]?.backend ?? null,
    pids,
    dispatch: report,
  };
}

function lengthsFacts(s: DispatchScenarioConfig, preview: readonly number[], cfg: RunConfig): Record<string, unknown> {
  const l = s.lengths;
  const detail =
    l.distribution === 'mix'
      ? { mix: l.mix }
      : l.distribution === 'lognormal'
        ? { lognormal: l.lognormal }
        : l.distribution === 'dataset'
          ? { dataset: cfg.inputs?.text ?? null }
          : { file: l.file };
  const summary = summarize(preview);
  return {
    distribution: l.distribution,
    ...detail,
    mean_tokens: summary.mean_ms,
    p50_tokens: summary.p50_ms,
    max_tokens: summary.max_ms,
  };
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

/** Starts one setup's workers, runs the workload through them, stops them; throws LaunchError on failure. */
async function runSetup(ctx: ScenarioContext, instances: readonly PlanInstance[], spec: SetupSpec): Promise<SetupRun> {
  const cfg = ctx.config;
  const workers: Endpoint[] = instances.map((inst, i) =>
    ctx.start(inst, instances.length, { warmup_lengths: spec.warmups[i] ?? [] }),
  );
  spec.onSpawn(workers.map((w) => w.pid));
  const failure = (w: Endpoint, what: string, timeout = ''): LaunchError => {
    const f = w.failure(what, timeout);
    return new LaunchError(
      `instance ${f.index}: ${f.message}${f.stderr_tail ? `\n--- its stderr (tail) ---\n${f.stderr_tail}` : ''}`,
    );
  };
  const onAbort = (): void => {
    for (const w of workers) w.interrupt();
  };
  ctx.signal?.addEventListener('abort', onAbort, { once: true });
  if (ctx.signal?.aborted) onAbort();
  try {
    const startTimeoutS = cfg.launcher.start_timeout_s;
    const readyBy = Date.now() + startTimeoutS * 1000;
    const ready = await Promise.all(workers.map((w) => w.next('ready', readyBy)));
    const notReady = ready.findIndex((m) => m?.type !== 'ready');
    if (notReady >= 0)
      throw failure(workers[notReady]!, 'before it was ready', `launcher.start_timeout_s=${startTimeoutS}`);

    const dispatcher = new Dispatcher(
      spec.workload,
      { poolOfInstance: spec.poolOfInstance, route: spec.route },
      {
        submit: (instance, id, length) => workers[instance]!.send({ type: 'request', id, length }),
      },
    );
    workers.forEach((w) => {
      w.onMessage((m) => {
        if (m.type === 'done') dispatcher.complete(m.id as number, m.service_ms as number);
        else if (m.type === 'error') dispatcher.fail(failure(w, 'while serving'));
      });
      w.onExit(() => dispatcher.fail(ctx.signal?.aborted ? new Error('interrupted') : failure(w, 'while serving')));
      w.onGarbage(() => dispatcher.fail(failure(w, 'while serving')));
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
    for (const w of workers) w.send({ type: 'stop' });
    const stopBy = Date.now() + 30_000;
    const served = await Promise.all(workers.map((w) => w.next('served', stopBy)));
    // The parent dispatched meanwhile, on the instances' CPUs (it is unpinned): its CPU time is
    // bench's own, shared out over the instances by their CPU counts, not another process's.
    // (Inline, the workers' own CPU time already is the bench process's.)
    const parentMs = ctx.inline ? 0 : (parentUsage.user + parentUsage.system) / 1000;
    const cpusOf = (i: number): number => instances[i]!.cpus.length;
    const totalCpus = instances.reduce((sum, _, i) => sum + cpusOf(i), 0);
    const reports = served.map((m, i) => {
      if (m?.type !== 'served') throw failure(workers[i]!, 'while reporting');
      const report = m.report as ServedReport;
      const x = report.interference;
      return x
        ? { ...report, interference: withoutHarness(x, (parentMs * cpusOf(i)) / Math.max(totalCpus, 1)) }
        : report;
    });
    return { run, reports, startEpochMs };
  } finally {
    ctx.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.stop()));
  }
}

/**
 * A pool no request went to sat idle: the comparison is then the busy pools' cores against the
 * homogeneous pool's (all of them), and says little about dispatching.
 */
function idlePools(
  perClass: Readonly<Record<string, { readonly requests: number }>>,
  pools: readonly { readonly name: string; readonly instances: readonly unknown[] }[],
): string[] {
  const idle = pools.filter((p) => (perClass[p.name]?.requests ?? 0) === 0);
  if (idle.length === 0) return [];
  const names = idle.map((p) => p.name).join(', ');
  return [
    `pool${idle.length === 1 ? '' : 's'} ${names} got no request (no length of the workload falls in ${idle.length === 1 ? 'its class' : 'their classes'}): ${idle.reduce((s, p) => s + p.instances.length, 0)} dispatched instance(s) sat idle while the homogeneous pool used every core; set scenario.pools' max_length to the workload's lengths`,
  ];
}

/** Messages a serving worker may send: a request done, and its report when stopped. */
export function acceptsDispatch(x: Readonly<Record<string, unknown>>): boolean {
  if (x.type === 'done') return typeof x.id === 'number' && typeof x.service_ms === 'number';
  if (x.type === 'served')
    return isRecord(x.report) && typeof x.report.index === 'number' && isRecord(x.report.backend);
  return false;
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

function servedInstances(
  instances: readonly PlanInstance[],
  setup: SetupRun,
  poolNames: readonly string[],
  windowS: number,
): ServedInstance[] {
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
      ...(rep?.allocator ? { allocator: rep.allocator } : {}),
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
      ...(rep?.allocator ? { allocator: rep.allocator } : {}),
      latencies_ms: service,
      interference: rep?.interference ?? null,
    };
  });
}
