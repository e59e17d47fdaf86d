import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/topology/errors.js';
import { lscpuForm, parseLscpu } from '../../src/topology/lscpu.js';
import { numaNodes, siblingsOf, summarize } from '../../src/topology/model.js';

/** Forms not among the recorded fixtures, written the way the lscpu source prints them. */
describe('parseLscpu, other forms', () => {
  it('reads the user-defined -p form with a joined L1d:L1i:L2:L3 column, Online and Maxmhz', () => {
    const text = [
      '# The following is the parsable format, which can be fed to other',
      '# CPU,Core,Socket,Node,L1d:L1i:L2:L3,Online,Maxmhz',
      '0,0,0,0,0:0:0:0,Y,3000.0000',
      '1,0,0,0,1:1:1:0,Y,2000.0000',
      '2,1,0,0,2:2:2:0,Y,3000.0000',
      '3,1,0,0,2:2:2:0,N,',
      '4,,,,,N,',
    ].join('\n');
    const topology = parseLscpu(text, 'lscpu -p=...');
    // CPUs 0 and 1 share a logical core id but not an L1d: two cores. CPUs 2 and 3 are SMT siblings.
    expect(siblingsOf(topology, 0)).toEqual([0]);
    expect(siblingsOf(topology, 1)).toEqual([1]);
    expect(siblingsOf(topology, 2)).toEqual([2, 3]);
    // The offline CPU 4 has no ids at all: its own core, socket taken from nowhere -> 0 with a note.
    expect(siblingsOf(topology, 4)).toEqual([4]);
    expect(topology.cpus.map((cpu) => cpu.online)).toEqual([true, true, true, false, false]);
    expect(topology.cpus.map((cpu) => cpu.maxMhz)).toEqual([3000, 2000, 3000, undefined, undefined]);
    expect(topology.cpus[4]?.node).toBeNull();
    expect(topology.warnings.join('\n')).toMatch(/socket unknown for CPUs 4/);
  });

  it('reads the minimal -p header of the detector and node ids >= 10', () => {
    const text = ['# CPU,Core,Socket,Node,Online', '0,0,0,12,Y', '1,1,0,12,Y'].join('\n');
    expect(numaNodes(parseLscpu(text, 'x')).map((node) => node.id)).toEqual([12]);
  });

  it('reads lscpu -J -e ({"cpus":[...]}) with numbers, booleans and nulls', () => {
    const text = JSON.stringify({
      cpus: [
        { cpu: 0, node: 0, socket: 0, core: 0, 'l1d:l1i:l2:l3': '0:0:0:0', online: true, maxmhz: 3500 },
        { cpu: 1, node: 0, socket: 0, core: 0, 'l1d:l1i:l2:l3': '0:0:0:0', online: true, maxmhz: 3500 },
        { cpu: 2, node: null, socket: null, core: null, 'l1d:l1i:l2:l3': null, online: false, maxmhz: null },
      ],
    });
    expect(lscpuForm(text)).toBe('json');
    const topology = parseLscpu(text, 'lscpu -J -e');
    expect(siblingsOf(topology, 0)).toEqual([0, 1]);
    expect(topology.cpus[2]).toEqual({ id: 2, core: 1, socket: 0, node: null, online: false });
  });

  it('reads -J with sections nested under "children"', () => {
    const text = JSON.stringify({
      lscpu: [
        { field: 'CPU(s):', data: '4', children: [{ field: 'On-line CPU(s) list:', data: '0-3' }] },
        {
          field: 'Vendor ID:',
          data: 'GenuineIntel',
          children: [
            { field: 'Thread(s) per core:', data: '2' },
            { field: 'Core(s) per socket:', data: '2' },
            { field: 'Socket(s):', data: '1' },
          ],
        },
        {
          field: 'NUMA:',
          data: null,
          children: [
            { field: 'NUMA node(s):', data: '2' },
            { field: 'NUMA node0 CPU(s):', data: '0-3' },
            { field: 'NUMA node1 CPU(s):', data: null },
          ],
        },
      ],
    });
    const topology = parseLscpu(text, 'lscpu -J');
    expect(summarize(topology)).toMatchObject({ cpus: 4, physicalCores: 2, nodes: 2, cpuNodes: 1 });
    expect(siblingsOf(topology, 0)).toEqual([0, 2]);
    expect(topology.cpulessNodes).toEqual([1]);
  });

  it('reads -e rows of offline CPUs printed with dashes', () => {
    const text = [
      'CPU NODE SOCKET CORE L1d:L1i:L2:L3 ONLINE',
      '  0    0      0    0 0:0:0:0          yes',
      '  1    -      -    - -                 no',
    ].join('\n');
    const topology = parseLscpu(text, 'lscpu -e');
    expect(topology.cpus.map((cpu) => [cpu.id, cpu.node, cpu.online])).toEqual([
      [0, 0, true],
      [1, null, false],
    ]);
  });

  it('makes each CPU its own core when a summary lists CPU types with different thread counts', () => {
    const text = [
      'CPU(s): 6',
      'On-line CPU(s) list: 0-5',
      'Model name: big',
      'Thread(s) per core: 2',
      'Core(s) per socket: 2',
      'Socket(s): 1',
      'Model name: little',
      'Thread(s) per core: 1',
      'Core(s) per socket: 2',
      'Socket(s): 1',
    ].join('\n');
    const topology = parseLscpu(text, 'lscpu');
    expect(summarize(topology).physicalCores).toBe(6);
    expect(topology.warnings.join('\n')).toMatch(/hybrid/);
  });

  it('refuses siblings i and i+C that would sit in different nodes', () => {
    const text = [
      'CPU(s): 4',
      'Thread(s) per core: 2',
      'Core(s) per socket: 2',
      'Socket(s): 1',
      'NUMA node0 CPU(s): 0,1',
      'NUMA node1 CPU(s): 2,3',
    ].join('\n');
    const topology = parseLscpu(text, 'lscpu');
    expect(summarize(topology).physicalCores).toBe(4);
    expect(topology.warnings.join('\n')).toMatch(/different NUMA nodes/);
  });

  it.each([
    ['empty text', ''],
    ['unrelated text', 'hello world\nfoo: bar'],
    ['broken JSON', '{"lscpu": ['],
    ['JSON of something else', '{"devices": []}'],
    ['-p without rows', '# CPU,Core,Socket,Node'],
    ['-p with a non-numeric id', '# CPU,Core,Socket,Node\n0,x,0,0'],
    ['a bad NUMA list', 'CPU(s): 2\nNUMA node0 CPU(s): 0-x'],
  ])('throws a TopologyError naming the source for %s', (_, text) => {
    expect(() => parseLscpu(text, 'recorded.txt')).toThrow(TopologyError);
    expect(() => parseLscpu(text, 'recorded.txt')).toThrow(/recorded\.txt/);
  });
});
