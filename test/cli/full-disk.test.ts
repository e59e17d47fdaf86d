/**
 * A full disk does not lose a measurement: on a tiny tmpfs, a run whose results cannot be written
 * prints them on stdout as JSON, says why in one line and exits 1; a sweep marks such jobs errored
 * and goes on to the next. Needs root and tmpfs (mount); elsewhere skipped, saying why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const mounts: string[] = [];

/** A fresh tmpfs of `kib` KiB, or the reason there is none. */
function tinyDisk(kib: number): string | { skip: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return { skip: `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()})` };
  }
  mounts.push(dir);
  return dir;
}

const probe = tinyDisk(16);
const why = typeof probe === 'string' ? null : probe.skip;
if (why) console.warn(`full-disk tests skipped: ${why}`);

afterAll(() => {
  for (const m of mounts) spawnSync('umount', [m]);
});

const FAST = ['backend=mock', 'model=bert-tiny', 'benchmark_duration=0.3', 'warmup_runs=1'];

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000 });
}

/** The result objects printed as JSON lines on stdout. */
const printed = (stdout: string): { status: string; instances: { latency: { count: number } }[] }[] =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { status: string; instances: { latency: { count: number } }[] });

describe.skipIf(why !== null)('a full disk', () => {
  it('a single run prints the measurement it could not write, exit 1, no stack trace', () => {
    const disk = tinyDisk(24) as string;
    const r = run([...FAST, `hydra.run.dir=${join(disk, 'run')}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the results could not be written to \S+ \(ENOSPC: no space left on device/);
    expect(r.stderr).toContain('the measurement follows on stdout as one line of JSON');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const [result] = printed(r.stdout);
    expect(result!.status).toBe('errored');
    expect(result!.instances[0]!.latency.count).toBeGreaterThan(0);
  });

  it('a sweep marks the jobs it could not write errored and goes on to the next', () => {
    const disk = tinyDisk(64) as string;
    const r = run(['-m', ...FAST, 'batch_size=1,2,4', `hydra.sweep.dir=${join(disk, 'sweep')}`]);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
    // Every job was tried, in order; each one that measured and could not write printed its result.
    for (const k of [1, 2, 3]) expect(r.stdout).toContain(`[${k}/3]`);
    const results = printed(r.stdout);
    expect(results.length).toBeGreaterThan(0);
    for (const x of results) expect(x.instances[0]!.latency.count).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/bench: \d of 3 jobs ok/);
  });

  it('a tune prints each measurement it could not write, then its outcome, and says which files it lost', () => {
    const disk = tinyDisk(48) as string;
    const r = run([
      'tune',
      ...FAST,
      'tune.min_duration_s=0.2',
      'tune.strategy=grid',
      'tune.final_repetitions=1',
      `hydra.sweep.dir=${join(disk, 'tune')}`,
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).not.toMatch(/\n\s+at |unexpected error/);
    // The trials' measurements that could not be written are on stdout, each one line of JSON.
    expect(r.stderr).toContain('the measurement follows on stdout as one line of JSON');
    const measured = printed(r.stdout).filter((p) => p.instances !== undefined);
    expect(measured.length).toBeGreaterThan(0);
    for (const x of measured) expect(x.instances[0]!.latency.count).toBeGreaterThan(0);
    // Which tune files were lost depends on how far the disk lasted; each one lost is named, and
    // then the outcome is printed too.
    if (/bench: could not write (summary\.csv|tune\.json|tune\.csv)/.test(r.stderr)) {
      const outcome = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { kind?: string; trials?: unknown[] })
        .find((x) => x.kind === 'tune');
      expect(outcome?.trials?.length).toBeGreaterThan(0);
    }
  });

  it('a run that cannot even write its config stops in one line before measuring', () => {
    const disk = tinyDisk(4) as string;
    const r = run([...FAST, `hydra.run.dir=${join(disk, 'run')}`]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^cannot write \S+\.hydra: ENOSPC: .*; free some space or choose another hydra\.run\.dir$/,
    );
  });
});
