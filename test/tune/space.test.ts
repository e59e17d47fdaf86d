/**
 * The search space of bench tune, from recorded machines: the study's (2 x 24 cores, SMT) and a
 * 2-core one like this VM. Counted by hand from the rules: every usable core used, SMT on/off,
 * threads per CPU or per core (distinct only with SMT), split only where it divides the batch.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverride } from '../../src/config/grammar.js';
import { composeJob, openRepository, PACKAGE_CONFIG_DIR, resolveTask } from '../../src/config/load.js';
import { PlanError } from '../../src/launcher/plan.js';
import { loadTopologyFile } from '../../src/topology/detect.js';
import { parseLscpu } from '../../src/topology/lscpu.js';
import type { Topology } from '../../src/topology/model.js';
import { keyOfSomeOption, tuneSpace, type TuneSpace } from '../../src/tune/space.js';

const STUDY = join(import.meta.dirname, '..', 'fixtures', 'topology', 'study-c5-metal-2s-48c.lscpu-p.txt');
const TWO_CORES = parseLscpu('# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n', 'two-core');

function space(topology: Topology, overrides: readonly string[]): TuneSpace {
  const src = { configDir: PACKAGE_CONFIG_DIR, extraDirs: [], configName: 'config' };
  const repo = openRepository(src);
  const comp = composeJob(repo, src, overrides.map(parseOverride), { version: 'test' });
  const { resolved, runConfig } = resolveTask(comp.config);
  return tuneSpace(runConfig.tune!, runConfig, topology, resolved, (key) => keyOfSomeOption(repo, key));
}

const layouts = (s: TuneSpace): string[] => [
  ...new Set(
    s.candidates.map(
      (c) =>
        `${c.layout.instances}x${c.layout.cores_per_instance}${c.layout.use_smt ? '+smt' : ''}${c.layout.split_batch ? ' split' : ''} t${c.layout.threads_per_instance}`,
    ),
  ),
];

describe('tune.space on a 2-core machine without SMT', () => {
  it('latency: one instance on both cores, or the batch split over two; x 2 graph levels x 2 execution modes', () => {
    const s = space(TWO_CORES, ['batch_size=8']);
    expect(s.physical_cores).toBe(2);
    expect(s.smt).toBe(false);
    expect(layouts(s)).toEqual(['1x2 t2', '2x1 split t1']);
    expect(s.candidates).toHaveLength(8);
    // Layouts vary fastest, params slowest.
    expect(s.candidates.slice(0, 2).map((c) => c.layout.instances)).toEqual([1, 2]);
    expect(s.candidates[2]!.overrides).toEqual([
      'launcher.num_instances=1',
      'launcher.cores_per_instance=2',
      'launcher.use_smt=false',
      'launcher.split_batch=false',
      'backend.num_threads=null',
      'backend.graph_optimization_level=all',
      'backend.execution_mode=parallel',
    ]);
    expect(s.candidates[2]!.label).toBe('1 x 2 cores, batch 8, graph_optimization_level=all, execution_mode=parallel');
  });

  it('throughput: whole batches per instance too; batch 1 cannot be split, and says so', () => {
    expect(layouts(space(TWO_CORES, ['batch_size=8', 'tune.objective=throughput']))).toEqual([
      '1x2 t2',
      '2x1 t1',
      '2x1 split t1',
    ]);
    const one = space(TWO_CORES, ['batch_size=1', 'tune.objective=throughput']);
    expect(layouts(one)).toEqual(['1x2 t2', '2x1 t1']);
    expect(one.notes.join(' ')).toContain('2 instances cannot split batch_size=1 evenly');
  });

  it('use_all_cores=false adds the setups that leave a core idle', () => {
    expect(
      layouts(space(TWO_CORES, ['batch_size=8', 'tune.space.use_all_cores=false', 'tune.space.params=null'])),
    ).toEqual(['1x1 t1', '1x2 t2', '2x1 split t1']);
  });

  it('skips params keys the backend does not have, with a note', () => {
    const s = space(TWO_CORES, ['backend=mock', 'batch_size=8']);
    expect(s.candidates).toHaveLength(2);
    expect(s.notes).toContain(
      'tune.space.params: backend.execution_mode is not in this config (backend=mock); left out',
    );
  });

  it('a params key that no option of its group has is an error, not a silent skip', () => {
    expect(() => space(TWO_CORES, ['+tune.space.params.backend.nope=[1,2]'])).toThrow(
      /tune.space.params: backend.nope is not a key/,
    );
  });

  it('an empty space is an error that names the keys to widen', () => {
    expect(() => space(TWO_CORES, ['tune.space.instances=[3]'])).toThrow(PlanError);
    expect(() => space(TWO_CORES, ['tune.space.instances=[3]'])).toThrow(/tune.space.instances/);
  });
});

describe("tune.space on the study's machine (2 x 24 cores, SMT)", () => {
  it('every divisor pair of 48 cores, with and without SMT siblings, threads per CPU or per core', async () => {
    const s = space(await loadTopologyFile(STUDY), ['batch_size=48', 'tune.space.params=null']);
    expect(s.physical_cores).toBe(48);
    expect(s.smt).toBe(true);
    // 10 (n, c) pairs with n x c = 48; without SMT 1 thread option, with SMT 2 (96 or 48 threads in all).
    expect(s.candidates).toHaveLength(10 * 3);
    const two = s.candidates.filter((c) => c.layout.instances === 2);
    expect(s.candidates.slice(0, 3).map((c) => c.layout.instances)).toEqual([1, 1, 1]);
    expect(two.map((c) => [c.layout.use_smt, c.layout.cpus_per_instance, c.layout.threads_per_instance])).toEqual([
      [false, 24, 24],
      [true, 48, 48],
      [true, 48, 24],
    ]);
    expect(two.every((c) => c.layout.batch_per_instance === 24 && c.layout.split_batch)).toBe(true);
  });

  it('respects launcher.sockets: one socket is 24 cores', async () => {
    const s = space(await loadTopologyFile(STUDY), [
      'batch_size=24',
      'launcher.sockets=[1]',
      'tune.space.params=null',
      'tune.space.use_smt=[false]',
    ]);
    expect(s.physical_cores).toBe(24);
    expect(s.candidates.map((c) => c.layout.instances)).toEqual([1, 2, 3, 4, 6, 8, 12, 24]);
  });
});
