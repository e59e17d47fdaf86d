import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PlanError, planInstances } from '../../src/launcher/plan.js';
import type { PlanOptions } from '../../src/launcher/plan.js';
import { formatCpuList } from '../../src/topology/cpulist.js';
import { parseLscpu } from '../../src/topology/lscpu.js';
import { restrictTo } from '../../src/topology/model.js';
import type { Topology } from '../../src/topology/model.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/lscpu/', import.meta.url));
const fixture = (file: string): Topology => parseLscpu(readFileSync(`${FIXTURE_DIR}${file}`, 'utf8'), file);

/**
 * The study's machine (c5.metal-like): 2 sockets x 24 cores, SMT, node0 = CPUs 0-23,48-71 and
 * node1 = 24-47,72-95, written as `lscpu -p` prints it (siblings n and n+48).
 */
function studyMachine(): Topology {
  const rows = Array.from({ length: 96 }, (_, cpu) => {
    const core = cpu % 48;
    const socket = core < 24 ? 0 : 1;
    return `${cpu},${core},${socket},${socket},,${core},${core},${core},${socket}`;
  });
  const text = ['# CPU,Core,Socket,Node,,L1d,L1i,L2,L3', ...rows].join('\n');
  return parseLscpu(text, 'study-c5-metal-2s-48c.lscpu-p');
}

/** A 2-CPU, 1-node machine without SMT, like the one the facts were measured on. */
function twoCoreMachine(): Topology {
  return parseLscpu('# CPU,Core,Socket,Node\n0,0,0,0\n1,1,0,0\n', 'two-core');
}

function options(overrides: Partial<PlanOptions> = {}): PlanOptions {
  return {
    num_instances: 1,
    cores_per_instance: null,
    use_smt: false,
    nodes: null,
    sockets: null,
    cpu_list: null,
    binding: 'numactl',
    split_batch: false,
    allow_uneven_split: false,
    batch_size: 8,
    num_threads: null,
    ...overrides,
  };
}

/** Instances as [cpu list, memory nodes] for compact assertions. */
function layout(topology: Topology, overrides: Partial<PlanOptions>): [string, number[]][] {
  return planInstances(topology, options(overrides)).instances.map((instance) => [
    formatCpuList(instance.cpus),
    instance.memory_nodes,
  ]);
}

function planError(topology: Topology, overrides: Partial<PlanOptions>): string {
  try {
    planInstances(topology, options(overrides));
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return (error as PlanError).message;
  }
  throw new Error('expected a PlanError');
}

