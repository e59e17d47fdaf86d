/**
 * Which wrapper pins the instances when numactl refuses: a container without set_mempolicy is
 * imitated by a numactl on PATH that fails as the real one does there.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveBinding } from '../../src/launcher/binding.js';
import type { PlanInstance } from '../../src/launcher/plan.js';

const first = { cpus: [0], memory_nodes: [0] } as unknown as PlanInstance;

describe('resolveBinding when numactl refuses to bind', () => {
  const saved = process.env.PATH;
  beforeEach(() => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-numactl-'));
    const fake = join(dir, 'numactl');
    writeFileSync(fake, '#!/bin/sh\necho "set_mempolicy: Operation not permitted" >&2\nexit 1\n');
    chmodSync(fake, 0o755);
    process.env.PATH = `${dir}${delimiter}${saved ?? ''}`;
  });
  afterEach(() => {
    process.env.PATH = saved;
  });

  it('falls back to taskset; warns only where memory binding mattered (more than one NUMA node)', async () => {
    const one = await resolveBinding('auto', first, 1);
    expect(one).toEqual({ kind: 'taskset', warnings: [] });
    const two = await resolveBinding('auto', first, 2);
    expect(two.kind).toBe('taskset');
    expect(two.warnings).toHaveLength(1);
    expect(two.warnings[0]).toContain('numactl refused to bind (set_mempolicy: Operation not permitted)');
    await expect(resolveBinding('numactl', first, 1)).rejects.toThrow(
      "launcher.binding=numactl: numactl refused 'numactl -C 0 -m 0'",
    );
  });
});
