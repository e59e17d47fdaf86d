#!/usr/bin/env node
// Soak test: a 30-job sweep of two pinned instances with faults injected at random into the
// children (crash, exit, hang, garbage on the protocol channel, at load, measure or report time).
// Checks that every job is accounted for in the summary with the right status, that no child is
// left running, and that `bench --resume` (with the faults gone) completes the sweep.
//   node scripts/soak.mjs [JOBS] [SEED]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'bench.js');
const JOBS = Number(process.argv[2] ?? 30);
let seed = Number(process.argv[3] ?? 7);
const random = () => {
  // mulberry32: a repeatable fault pattern for a given seed.
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];

const faults = Array.from({ length: JOBS }, () =>
  random() < 0.4 ? null : { instance: pick([0, 1]), kind: pick(['crash', 'exit', 'hang', 'garbage']), phase: pick(['load', 'measure', 'report']) },
);
const text = (f) => (f === null ? 'null' : `{instance:${f.instance},kind:${f.kind},phase:${f.phase}}`);
const cwd = mkdtempSync(join(tmpdir(), 'bench-soak-'));
const common = ['backend=mock', 'model=bert-tiny', 'benchmark_duration=0.3', 'warmup_runs=1', 'launcher.num_instances=2', 'launcher.start_timeout_s=5', 'launcher.run_timeout_s=3'];

const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};

const t0 = Date.now();
const sweep = spawnSync(process.execPath, [BIN, '-m', `launcher.fault=${faults.map(text).join(',')}`, ...common], { cwd, encoding: 'utf8' });
const sweepSeconds = (Date.now() - t0) / 1000;
const day = join(cwd, 'multirun', readdirSync(join(cwd, 'multirun'))[0]);
const dir = join(day, readdirSync(day)[0]);
const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));

const problems = [];
if (summary.length !== JOBS) problems.push(`summary has ${summary.length} rows, expected ${JOBS}`);
const orphans = [];
summary.forEach((row, k) => {
  const expected = faults[k] === null ? 'ok' : 'errored';
  if (row.status !== expected) problems.push(`job ${k} (${text(faults[k])}) is ${row.status}, expected ${expected}: ${row.error}`);
  const result = JSON.parse(readFileSync(join(dir, row.dir, 'results.json'), 'utf8'));
  orphans.push(...result.process_ids.filter(isAlive));
});
if (orphans.length > 0) problems.push(`children still running: ${orphans.join(', ')}`);
if (sweep.status !== (faults.some((f) => f !== null) ? 1 : 0)) problems.push(`the sweep exited ${sweep.status}`);

const t1 = Date.now();
const resume = spawnSync(process.execPath, [BIN, '--resume', dir], { cwd, encoding: 'utf8', env: { ...process.env, BENCH_DISABLE_FAULTS: '1' } });
const resumeSeconds = (Date.now() - t1) / 1000;
const after = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
if (resume.status !== 0) problems.push(`the resume exited ${resume.status}: ${resume.stderr}`);
if (after.length !== JOBS || after.some((r) => r.status !== 'ok')) problems.push(`after the resume: ${after.filter((r) => r.status !== 'ok').length} jobs not ok`);
const kept = (resume.stdout.match(/kept from the earlier run/g) ?? []).length;

const counts = {};
for (const f of faults) counts[f === null ? 'none' : `${f.kind}@${f.phase}`] = (counts[f === null ? 'none' : `${f.kind}@${f.phase}`] ?? 0) + 1;
process.stdout.write(
  [
    `soak: ${JOBS} jobs, faults ${JSON.stringify(counts)}`,
    `sweep: ${sweepSeconds.toFixed(1)} s, exit ${sweep.status}, ${summary.filter((r) => r.status === 'ok').length} ok / ${summary.filter((r) => r.status === 'errored').length} errored, ${orphans.length} children left running`,
    `resume: ${resumeSeconds.toFixed(1)} s, exit ${resume.status}, ${kept} jobs kept, ${JOBS - kept} re-run, ${after.filter((r) => r.status === 'ok').length}/${JOBS} ok`,
    `sweep directory: ${dir}`,
    problems.length === 0 ? 'soak: PASS' : `soak: FAIL\n  ${problems.join('\n  ')}`,
  ].join('\n') + '\n',
);
process.exitCode = problems.length === 0 ? 0 : 1;
