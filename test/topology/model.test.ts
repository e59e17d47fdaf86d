import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/topology/errors.js';
import { parseLscpu } from '../../src/topology/lscpu.js';
import { physicalCores, restrictTo, siblingsOf, summarize } from '../../src/topology/model.js';
import type { Topology } from '../../src/topology/model.js';

/** 1 socket, 4 cores, siblings n and n+4, 2 nodes. */
function smallMachine(): Topology {
  const rows = Array.from({ length: 8 }, (_, cpu) => `${cpu},${cpu % 4},0,${cpu % 4 < 2 ? 0 : 1}`);
  return parseLscpu(['# CPU,Core,Socket,Node', ...rows].join('\n'), 'small');
}

describe('restrictTo (process affinity / cpuset)', () => {
  it('drops CPU 0 and keeps its sibling as the only CPU of core 0', () => {
    const restricted = restrictTo(smallMachine(), [1, 2, 3, 4, 5, 6, 7]);
    expect(restricted.cpus.map((cpu) => cpu.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(siblingsOf(restricted, 4)).toEqual([4]);
    expect(physicalCores(restricted).map((core) => core.cpuIds)).toEqual([[1, 5], [2, 6], [3, 7], [4]]);
    expect(summarize(restricted)).toMatchObject({ cpus: 7, physicalCores: 4, cpuNodes: 2 });
  });

  it('ignores allowed ids the topology lacks and refuses an empty result', () => {
    expect(restrictTo(smallMachine(), [3, 99]).cpus.map((cpu) => cpu.id)).toEqual([3]);
    expect(() => restrictTo(smallMachine(), [99])).toThrow(TopologyError);
  });

  it('keeps CPU-less nodes listed', () => {
    const topology = { ...smallMachine(), cpulessNodes: [5] };
    expect(restrictTo(topology, [0]).cpulessNodes).toEqual([5]);
  });
});
