import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseLscpu } from '../../src/topology/lscpu.js';
import { renderTopologyText, topologyToJson } from '../../src/topology/render.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/lscpu/', import.meta.url));
const load = (file: string) => parseLscpu(readFileSync(`${FIXTURE_DIR}${file}`, 'utf8'), file);

describe('renderTopologyText', () => {
  it('shows sockets, nodes, cores and sibling examples', () => {
    const text = renderTopologyText(load('epyc-7451-2s-smt-8node.lscpu-p.txt'));
    expect(text).toContain(
      '96 CPUs (96 online), 48 physical cores, up to 2 threads per core, 2 sockets, 8 NUMA nodes (8 with CPUs)',
    );
    expect(text).toMatch(/^0\s+0,1,2,3\s+24\s+0-23,48-71$/m);
    expect(text).toMatch(/^7\s+1\s+6\s+42-47,90-95$/m);
    expect(text).toContain('SMT siblings: {0,48} {1,49} {2,50} {3,51} ... (48 cores with SMT)');
    expect(text).not.toContain('Notes:');
  });

  it('lists CPU-less nodes, offline CPUs and parser notes', () => {
    expect(renderTopologyText(load('gh200x4-grace-288c-36node.lscpu-J.json'))).toMatch(
      /^35\s+-\s+0\s+\(no CPUs: memory only\)$/m,
    );
    const offline = renderTopologyText(load('xeon-e5-2630v4-2s-offline-cpus.lscpu.txt'));
    expect(offline).toContain('Offline CPUs: 4-39');
    expect(offline).toContain('Notes:');
  });

  it('says when there is no NUMA information', () => {
    expect(renderTopologyText(load('arm-a510-a710-a715-x3-hybrid-nonuma.lscpu-p.txt'))).toContain(
      'NUMA: no node information',
    );
  });
});

describe('topologyToJson', () => {
  it('summarises and lists sockets, nodes and cores', () => {
    const json = topologyToJson(load('xeon-x7550-4s-smt-3node.lscpu-p.txt'));
    expect(json.summary).toEqual({
      cpus: 64,
      online_cpus: 64,
      physical_cores: 32,
      max_threads_per_core: 2,
      sockets: 4,
      nodes: 3,
      nodes_with_cpus: 3,
    });
    expect(json.nodes[0]).toEqual({
      id: 0,
      sockets: [0, 2],
      cores: 16,
      cpus: '0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,46,48,50,52,54,56,58,60,62',
    });
    expect(json.cores[0]).toEqual({ core: 0, socket: 0, node: 0, cpus: [0, 32] });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
