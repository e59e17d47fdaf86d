import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatCpuList } from '../../src/topology/cpulist.js';
import { lscpuForm, parseLscpu } from '../../src/topology/lscpu.js';
import type { LscpuForm } from '../../src/topology/lscpu.js';
import { numaNodes, siblingsOf, summarize } from '../../src/topology/model.js';
import type { Topology } from '../../src/topology/model.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/lscpu/', import.meta.url));

function load(file: string): Topology {
  return parseLscpu(readFileSync(`${FIXTURE_DIR}${file}`, 'utf8'), file);
}

interface Expected {
  form: LscpuForm;
  cpus: number;
  online: number;
  cores: number;
  sockets: number;
  /** Nodes holding CPUs, by id (ids may have gaps). */
  cpuNodes: number[];
  /** All nodes, CPU-less ones included. */
  nodes: number;
  /** Exact sibling sets from the README's documented rules (a single id = no SMT sibling). */
  siblings: number[][];
  /** Some node -> CPU list checks. */
  nodeCpus?: Record<number, string>;
  /** Warnings the parser must record (derived or guessed data). */
  warnings?: RegExp[];
}

const range = (first: number, last: number): number[] =>
  Array.from({ length: last - first + 1 }, (_, index) => first + index);

/** One row per file in test/fixtures/lscpu (see its README for the rules cited). */
const EXPECTED: Record<string, Expected> = {
  'ampere-altra-q80-2s.lscpu.txt': {
    form: 'summary',
    cpus: 160,
    online: 160,
    cores: 160,
    sockets: 2,
    cpuNodes: [0, 1],
    nodes: 2,
    siblings: [[0], [80], [159]],
    nodeCpus: { 0: '0-79', 1: '80-159' },
  },
  'arm-a510-a710-a715-x3-hybrid-nonuma.lscpu-p.txt': {
    // (socket 0, core 0) repeats for CPUs 0,3,5,7 without SMT: split by their different L1d ids.
    form: 'parsable',
    cpus: 8,
    online: 8,
    cores: 8,
    sockets: 1,
    cpuNodes: [],
    nodes: 0,
    siblings: [[0], [3], [5], [7], [1], [2]],
    warnings: [/L1d/],
  },
  'core-i9-12900k-hybrid.lscpu-e.txt': {
    form: 'extended',
    cpus: 24,
    online: 24,
    cores: 16,
    sockets: 1,
    cpuNodes: [0],
    nodes: 1,
    siblings: [[0, 1], [14, 15], [16], [23]],
  },
  'core-ultra9-185h-hybrid.lscpu-p.txt': {
    form: 'parsable',
    cpus: 22,
    online: 22,
    cores: 16,
    sockets: 1,
    cpuNodes: [0],
    nodes: 1,
    siblings: [[0, 5], [1, 2], [3, 4], [6, 7], [8, 9], [10, 11], [12], [16], [20], [21]],
  },
  'core-ultra9-185h-hybrid.lscpu.txt': {
    // threads x cores (2 x 16) != 22 CPUs: no SMT pairs are invented.
    form: 'summary',
    cpus: 22,
    online: 22,
    cores: 22,
    sockets: 1,
    cpuNodes: [0],
    nodes: 1,
    siblings: [[0], [5]],
    warnings: [/= 32, not the 22 CPUs/],
  },
  'epyc-7451-2s-smt-8node.lscpu-p-physical.txt': {
    // core_id 0 exists in both sockets (CPUs 0 and 24): keyed by (socket, core) they stay apart.
    form: 'parsable',
    cpus: 96,
    online: 96,
    cores: 48,
    sockets: 2,
    cpuNodes: range(0, 7),
    nodes: 8,
    siblings: [
      [0, 48],
      [24, 72],
      [3, 51],
      [47, 95],
    ],
    nodeCpus: { 0: '0-5,48-53', 7: '42-47,90-95' },
  },
  'epyc-7451-2s-smt-8node.lscpu-p.txt': {
    form: 'parsable',
    cpus: 96,
    online: 96,
    cores: 48,
    sockets: 2,
    cpuNodes: range(0, 7),
    nodes: 8,
    siblings: [
      [0, 48],
      [24, 72],
      [47, 95],
    ],
    nodeCpus: { 0: '0-5,48-53', 4: '24-29,72-77' },
  },
  'epyc-7451-2s-smt-8node.lscpu.txt': {
    form: 'summary',
    cpus: 96,
    online: 96,
    cores: 48,
    sockets: 2,
    cpuNodes: range(0, 7),
    nodes: 8,
    siblings: [
      [0, 48],
      [24, 72],
      [47, 95],
    ],
    nodeCpus: { 0: '0-5,48-53' },
    warnings: [/i\+48/],
  },
  'epyc-7543p-1s-smt-8node-llc-numa.lscpu-e.txt': {
    form: 'extended',
    cpus: 64,
    online: 64,
    cores: 32,
    sockets: 1,
    cpuNodes: range(0, 7),
    nodes: 8,
    siblings: [
      [0, 32],
      [31, 63],
    ],
    nodeCpus: { 0: '0-3,32-35', 7: '28-31,60-63' },
  },
  'gh200x4-grace-288c-36node.lscpu-J.json': {
    form: 'json',
    cpus: 288,
    online: 288,
    cores: 288,
    sockets: 4,
    cpuNodes: [0, 1, 2, 3],
    nodes: 36,
    siblings: [[0], [287]],
    nodeCpus: { 0: '0-71', 3: '216-287', 4: '', 35: '' },
  },
  'ryzen5-4600h-adjacent-smt.lscpu-e.txt': {
    form: 'extended',
    cpus: 12,
    online: 12,
    cores: 6,
    sockets: 1,
    cpuNodes: [0],
    nodes: 1,
    siblings: [
      [0, 1],
      [6, 7],
      [10, 11],
    ],
  },
  'ryzen7-5800x-smt.lscpu-e.txt': {
    form: 'extended',
    cpus: 16,
    online: 16,
    cores: 8,
    sockets: 1,
    cpuNodes: [0],
    nodes: 1,
    siblings: [
      [0, 8],
      [7, 15],
    ],
  },
  'xeon-6972p-2s-smt-snc3.lscpu-grep-numa.txt': {
    // Only the NUMA lines: the n+192 siblings and the 2 sockets are not in the fragment, so they are
    // not guessed (each CPU is a core, one socket) and both gaps are reported.
    form: 'summary',
    cpus: 384,
    online: 384,
    cores: 384,
    sockets: 1,
    cpuNodes: range(0, 5),
    nodes: 6,
    siblings: [[0], [192]],
    nodeCpus: { 0: '0-31,192-223', 5: '160-191,352-383' },
    warnings: [/SMT siblings are unknown/, /Socket/],
  },
  'xeon-8380-2s-smt.lscpu.txt': {
    form: 'summary',
    cpus: 160,
    online: 160,
    cores: 80,
    sockets: 2,
    cpuNodes: [0, 1],
    nodes: 2,
    siblings: [
      [0, 80],
      [39, 119],
      [40, 120],
      [79, 159],
    ],
    nodeCpus: { 0: '0-39,80-119', 1: '40-79,120-159' },
  },
  'xeon-8481c-gcp-vm-2s-4node.lscpu.txt': {
    form: 'summary',
    cpus: 176,
    online: 176,
    cores: 88,
    sockets: 2,
    cpuNodes: [0, 1, 2, 3],
    nodes: 4,
    siblings: [
      [0, 88],
      [21, 109],
      [87, 175],
    ],
    nodeCpus: { 0: '0-21,88-109', 3: '66-87,154-175' },
  },
  'xeon-e5-2630v4-2s-offline-cpus.lscpu.txt': {
    // 'Thread(s) per core: 0': 40 CPUs / (10 cores x 2 sockets) = 2; nodes interleave even/odd.
    form: 'summary',
    cpus: 40,
    online: 4,
    cores: 20,
    sockets: 2,
    cpuNodes: [0, 1],
    nodes: 2,
    siblings: [
      [0, 20],
      [1, 21],
      [19, 39],
    ],
    warnings: [/Thread\(s\) per core: 0/],
  },
  'xeon-e5-2660v2-2s-smt.lscpu-e.txt': {
    form: 'extended',
    cpus: 40,
    online: 40,
    cores: 20,
    sockets: 2,
    cpuNodes: [0, 1],
    nodes: 2,
    siblings: [
      [0, 20],
      [10, 30],
      [19, 39],
    ],
    nodeCpus: { 0: '0-9,20-29', 1: '10-19,30-39' },
  },
  'xeon-x7550-4s-smt-3node.lscpu-p.txt': {
    // Node 0 holds sockets 0 and 2; node ids 0, 2, 3 (no node 1).
    form: 'parsable',
    cpus: 64,
    online: 64,
    cores: 32,
    sockets: 4,
    cpuNodes: [0, 2, 3],
    nodes: 3,
    siblings: [
      [0, 32],
      [1, 33],
      [31, 63],
    ],
    nodeCpus: { 2: '1,5,9,13,17,21,25,29,33,37,41,45,49,53,57,61' },
  },
  'xeon-x7550-4s-smt-3node.lscpu-pre2.42.txt': {
    // The summary cannot put 4 sockets on 3 nodes: one socket per node, with a warning.
    form: 'summary',
    cpus: 64,
    online: 64,
    cores: 32,
    sockets: 3,
    cpuNodes: [0, 2, 3],
    nodes: 3,
    siblings: [
      [0, 32],
      [1, 33],
      [31, 63],
    ],
    warnings: [/Socket\(s\): 4/],
  },
  'xeon-x7550-4s-smt-3node.lscpu.txt': {
    form: 'summary',
    cpus: 64,
    online: 64,
    cores: 32,
    sockets: 3,
    cpuNodes: [0, 2, 3],
    nodes: 3,
    siblings: [
      [0, 32],
      [1, 33],
      [31, 63],
    ],
    nodeCpus: { 3: '3,7,11,15,19,23,27,31,35,39,43,47,51,55,59,63' },
    warnings: [/Socket\(s\): 4/],
  },
};

