/**
 * A sweep: the master config (composed without the sweep values) names the sweep directory and
 * holds `hydra.sweeper.params`; the jobs are expanded from those and the command line, each is
 * recomposed from scratch and run in turn. A failed job is recorded and the sweep goes on; the
 * summary is rewritten (atomically) after every job, so an interrupted sweep keeps what it did.
 */
import { relative } from 'node:path';
import { isHydraOverride } from '../config/compose.js';
import type { Override } from '../config/grammar.js';
import { parseOverride } from '../config/grammar.js';
import { resolveKey } from '../config/interpolate.js';
import { composeJob, resolveContext, type ConfigSource } from '../config/load.js';
import type { ConfigRepository } from '../config/repository.js';
import type { MachineContext } from '../config/grammar.js';
import { expandSweep, needsMachine, sweeperParams, type SweepJob } from '../config/sweep.js';
import type { Tree } from '../config/tree.js';
import { bestSetups, type BestSetup } from '../results/best.js';
import { loadTopologyFile } from '../topology/detect.js';
import { physicalCores } from '../topology/model.js';
import { machineTopology } from './launch.js';
import { toYaml } from '../config/yaml.js';
import { benchVersion } from '../results/environment.js';
import { claimSweepDir } from '../results/rundir.js';
import { writeBestSetups, writeSweepSummary, type SummaryRow } from '../results/write.js';
import { runJob, type JobEvent, type JobOutcome } from './job.js';

export type SweepEvent =
  | { readonly type: 'sweep-start'; readonly dir: string; readonly jobs: readonly SweepJob[] }
  | JobEvent
  | { readonly type: 'sweep-end'; readonly dir: string; readonly outcomes: readonly JobOutcome[]; readonly best: readonly BestSetup[] };

export interface SweepRequest {
  readonly repo: ConfigRepository;
  readonly source: ConfigSource;
  readonly overrides: readonly Override[];
  readonly onEvent?: (e: SweepEvent) => void;
}

export interface SweepOutcome {
  readonly dir: string;
  readonly outcomes: readonly JobOutcome[];
  readonly best: readonly BestSetup[];
}

export async function runSweep(req: SweepRequest): Promise<SweepOutcome> {
  const master = composeJob(req.repo, req.source, req.overrides, { master: true, version: benchVersion() });
  const params = sweeperParams(master.config);
  const machine = needsMachine([...params, ...req.overrides]) ? await machineContext(master.config) : undefined;
  const jobs = expandSweep(req.repo, params, req.overrides, machine);
  const wanted = String(resolveKey(master.config, 'hydra.sweep.dir', resolveContext()));
  const dir = claimSweepDir(wanted, 'multirun.yaml', toYaml(master.config), 'hydra.sweep.dir');
  req.onEvent?.({ type: 'sweep-start', dir, jobs });

  const hydraOverrides = req.overrides.filter((o) => isHydraOverride(o) && o.value?.kind !== 'sweep');
  const rows: SummaryRow[] = [];
  const outcomes: JobOutcome[] = [];
  for (const job of jobs) {
    const outcome = await runJob({
      repo: req.repo,
      source: req.source,
      overrides: [...hydraOverrides, ...job.overrides.map(parseOverride)],
      sweep: { job: { num: job.num, id: `${job.num}` }, dir },
      ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    });
    outcomes.push(outcome);
    rows.push({
      job: job.num,
      status: outcome.status,
      dir: relative(dir, outcome.dir),
      overrides: job.overrides,
      result: outcome.result,
      error: outcome.error?.message ?? null,
    });
    writeSweepSummary(dir, rows);
  }
  const best = bestSetups(outcomes);
  writeBestSetups(dir, best);
  req.onEvent?.({ type: 'sweep-end', dir, outcomes, best });
  return { dir, outcomes, best };
}

/** The physical cores that machine sweeps (core_counts, divisors, split_counts) are computed from. */
async function machineContext(master: Tree): Promise<MachineContext> {
  const ctx = resolveContext();
  const file = resolveKey(master, 'topology.file', ctx);
  const topology = typeof file === 'string' ? await loadTopologyFile(file) : await machineTopology();
  const batch = resolveKey(master, 'batch_size', ctx);
  return { physicalCores: physicalCores(topology).length, batchSize: typeof batch === 'number' ? batch : null };
}