describe('planInstances on the study machine (2 x 24 cores, SMT, 2 nodes)', () => {
  const study = studyMachine();

  it('1 instance gets one CPU per core of both nodes', () => {
    const plan = planInstances(study, options({ num_instances: 1 }));
    expect(plan.instances).toEqual([
      { index: 0, cpus: Array.from({ length: 48 }, (_, cpu) => cpu), memory_nodes: [0, 1], threads: 48, batch_size: 8 },
    ]);
    expect(plan.leftover_cpus).toEqual([]);
    expect(plan.warnings).toEqual([]);
    expect(plan.binding).toBe('numactl');
  });

  it('2 instances get one node each', () => {
    expect(layout(study, { num_instances: 2 })).toEqual([
      ['0-23', [0]],
      ['24-47', [1]],
    ]);
  });

  it('4 instances fill node 0 before node 1', () => {
    expect(layout(study, { num_instances: 4 })).toEqual([
      ['0-11', [0]],
      ['12-23', [0]],
      ['24-35', [1]],
      ['36-47', [1]],
    ]);
    expect(planInstances(study, options({ num_instances: 4 })).instances.map((instance) => instance.threads)).toEqual([
      12, 12, 12, 12,
    ]);
  });

  it('use_smt keeps both siblings of a core in the same instance', () => {
    const plan = planInstances(study, options({ num_instances: 2, use_smt: true }));
    expect(
      plan.instances.map((instance) => [formatCpuList(instance.cpus), instance.memory_nodes, instance.threads]),
    ).toEqual([
      ['0-23,48-71', [0], 48],
      ['24-47,72-95', [1], 48],
    ]);
    expect(layout(study, { num_instances: 4, use_smt: true, cores_per_instance: 12 })[1]).toEqual(['12-23,60-71', [0]]);
  });

  it('5 instances: 9 cores each, the leftover 3 cores reported, the one spanning instance named', () => {
    const plan = planInstances(study, options({ num_instances: 5 }));
    expect(plan.instances.map((instance) => formatCpuList(instance.cpus))).toEqual([
      '0-8',
      '9-17',
      '24-32',
      '33-41',
      '18-23,42-44',
    ]);
    expect(plan.instances[4]?.memory_nodes).toEqual([0, 1]);
    expect(plan.leftover_cpus).toEqual([45, 46, 47]);
    expect(plan.warnings).toEqual([
      '5 instances x 9 cores use 45 of the 48 available physical cores; CPUs 45-47 stay idle (leftover_cpus). ' +
        'launcher.num_instances values that use every core: 1, 2, 3, 4, 6, 8, 12, 16, 24, 48',
      'instance 4 spans NUMA nodes, so part of their memory is remote; ' +
        'launcher.cores_per_instance=8 would keep each of the 5 instances in one node',
    ]);
  });

  it('cores_per_instance=8 keeps 5 instances inside nodes and leaves 8 cores idle', () => {
    expect(layout(study, { num_instances: 5, cores_per_instance: 8 })).toEqual([
      ['0-7', [0]],
      ['8-15', [0]],
      ['16-23', [0]],
      ['24-31', [1]],
      ['32-39', [1]],
    ]);
    expect(planInstances(study, options({ num_instances: 5, cores_per_instance: 8 })).leftover_cpus).toEqual([
      40, 41, 42, 43, 44, 45, 46, 47,
    ]);
  });

  it('split_batch divides the batch evenly', () => {
    const plan = planInstances(study, options({ num_instances: 4, split_batch: true, batch_size: 8 }));
    expect(plan.instances.map((instance) => instance.batch_size)).toEqual([2, 2, 2, 2]);
  });

  it('split_batch refuses an uneven split and names the instance counts that work', () => {
    expect(planError(study, { num_instances: 3, split_batch: true, batch_size: 8 })).toBe(
      'launcher.split_batch: batch_size=8 does not split evenly over 3 instances; launcher.num_instances values ' +
        'that split it evenly and fit on this machine: 1, 2, 4, 8; or set launcher.allow_uneven_split=true',
    );
  });

  it('allow_uneven_split spreads the remainder over the first instances', () => {
    const plan = planInstances(
      study,
      options({ num_instances: 3, split_batch: true, batch_size: 8, allow_uneven_split: true }),
    );
    expect(plan.instances.map((instance) => instance.batch_size)).toEqual([3, 3, 2]);
    expect(plan.warnings).toContain('batch_size=8 split unevenly over the instances: 3, 3, 2');
  });

  it('refuses a batch smaller than the instance count even when uneven splits are allowed', () => {
    expect(planError(study, { num_instances: 4, split_batch: true, batch_size: 2, allow_uneven_split: true })).toMatch(
      /batch_size=2 does not split evenly over 4 instances; .*: 1, 2$/,
    );
  });

  it('refuses more instances than physical cores and says the maximum', () => {
    expect(planError(study, { num_instances: 49 })).toBe(
      'launcher.num_instances=49 needs at least one physical core per instance but 48 physical cores are ' +
        'available (CPUs 0-47); the maximum is launcher.num_instances=48',
    );
    expect(planError(study, { num_instances: 49, use_smt: true })).toMatch(/the maximum is launcher\.num_instances=48/);
  });

  it('refuses num_instances x cores_per_instance beyond the machine', () => {
    expect(planError(study, { num_instances: 5, cores_per_instance: 12 })).toMatch(
      /^launcher\.num_instances=5 x launcher\.cores_per_instance=12 needs 60 physical cores but 48 .*; use launcher\.cores_per_instance<=9 or launcher\.num_instances<=4$/,
    );
  });

  it('plans inside the chosen node, and lists the nodes that exist', () => {
    expect(layout(study, { num_instances: 2, nodes: [1] })).toEqual([
      ['24-35', [1]],
      ['36-47', [1]],
    ]);
    expect(planError(study, { nodes: [2] })).toBe('launcher.nodes: node 2 does not exist; existing NUMA nodes: 0, 1');
  });

  it('plans inside the chosen socket, and lists the sockets that exist', () => {
    expect(layout(study, { num_instances: 1, sockets: [0] })).toEqual([['0-23', [0]]]);
    expect(planError(study, { sockets: [3] })).toBe(
      'launcher.sockets: socket 3 does not exist; existing sockets: 0, 1',
    );
  });

  it('uses exactly the CPUs of cpu_list', () => {
    expect(layout(study, { num_instances: 2, cpu_list: '4-7' })).toEqual([
      ['4-5', [0]],
      ['6-7', [0]],
    ]);
    expect(layout(study, { num_instances: 1, cpu_list: '4,52', use_smt: true })).toEqual([['4,52', [0]]]);
    expect(planError(study, { cpu_list: '0-3,200' })).toMatch(/^launcher\.cpu_list='0-3,200': CPUs 200 are not usable/);
    expect(planError(study, { cpu_list: '3-x' })).toMatch(/^launcher\.cpu_list: invalid CPU list/);
  });

  it('takes num_threads and the binding as given', () => {
    const plan = planInstances(study, options({ num_instances: 2, num_threads: 4, binding: 'taskset' }));
    expect(plan.instances.map((instance) => instance.threads)).toEqual([4, 4]);
    expect(plan.binding).toBe('taskset');
    expect(planInstances(study, options({ num_instances: 2, num_threads: 30 })).warnings).toEqual([
      'backend.num_threads=30 exceeds the 24 CPUs of the smallest instance; threads will share CPUs',
    ]);
    expect(planInstances(study, options({ num_instances: 2, binding: 'none' })).warnings).toEqual([
      'launcher.binding=none: the 2 instances are not pinned and will compete for CPUs; numbers are not comparable to pinned runs',
    ]);
  });

  it.each([
    [{ num_instances: 0 }, 'launcher.num_instances must be a positive integer, got 0'],
    [{ cores_per_instance: 1.5 }, 'launcher.cores_per_instance must be a positive integer, got 1.5'],
    [{ batch_size: -1 }, 'batch_size must be a positive integer, got -1'],
    [{ nodes: [] }, 'launcher.nodes is empty; leave it unset (null) to use all nodes'],
  ])('validates %j', (overrides, message) => {
    expect(planError(study, overrides)).toBe(message);
  });
});

