import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/topology/errors.js';
import { numaNodes, siblingsOf, summarize } from '../../src/topology/model.js';
import { parseSysfs } from '../../src/topology/sysfs.js';

const CPU = '/sys/devices/system/cpu';
const NODE = '/sys/devices/system/node';

/**
 * A fake sysfs: 2 sockets x 2 cores x 2 threads, siblings n and n+4, kernel core_ids that repeat
 * across sockets (0 and 1 in each), node 2 without CPUs, CPU 7 offline without topology files.
 */
function fakeSysfs(): Map<string, string> {
  const files = new Map<string, string>([
    [`${CPU}/present`, '0-7\n'],
    [`${CPU}/online`, '0-6\n'],
    [`${NODE}/online`, '0-2\n'],
    [`${NODE}/node0/cpulist`, '0-1,4-5\n'],
    [`${NODE}/node1/cpulist`, '2-3,6-7\n'],
    [`${NODE}/node2/cpulist`, '\n'],
  ]);
  for (let cpu = 0; cpu < 7; cpu += 1) {
    const first = cpu % 4;
    files.set(`${CPU}/cpu${cpu}/topology/core_id`, `${first % 2}\n`);
    files.set(`${CPU}/cpu${cpu}/topology/physical_package_id`, `${first < 2 ? 0 : 1}\n`);
    files.set(`${CPU}/cpu${cpu}/topology/thread_siblings_list`, cpu === 3 ? '3\n' : `${first},${first + 4}\n`);
    files.set(`${CPU}/cpu${cpu}/cpufreq/cpuinfo_max_freq`, '3500000\n');
  }
  return files;
}

describe('parseSysfs', () => {
  it('builds cores from thread_siblings_list per package, with offline and CPU-less parts', () => {
    const files = fakeSysfs();
    const topology = parseSysfs((path) => files.get(path));
    expect(summarize(topology)).toEqual({
      cpus: 8,
      onlineCpus: 7,
      physicalCores: 5,
      maxThreadsPerCore: 2,
      sockets: 2,
      cpuNodes: 2,
      nodes: 3,
    });
    expect(siblingsOf(topology, 0)).toEqual([0, 4]);
    expect(siblingsOf(topology, 2)).toEqual([2, 6]);
    // CPU 7 is offline and has no topology files: its own core, in the socket of its node.
    expect(siblingsOf(topology, 7)).toEqual([7]);
    expect(topology.cpus[7]).toEqual({ id: 7, core: 4, socket: 1, node: 1, online: false });
    expect(topology.cpus[0]?.maxMhz).toBe(3500);
    expect(topology.cpulessNodes).toEqual([2]);
    expect(numaNodes(topology).map((node) => node.sockets)).toEqual([[0], [1], []]);
  });

  it('falls back to core_id (keyed per package) when no thread_siblings_list exists', () => {
    const files = new Map([...fakeSysfs()].filter(([path]) => !path.endsWith('thread_siblings_list')));
    const topology = parseSysfs((path) => files.get(path));
    // core_id 0 exists in both packages: CPUs 0,4 (package 0) and 2,6 (package 1) stay apart.
    expect(siblingsOf(topology, 0)).toEqual([0, 4]);
    expect(siblingsOf(topology, 2)).toEqual([2, 6]);
  });

  it('treats a kernel without NUMA as node-less and all CPUs online without an online file', () => {
    const files = new Map([...fakeSysfs()].filter(([path]) => !path.startsWith(NODE) && path !== `${CPU}/online`));
    const topology = parseSysfs((path) => files.get(path));
    expect(topology.cpus.every((cpu) => cpu.node === null && cpu.online)).toBe(true);
    expect(summarize(topology).nodes).toBe(0);
  });

  it('says what to do when /sys has no CPU list', () => {
    expect(() => parseSysfs(() => undefined)).toThrow(TopologyError);
    expect(() => parseSysfs(() => undefined)).toThrow(/topology\.file/);
  });
});
