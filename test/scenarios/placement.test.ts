/**
 * Pool placement for the dispatch scenario, on the study's machine (AWS c5.metal, 2 x 24 cores,
 * SMT; node0 = CPUs 0-23,48-71, node1 = 24-47,72-95) and on small made-up ones: pools on disjoint
 * cores, node by node, the baseline over the same cores, and the errors.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOverride } from '../../src/config/grammar.js';
import { composeJob, openRepository, PACKAGE_CONFIG_DIR, resolveTask } from '../../src/config/load.js';
import type { RunConfig } from '../../src/config/schema.js';
import { PlanError } from '../../src/launcher/plan.js';
import { planDispatch, type DispatchPlan } from '../../src/scenarios/dispatch/index.js';
import { loadTopologyFile } from '../../src/topology/detect.js';
import { formatCpuList } from '../../src/topology/cpulist.js';

const STUDY = join(import.meta.dirname, '..', 'fixtures', 'topology', 'study-c5-metal-2s-48c.lscpu-p.txt');
/** The study's layout: small (<= 32 tokens, 8 cores), medium (<= 384, 16 cores), large (the rest: the other socket). */
const STUDY_POOLS =
  'scenario.pools=[{name:small,max_length:32,instances:1,cores_per_instance:8},' +
  '{name:medium,max_length:384,instances:1,cores_per_instance:16},' +
  '{name:large,max_length:null,instances:1,cores_per_instance:null}]';

function runConfig(overrides: readonly string[]): RunConfig {
  const src = { configDir: PACKAGE_CONFIG_DIR, extraDirs: [], configName: 'config' };
  const comp = composeJob(openRepository(src), src, ['+experiment=smart-dispatch', ...overrides].map(parseOverride), {
    version: 'test',
  });
  return resolveTask(comp.config).runConfig;
}

async function plan(overrides: readonly string[]): Promise<DispatchPlan> {
  return planDispatch(await loadTopologyFile(STUDY), runConfig(overrides));
}

const layout = (p: DispatchPlan): [string, string[], number[][]][] =>
  p.pools.map((pool) => [
    pool.name,
    pool.instances.map((i) => formatCpuList(i.cpus)),
    pool.instances.map((i) => i.memory_nodes),
  ]);

function expectDisjoint(p: DispatchPlan): void {
  const cpus = p.pools.flatMap((pool) => pool.instances.flatMap((i) => i.cpus));
  expect(new Set(cpus).size).toBe(cpus.length);
}