describe('planInstances on other machines', () => {
  it('2-core 1-node machine: 2 instances on CPU 0 and CPU 1', () => {
    const plan = planInstances(twoCoreMachine(), options({ num_instances: 2 }));
    expect(plan.instances.map((instance) => [instance.cpus, instance.memory_nodes, instance.threads])).toEqual([
      [[0], [0], 1],
      [[1], [0], 1],
    ]);
  });

  it('pins CPU ids on adjacent-sibling numbering (Ryzen 5 4600H), never core ids', () => {
    expect(layout(fixture('ryzen5-4600h-adjacent-smt.lscpu-e.txt'), { num_instances: 3 })).toEqual([
      ['0,2', [0]],
      ['4,6', [0]],
      ['8,10', [0]],
    ]);
  });

  it('skips an affinity-excluded CPU 0 and uses its sibling instead', () => {
    const restricted = restrictTo(
      fixture('ryzen7-5800x-smt.lscpu-e.txt'),
      Array.from({ length: 15 }, (_, index) => index + 1),
    );
    expect(layout(restricted, { num_instances: 8 }).map(([cpus]) => cpus)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
    ]);
  });

  it('EPYC 7543P (1 socket, 8 nodes): one instance per node with 8 instances', () => {
    const epyc = fixture('epyc-7543p-1s-smt-8node-llc-numa.lscpu-e.txt');
    expect(layout(epyc, { num_instances: 8 })).toEqual(
      Array.from({ length: 8 }, (_, node) => [`${node * 4}-${node * 4 + 3}`, [node]]),
    );
    expect(layout(epyc, { num_instances: 2 })).toEqual([
      ['0-15', [0, 1, 2, 3]],
      ['16-31', [4, 5, 6, 7]],
    ]);
    expect(planInstances(epyc, options({ num_instances: 2 })).warnings).toEqual([
      'instances 0, 1 span NUMA nodes, so part of their memory is remote; ' +
        'launcher.cores_per_instance=4 would keep each of the 2 instances in one node',
    ]);
  });

  it('GH200: plans on the 4 CPU nodes and refuses the memory-only ones', () => {
    const gh200 = fixture('gh200x4-grace-288c-36node.lscpu-J.json');
    expect(layout(gh200, { num_instances: 4 })).toEqual([
      ['0-71', [0]],
      ['72-143', [1]],
      ['144-215', [2]],
      ['216-287', [3]],
    ]);
    expect(planError(gh200, { nodes: [5] })).toBe(
      'launcher.nodes: node 5 has no usable CPU (a memory-only node, offline CPUs or outside the process affinity); ' +
        'nodes with usable CPUs: 0, 1, 2, 3',
    );
    expect(planError(gh200, { nodes: [40] })).toMatch(/node 40 does not exist; existing NUMA nodes: 0, 1, 2, .*, 35$/);
  });

  it('x7550: node ids 0, 2, 3 with node 0 holding two sockets', () => {
    const x7550 = fixture('xeon-x7550-4s-smt-3node.lscpu-p.txt');
    expect(layout(x7550, { num_instances: 4 })).toEqual([
      ['0,4,8,12,16,20,24,28', [0]],
      ['2,6,10,14,18,22,26,30', [0]],
      ['1,5,9,13,17,21,25,29', [2]],
      ['3,7,11,15,19,23,27,31', [3]],
    ]);
  });

  it('uses only online CPUs (E5-2630 v4 with CPUs 4-39 offline)', () => {
    expect(layout(fixture('xeon-e5-2630v4-2s-offline-cpus.lscpu.txt'), { num_instances: 4 })).toEqual([
      ['0', [0]],
      ['2', [0]],
      ['1', [1]],
      ['3', [1]],
    ]);
  });

  it('has no memory nodes without NUMA information, and refuses a node filter there', () => {
    const arm = fixture('arm-a510-a710-a715-x3-hybrid-nonuma.lscpu-p.txt');
    expect(layout(arm, { num_instances: 2 })).toEqual([
      ['0-3', []],
      ['4-7', []],
    ]);
    expect(planError(arm, { nodes: [0] })).toMatch(
      /^launcher\.nodes is set but the topology from .* has no NUMA information/,
    );
  });
});
