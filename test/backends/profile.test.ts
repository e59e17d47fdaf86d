/**
 * backend.profile=true: ONNX Runtime's profiler over the timed calls, summarized per operator type
 * and node, in results.json, the terminal and bench report; bench compare keeps profiled runs
 * apart from unprofiled ones.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeTrace } from '../../src/backends/onnxruntime/profile.js';
import type { ProfileSummary } from '../../src/backends/types.js';
import { bench, freshDir } from '../helpers.js';

describe('summarizeTrace', () => {
  it('keeps only the timed calls and sums kernel time per operator type and node', () => {
    const run = (ts: number, dur: number) => ({ cat: 'Session', name: 'model_run', ts, dur });
    const node = (name: string, op: string, ts: number, dur: number) => ({
      cat: 'Node',
      name: `${name}_kernel_time`,
      ts,
      dur,
      args: { op_name: op },
    });
    const events = [
      run(0, 100), // the cold call: left out
      node('mm1', 'MatMul', 10, 90),
      run(200, 50),
      node('mm1', 'MatMul', 210, 30),
      node('ln', 'LayerNormalization', 240, 10),
      run(300, 50),
      node('mm1', 'MatMul', 310, 30),
      node('ln', 'LayerNormalization', 340, 10),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'bench-trace-')), 't.json');
    writeFileSync(file, JSON.stringify(events));
    const s = summarizeTrace(file, 1);
    expect(s).toMatchObject({ calls: 2, run_ms: 0.1, kernel_ms: 0.08 });
    expect(s.by_op).toEqual([
      { op: 'MatMul', ms: 0.06, share: 0.75, count: 2 },
      { op: 'LayerNormalization', ms: 0.02, share: 0.25, count: 2 },
    ]);
    expect(s.top_nodes[0]).toMatchObject({ node: 'mm1', op: 'MatMul', share: 0.75 });
  });
});

describe('a profiled run', () => {
  it('records the operator table of its timed calls, says so, and renders it; compare keeps it apart', () => {
    const cwd = freshDir();
    const common = ['model=bert-tiny', 'sequence_length=32', 'benchmark_duration=0.3', 'warmup_runs=2'];
    const r = bench([...common, 'backend.profile=true', 'backend.profile_calls=15', 'hydra.run.dir=prof'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ {2}profile {3}\S+ [\d.]+% · .* ms kernel time per call \(15 timed calls\)/);
    const result = JSON.parse(readFileSync(join(cwd, 'prof', 'results.json'), 'utf8')) as {
      instances: { profile: ProfileSummary; iterations: number }[];
      warnings: string[];
    };
    const p = result.instances[0]!.profile;
    expect(p.calls).toBe(15);
    expect(result.instances[0]!.iterations).toBeGreaterThan(15);
    expect(p.by_op.reduce((s, o) => s + o.share, 0)).toBeCloseTo(1, 6);
    expect(p.by_op.map((o) => o.op)).toEqual(expect.arrayContaining(['Attention', 'MatMul']));
    expect(existsSync(join(cwd, 'prof', p.file))).toBe(true);
    expect(result.warnings.join(' ')).toContain(
      "backend.profile=true: ONNX Runtime's profiler recorded the timed calls",
    );
    // The report has the table.
    const rep = bench(['report', join(cwd, 'prof')], { cwd });
    expect(rep.code, rep.stderr).toBe(0);
    const md = readFileSync(join(cwd, 'prof', 'report.md'), 'utf8');
    expect(md).toContain('## Operator profiles');
    expect(md).toMatch(/\| Attention +\|/);
    // Not compared with an unprofiled run unless asked.
    expect(bench([...common, 'hydra.run.dir=plain'], { cwd }).code).toBe(0);
    const cmp = bench(['compare', 'plain', 'prof'], { cwd });
    expect(cmp.code).toBe(2);
    expect(cmp.stderr).toContain('was measured with backend.profile=true');
    expect(bench(['compare', 'plain', 'prof', '--allow-profiled'], { cwd }).code).toBe(0);
  });

  it('is refused for a dispatch run, before any folder, naming the way', () => {
    const r = bench(['model=bert-tiny', 'backend.profile=true', 'scenario=dispatch', 'benchmark_duration=0.2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('backend.profile=true profiles the timed calls of the latency scenario');
    expect(r.stderr).toContain('use scenario=latency');
    expect(existsSync(join(r.cwd, 'outputs'))).toBe(false);
  });

  it('several instances and repetitions: a trace and a profile each; more calls asked than timed is fine', () => {
    const cwd = freshDir();
    const r = bench(
      [
        'model=bert-tiny',
        'sequence_length=16',
        'benchmark_duration=0.2',
        'warmup_runs=1',
        'launcher.num_instances=2',
        'repetitions=2',
        'backend.profile=true',
        'backend.profile_calls=100000',
        'hydra.run.dir=multi',
      ],
      { cwd },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(readFileSync(join(cwd, 'multi', 'results.json'), 'utf8')) as {
      instances: { index: number; repetition: number; iterations: number; profile: ProfileSummary }[];
    };
    expect(result.instances).toHaveLength(4);
    for (const i of result.instances) {
      // Every timed call (fewer than asked for): the profiler ended when the instance reported.
      expect(i.profile.calls).toBe(i.iterations);
      expect(i.profile.file).toMatch(new RegExp(`^profile/instance-${i.index}-rep${i.repetition}_`));
      expect(existsSync(join(cwd, 'multi', i.profile.file))).toBe(true);
    }
  });
});