describe('recorded lscpu fixtures', () => {
  it('has an expectation for every fixture file', () => {
    const files = readdirSync(FIXTURE_DIR)
      .filter((file) => file !== 'README.md')
      .sort();
    expect(files).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(Object.entries(EXPECTED))('%s', (file, expected) => {
    const text = readFileSync(`${FIXTURE_DIR}${file}`, 'utf8');
    expect(lscpuForm(text)).toBe(expected.form);
    const topology = parseLscpu(text, file);
    const summary = summarize(topology);
    expect(summary.cpus).toBe(expected.cpus);
    expect(summary.onlineCpus).toBe(expected.online);
    expect(summary.physicalCores).toBe(expected.cores);
    expect(summary.sockets).toBe(expected.sockets);
    expect(summary.nodes).toBe(expected.nodes);
    expect(
      numaNodes(topology)
        .filter((node) => node.cpuIds.length > 0)
        .map((node) => node.id),
    ).toEqual(expected.cpuNodes);
    for (const siblings of expected.siblings) {
      for (const cpu of siblings) expect(siblingsOf(topology, cpu), `siblings of CPU ${cpu}`).toEqual(siblings);
    }
    const nodesById = new Map(numaNodes(topology).map((node) => [node.id, node]));
    for (const [node, cpus] of Object.entries(expected.nodeCpus ?? {})) {
      expect(formatCpuList(nodesById.get(Number(node))?.cpuIds ?? [-1]), `node ${node}`).toBe(cpus);
    }
    for (const warning of expected.warnings ?? []) {
      expect(
        topology.warnings.some((text) => warning.test(text)),
        `a warning matching ${warning}`,
      ).toBe(true);
    }
    // Core keys are unique machine-wide: no key is shared across sockets.
    const socketOfCore = new Map<number, number>();
    for (const cpu of topology.cpus) {
      expect(socketOfCore.get(cpu.core) ?? cpu.socket).toBe(cpu.socket);
      socketOfCore.set(cpu.core, cpu.socket);
    }
  });

  it('reads the util-linux >= 2.42 stride lists exactly like the pre-2.42 comma lists', () => {
    const stride = load('xeon-x7550-4s-smt-3node.lscpu.txt');
    const plain = load('xeon-x7550-4s-smt-3node.lscpu-pre2.42.txt');
    expect(stride.cpus).toEqual(plain.cpus);
    expect(stride.cpulessNodes).toEqual(plain.cpulessNodes);
  });

  it('derives the same cores and nodes from the x7550 summary as from its -p output', () => {
    const summary = load('xeon-x7550-4s-smt-3node.lscpu.txt');
    const parsable = load('xeon-x7550-4s-smt-3node.lscpu-p.txt');
    const shape = (topology: Topology) => topology.cpus.map((cpu) => [cpu.id, cpu.core, cpu.node]);
    expect(shape(summary)).toEqual(shape(parsable));
  });

  it('keeps the x7550 sockets 0 and 2 inside node 0 from -p', () => {
    const topology = load('xeon-x7550-4s-smt-3node.lscpu-p.txt');
    expect(numaNodes(topology).find((node) => node.id === 0)?.sockets).toEqual([0, 2]);
  });

  it('lists the 32 CPU-less GH200 nodes 4-35', () => {
    expect(load('gh200x4-grace-288c-36node.lscpu-J.json').cpulessNodes).toEqual(range(4, 35));
  });

  it('marks the off-line CPUs 4-39 of the E5-2630 v4 as offline', () => {
    const topology = load('xeon-e5-2630v4-2s-offline-cpus.lscpu.txt');
    expect(topology.cpus.filter((cpu) => cpu.online).map((cpu) => cpu.id)).toEqual([0, 1, 2, 3]);
  });

  it('reads MAXMHZ per CPU from -e (hybrid P- and E-cores differ)', () => {
    const topology = load('core-i9-12900k-hybrid.lscpu-e.txt');
    expect(topology.cpus.map((cpu) => cpu.maxMhz)).toEqual([
      ...Array<number>(4).fill(6700),
      ...Array<number>(12).fill(6500),
      ...Array<number>(8).fill(3900),
    ]);
  });
});
