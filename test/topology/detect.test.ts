import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  detectTopology,
  loadTopologyFile,
  parseCpusAllowedList,
  restrictToAffinity,
} from '../../src/topology/detect.js';
import type { DetectEffects } from '../../src/topology/detect.js';
import { TopologyError } from '../../src/topology/errors.js';
import { summarize } from '../../src/topology/model.js';

const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/lscpu/', import.meta.url));
const fixture = (file: string): string => readFileSync(`${FIXTURE_DIR}${file}`, 'utf8');

const STATUS_ALL = 'Name:\tnode\nCpus_allowed:\t3fffff\nCpus_allowed_list:\t0-21\nMems_allowed_list:\t0\n';

interface FakeMachine {
  parsable?: string;
  json?: string;
  files?: Record<string, string>;
}

/** Records the commands run; a missing output makes that command fail like a missing lscpu. */
function fakeEffects(machine: FakeMachine, calls: string[][] = []): DetectEffects {
  return {
    runCommand(file, args) {
      calls.push([file, ...args]);
      const output = args.includes('-J') ? machine.json : machine.parsable;
      return output === undefined ? Promise.reject(new Error('spawn lscpu ENOENT')) : Promise.resolve(output);
    },
    readSmallFile: (path) => machine.files?.[path],
  };
}

describe('detectTopology', () => {
  it('runs lscpu -p with explicit columns (no shell) and keeps every allowed CPU', async () => {
    const calls: string[][] = [];
    const topology = await detectTopology(
      fakeEffects(
        { parsable: fixture('core-ultra9-185h-hybrid.lscpu-p.txt'), files: { '/proc/self/status': STATUS_ALL } },
        calls,
      ),
    );
    expect(calls).toEqual([['lscpu', '-p=CPU,CORE,SOCKET,NODE,CACHE,ONLINE,MAXMHZ', '--all']]);
    expect(summarize(topology)).toMatchObject({ cpus: 22, physicalCores: 16 });
    expect(topology.warnings).toEqual([]);
  });

  it('falls back to lscpu -J, says so, and restricts to Cpus_allowed_list', async () => {
    const topology = await detectTopology(
      fakeEffects({
        json: fixture('gh200x4-grace-288c-36node.lscpu-J.json'),
        files: { '/proc/self/status': 'Cpus_allowed_list:\t72-143\n' },
      }),
    );
    expect(topology.source).toBe('lscpu -J');
    expect(topology.cpus.map((cpu) => cpu.id)).toEqual(Array.from({ length: 72 }, (_, index) => 72 + index));
    expect(topology.warnings.join('\n')).toMatch(/fell back to lscpu -J/);
    expect(topology.warnings.join('\n')).toMatch(/allows CPUs 72-143 only; 216 of 288 CPUs left out/);
  });

  it('falls back to sysfs when lscpu is missing', async () => {
    const cpu = '/sys/devices/system/cpu';
    const topology = await detectTopology(
      fakeEffects({
        files: {
          [`${cpu}/present`]: '0-1',
          [`${cpu}/cpu0/topology/thread_siblings_list`]: '0',
          [`${cpu}/cpu1/topology/thread_siblings_list`]: '1',
        },
      }),
    );
    expect(topology.source).toBe('/sys/devices/system');
    expect(summarize(topology)).toMatchObject({ cpus: 2, physicalCores: 2 });
  });

  it('names every failed attempt and topology.file when nothing works', async () => {
    const detection = detectTopology(fakeEffects({}));
    await expect(detection).rejects.toThrow(TopologyError);
    await expect(detectTopology(fakeEffects({}))).rejects.toThrow(/lscpu -J: spawn lscpu ENOENT.*topology\.file/);
  });
});

describe('process affinity', () => {
  it('reads Cpus_allowed_list from /proc/self/status', () => {
    expect(parseCpusAllowedList(STATUS_ALL)).toEqual(Array.from({ length: 22 }, (_, index) => index));
    expect(parseCpusAllowedList('Name:\tx\n')).toBeNull();
  });

  it('excludes CPU 0 when the cpuset does', async () => {
    const topology = await loadTopologyFile(`${FIXTURE_DIR}ryzen5-4600h-adjacent-smt.lscpu-e.txt`);
    const restricted = restrictToAffinity(topology, () => 'Cpus_allowed_list:\t1-11\n');
    expect(restricted.cpus.map((cpu) => cpu.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });
});

describe('loadTopologyFile', () => {
  it('auto-detects the form of a recorded file', async () => {
    const topology = await loadTopologyFile(`${FIXTURE_DIR}epyc-7451-2s-smt-8node.lscpu-p.txt`);
    expect(summarize(topology)).toMatchObject({ cpus: 96, physicalCores: 48, nodes: 8 });
    expect(topology.source).toContain('epyc-7451-2s-smt-8node.lscpu-p.txt');
  });

  it('names the key and the file it cannot read', async () => {
    await expect(loadTopologyFile('/no/such/lscpu.txt')).rejects.toThrow(
      /topology\.file: cannot read '\/no\/such\/lscpu\.txt' \(ENOENT\)/,
    );
  });
});