describe('pool placement on the study machine', () => {
  it("gives the study's layout: small 0-7 and medium 8-23 on socket 0, large the whole of socket 1", async () => {
    const p = await plan([STUDY_POOLS, 'scenario.baseline.instances=2']);
    expect(layout(p)).toEqual([
      ['small', ['0-7'], [[0]]],
      ['medium', ['8-23'], [[0]]],
      ['large', ['24-47'], [[1]]],
    ]);
    expect(p.pools.map((pool) => pool.instances.map((i) => [i.index, i.threads]))).toEqual([
      [[0, 8]],
      [[1, 16]],
      [[2, 24]],
    ]);
    expect(p.plan.instances.map((i) => i.index)).toEqual([0, 1, 2]);
    expect(p.plan.leftover_cpus).toEqual([]);
    // The baseline: the same 48 cores as two equal instances, one per socket.
    expect(p.baseline!.map((i) => [formatCpuList(i.cpus), i.memory_nodes])).toEqual([
      ['0-23', [0]],
      ['24-47', [1]],
    ]);
    expect(p.warnings).toEqual([]);
  });

  it('defaults the baseline to as many equal instances as the pools have, and says when one spans nodes', async () => {
    const p = await plan([STUDY_POOLS]);
    expect(p.baseline!.map((i) => formatCpuList(i.cpus))).toEqual(['0-15', '24-39', '16-23,40-47']);
    expect(p.baseline_cores_per_instance).toBe(16);
    expect(p.warnings.join('\n')).toMatch(
      /baseline: instance 2 of 3 spans NUMA nodes.*a multiple of 2 for scenario\.baseline\.instances/,
    );
  });

  it('pins SMT siblings with their core when launcher.use_smt=true', async () => {
    const p = await plan([STUDY_POOLS, 'launcher.use_smt=true', 'scenario.baseline.instances=2']);
    expect(layout(p).map(([, cpus]) => cpus)).toEqual([['0-7,48-55'], ['8-23,56-71'], ['24-47,72-95']]);
    expect(p.pools[0]!.instances[0]!.threads).toBe(16);
    expect(p.baseline!.map((i) => formatCpuList(i.cpus))).toEqual(['0-23,48-71', '24-47,72-95']);
    expectDisjoint(p);
  });

  it('splits a pool into instances of consecutive cores and shares the rest evenly', async () => {
    const p = await plan([
      'scenario.pools=[{name:small,max_length:32,instances:4,cores_per_instance:2},{name:large,max_length:null,instances:2,cores_per_instance:null}]',
    ]);
    expect(layout(p)).toEqual([
      ['small', ['0-1', '2-3', '4-5', '6-7'], [[0], [0], [0], [0]]],
      // 40 cores left: 20 each; the first crosses into node 1.
      ['large', ['8-27', '28-47'], [[0, 1], [1]]],
    ]);
    expect(p.warnings.join('\n')).toContain('pool large: instance 4 (CPUs 8-27) spans NUMA nodes 0, 1');
    expectDisjoint(p);
  });

  it('the preset as it comes: the large pool gets one instance per NUMA node of the cores left', async () => {
    const p = await plan([]);
    expect(layout(p)).toEqual([
      ['small', ['0'], [[0]]],
      // 47 cores left over two nodes: 23 each, one per node, none spanning (CPU 47 idle).
      ['large', ['1-23', '24-46'], [[0], [1]]],
    ]);
    expect(p.warnings.join('\n')).not.toContain('pool large');
    expect(p.plan.groups!.map((g) => [g.name, g.label, g.instances])).toEqual([
      ['small', '<= 32', [0]],
      ['large', 'longer', [1, 2]],
    ]);
    expectDisjoint(p);
  });

  it('instances: null goes only with cores_per_instance: null', () => {
    expect(() =>
      runConfig([
        'scenario.pools=[{name:small,max_length:32,instances:null,cores_per_instance:2},{name:large,max_length:null,instances:1,cores_per_instance:null}]',
      ]),
    ).toThrow('scenario.pools.0.instances: null (one instance per NUMA node) only goes with cores_per_instance: null');
  });

  it('reports cores the pools leave idle', async () => {
    const p = await plan([
      'scenario.pools=[{name:small,max_length:32,instances:1,cores_per_instance:4},{name:large,max_length:null,instances:1,cores_per_instance:8}]',
    ]);
    expect(p.plan.leftover_cpus).toEqual(Array.from({ length: 36 }, (_, i) => 12 + i));
    expect(p.warnings.join('\n')).toContain(
      'scenario.pools use 12 of the 48 usable physical cores; CPUs 12-47 stay idle',
    );
  });

  it('honours launcher.sockets: the pools share socket 1 only', async () => {
    const p = await plan([
      'launcher.sockets=[1]',
      'scenario.pools=[{name:small,max_length:32,instances:2,cores_per_instance:4},{name:large,max_length:null,instances:1,cores_per_instance:null}]',
    ]);
    expect(layout(p).map(([, cpus]) => cpus)).toEqual([['24-27', '28-31'], ['32-47']]);
  });

  it('refuses pools that need more cores than exist, naming scenario.pools', async () => {
    await expect(
      plan([
        'scenario.pools=[{name:small,max_length:32,instances:2,cores_per_instance:20},{name:large,max_length:null,instances:1,cores_per_instance:16}]',
      ]),
    ).rejects.toThrow(
      /^scenario\.pools: small 2 x 20, large 1 x 16 need 56 physical cores but 48 physical cores are usable \(CPUs 0-47\)/,
    );
    await expect(
      plan([
        'scenario.pools=[{name:small,max_length:32,instances:1,cores_per_instance:48},{name:large,max_length:null,instances:1,cores_per_instance:null}]',
      ]),
    ).rejects.toThrow(
      /scenario\.pools: .* leaves 0 core\(s\) for the 1 instance\(s\) of large \(cores_per_instance: null\)/,
    );
    await expect(plan([STUDY_POOLS, 'scenario.baseline.instances=49'])).rejects.toBeInstanceOf(PlanError);
  });

  it('plans launcher=inline too: the pools are the same, their workers run in the bench process', async () => {
    const inline = await plan(['launcher=inline']);
    const pinned = await plan([]);
    expect(inline.pools.map((p) => p.instances.map((i) => i.cpus))).toEqual(
      pinned.pools.map((p) => p.instances.map((i) => i.cpus)),
    );
  });

  it('keeps any layout disjoint', async () => {
    for (const [a, b, c] of [
      [1, 1, 1],
      [3, 5, 7],
      [10, 10, 10],
      [2, 20, 24],
    ] as const) {
      const p = await plan([
        `scenario.pools=[{name:a,max_length:16,instances:2,cores_per_instance:${a}},{name:b,max_length:64,instances:1,cores_per_instance:${b}},{name:c,max_length:null,instances:1,cores_per_instance:${c}}]`,
      ]);
      expectDisjoint(p);
      expect(p.pools.map((pool) => pool.instances.map((i) => i.cpus.length))).toEqual([[a, a], [b], [c]]);
    }
  });
});

describe('the dispatch config', () => {
  it('checks pools and lengths with dot paths', () => {
    expect(() =>
      runConfig([
        'scenario.pools=[{name:a,max_length:32,instances:1,cores_per_instance:1},{name:a,max_length:32,instances:1,cores_per_instance:1}]',
      ]),
    ).toThrow(
      /scenario\.pools\.1\.name: two pools are named "a"[\s\S]*scenario\.pools\.1\.max_length: two pools have max_length 32/,
    );
    expect(() => runConfig(['scenario.lengths.mix=[[32,1],[1024,1]]'])).toThrow(
      'scenario.lengths.mix: 1024 tokens is longer than bert-base-cased allows (512 positions)',
    );
    expect(() => runConfig(['scenario.lengths.mix=[[32,0]]'])).toThrow(
      'scenario.lengths.mix: expected a list of [tokens, weight] pairs',
    );
    expect(() => runConfig(['scenario.lengths.distribution=file'])).toThrow(
      'scenario.lengths.file: distribution=file needs a file of lengths',
    );
    expect(() => runConfig(['scenario.arrival.mode=sometimes'])).toThrow(
      'scenario.arrival.mode: expected one of open, closed, got "sometimes"',
    );
    expect(() => runConfig(['scenario.name=tune'])).toThrow(
      'expected scenario.name to be one of latency, dispatch, got "tune"',
    );
  });

  it('leaves the latency scenario as it was', () => {
    const src = { configDir: PACKAGE_CONFIG_DIR, extraDirs: [], configName: 'config' };
    const cfg = resolveTask(composeJob(openRepository(src), src, [], { version: 'test' }).config).runConfig;
    expect(cfg.scenario).toEqual({ name: 'latency', min_iterations: 10, padding: 0 });
  });
});
