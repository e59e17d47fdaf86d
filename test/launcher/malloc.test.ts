/**
 * launcher.malloc: jemalloc and tcmalloc preloaded into each child, and each child's own maps
 * saying which allocator it really had. The run needs Debian's libjemalloc2 and
 * libtcmalloc-minimal4 (.ci/run installs them); where either is missing it is skipped, saying why.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AllocatorMissing, allocatorEnv, findAllocator, mappedAllocator } from '../../src/launcher/malloc.js';
import { bench, freshDir } from '../helpers.js';

describe('finding and preloading an allocator', () => {
  it('finds the library by path, preloads it before what was preloaded, names the package when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-libs-'));
    writeFileSync(join(dir, 'libjemalloc.so.2'), '');
    expect(findAllocator('jemalloc', [dir])).toBe(join(dir, 'libjemalloc.so.2'));
    expect(allocatorEnv('jemalloc', {}, true, [dir])).toEqual({ LD_PRELOAD: join(dir, 'libjemalloc.so.2') });
    expect(allocatorEnv('jemalloc', { LD_PRELOAD: '/x.so' }, true, [dir])).toEqual({
      LD_PRELOAD: `${join(dir, 'libjemalloc.so.2')}:/x.so`,
    });
    expect(allocatorEnv('glibc', {}, true, [dir])).toEqual({});
    expect(() => allocatorEnv('tcmalloc', {}, true, [dir])).toThrow(AllocatorMissing);
    expect(() => allocatorEnv('tcmalloc', {}, true, [dir])).toThrow('apt-get install libtcmalloc-minimal4');
    // A plan for another machine names the library by its soname, for that machine's loader.
    expect(allocatorEnv('tcmalloc', {}, false, [dir])).toEqual({ LD_PRELOAD: 'libtcmalloc_minimal.so.4' });
  });

  it('reads the allocator a process has mapped from its maps', () => {
    const maps = [
      '7f0000000000-7f0000001000 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6',
      '7f0000002000-7f0000003000 r-xp 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
    ].join('\n');
    expect(mappedAllocator(maps)).toBe('/usr/lib/x86_64-linux-gnu/libjemalloc.so.2');
    expect(mappedAllocator(maps.split('\n')[0])).toBe('glibc');
    expect(mappedAllocator()).toBe('glibc');
  });
});

const missing = (['jemalloc', 'tcmalloc'] as const).filter((m) => findAllocator(m) === null);
const why =
  missing.length > 0
    ? `${missing.join(' and ')} not installed (apt-get install libjemalloc2 libtcmalloc-minimal4)`
    : null;
if (why) console.warn(`allocator runs skipped: ${why}`);

describe.skipIf(why !== null)('a sweep over allocators', () => {
  it('-m launcher.malloc=glibc,jemalloc,tcmalloc: each child really ran with its allocator (its maps)', () => {
    const cwd = freshDir();
    const dir = join(cwd, 'malloc');
    const r = bench(
      [
        '-m',
        'model=bert-tiny',
        'sequence_length=32',
        'benchmark_duration=0.2',
        'warmup_runs=1',
        'launcher.num_instances=2',
        'launcher.malloc=glibc,jemalloc,tcmalloc',
        `hydra.sweep.dir=${dir}`,
      ],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    const allocators = [0, 1, 2].map((job) => {
      const result = JSON.parse(readFileSync(join(dir, String(job), 'results.json'), 'utf8')) as {
        instances: { allocator: string }[];
        plan: { env: Record<string, string> };
      };
      return { mapped: result.instances.map((i) => i.allocator), preload: result.plan.env.LD_PRELOAD };
    });
    expect(allocators[0]).toEqual({ mapped: ['glibc', 'glibc'], preload: undefined });
    expect(allocators[1]!.mapped.every((a) => /libjemalloc\.so/.test(a))).toBe(true);
    expect(allocators[1]!.preload).toBe(findAllocator('jemalloc'));
    expect(allocators[2]!.mapped.every((a) => /libtcmalloc/.test(a))).toBe(true);
    // bench plan shows the preload.
    const plan = bench(['plan', 'launcher.malloc=jemalloc'], { cwd });
    expect(plan.stdout).toContain(`LD_PRELOAD=${findAllocator('jemalloc')}`);
  });

  it("a dispatch run's serving instances record the allocator they had too", () => {
    const cwd = freshDir();
    const r = bench(
      [
        'backend=mock',
        'model=bert-tiny',
        'scenario=dispatch',
        'scenario.requests=10',
        'scenario.arrival.rate_per_s=400',
        'warmup_runs=0',
        'launcher.malloc=tcmalloc',
        `hydra.run.dir=${join(cwd, 'run')}`,
      ],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(cwd, 'run', 'results.json'), 'utf8')) as {
      instances: { allocator?: string }[];
      dispatch: { dispatched: { instances: { allocator?: string }[] } };
    };
    expect(result.instances.length).toBeGreaterThan(0);
    expect(result.instances.every((i) => /libtcmalloc/.test(i.allocator ?? ''))).toBe(true);
    expect(result.dispatch.dispatched.instances.every((i) => /libtcmalloc/.test(i.allocator ?? ''))).toBe(true);
  });
});
