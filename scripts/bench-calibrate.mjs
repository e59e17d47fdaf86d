#!/usr/bin/env node
// How often does `bench compare --fail-on-regression` cry wolf, and how often does it catch a real
// slowdown? Measured on this machine with real ONNX Runtime runs, the way CI uses the gate: a
// baseline run, then a candidate run (separate bench invocations, one after the other), compared.
//   A/A pairs: the same config twice. A failed gate is a false positive.
//   A/B pairs: B does about 10% more work per call (sequence_length 128 -> 141, 10% more tokens),
//              compared with --ignore sequence_length. Detected when the verdict is "slower".
// Pairs are interleaved (A/A, A/B, A/A, ...) so a drift of the machine hits both kinds alike.
// From the same runs, without measuring again: each pair's first repetitions alone, as if run with
// repetitions=1, compared against the noise floor (the gate without repetitions), and the spread
// of single-run ratios that sets the default noise floor (its 95th percentile).
//   npm run bench:calibrate
//   BENCH_CAL_MODEL=bert-tiny BENCH_CAL_REPS=5 BENCH_CAL_SECONDS=0.5 BENCH_CAL_AA=20 BENCH_CAL_AB=10
//   BENCH_CAL_THRESHOLD=5% npm run bench:calibrate
// Targets (issue 14): false-positive rate <= 5% over >= 20 A/A pairs, detection >= 80% over >= 10
// A/B pairs, at the default CI repetitions. Prints both rates; writes outputs/bench-calibrate.json.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(root, 'bin', 'bench.js');
const MODEL = process.env.BENCH_CAL_MODEL ?? 'bert-tiny';
const REPS = Number(process.env.BENCH_CAL_REPS ?? 5);
const SECONDS = Number(process.env.BENCH_CAL_SECONDS ?? 0.5);
const AA = Number(process.env.BENCH_CAL_AA ?? 20);
const AB = Number(process.env.BENCH_CAL_AB ?? 10);
const THRESHOLD = process.env.BENCH_CAL_THRESHOLD ?? '5%';
const SEQ_A = 128;
const SEQ_B = 141;
const log = (msg) => process.stderr.write(`${msg}\n`);
const { compareSets, DEFAULT_NOISE_FLOOR } = await import(join(root, 'dist', 'report', 'compare.js'));
const { loadResultSet } = await import(join(root, 'dist', 'report', 'load.js'));

const work = mkdtempSync(join(tmpdir(), 'bench-calibrate-'));
let runs = 0;
/** One ordinary bench run of `repetitions=REPS`; returns its directory. */
function run(sequenceLength) {
  const dir = join(work, `run-${++runs}`);
  execFileSync(
    process.execPath,
    [
      BIN,
      `model=${MODEL}`,
      `sequence_length=${sequenceLength}`,
      `benchmark_duration=${SECONDS}`,
      `repetitions=${REPS}`,
      `hydra.run.dir=${dir}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return dir;
}

/** `bench compare A B --fail-on-regression`: the gate's exit code and the row's verdict. */
function gate(a, b) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'compare', a, b, '--ignore', 'sequence_length', '--fail-on-regression', THRESHOLD, '--format', 'json'],
    { encoding: 'utf8' },
  );
  if (r.status === 2) throw new Error(`bench compare failed: ${r.stderr}`);
  const m = JSON.parse(r.stdout).matched[0];
  return {
    exit: r.status,
    verdict: m.verdict,
    basis: m.basis,
    ratio: m.ratio,
    lo: m.ratio_lo,
    hi: m.ratio_hi,
    p_value: m.p_value,
  };
}

/** The same pair judged on each side's first repetition only (a run of repetitions=1). */
function firstRepetitions(a, b) {
  const only = (set) => ({
    ...set,
    rows: set.rows.map((row) => ({ ...row, repetitions: row.repetitions.slice(0, 1) })),
  });
  const cmp = compareSets(only(loadResultSet(a)), only(loadResultSet(b)), { ignore: ['sequence_length'] });
  const m = cmp.matched[0];
  const threshold = Number.parseFloat(THRESHOLD) / 100;
  const regression = m.verdict === 'slower' && m.ratio > 1 + threshold + cmp.noise_floor;
  return { verdict: m.verdict, ratio: m.ratio, regression };
}

const started = Date.now();
const load = [loadavg()[0]];
const pairs = [];
const kinds = [
  ...Array.from({ length: Math.max(AA, AB) }, (_, k) => [...(k < AA ? ['A/A'] : []), ...(k < AB ? ['A/B'] : [])]),
].flat();
for (const [k, kind] of kinds.entries()) {
  const a = run(SEQ_A);
  const b = run(kind === 'A/A' ? SEQ_A : SEQ_B);
  const g = gate(a, b);
  const single = firstRepetitions(a, b);
  pairs.push({ kind, gate: g, single, a, b });
  log(
    `[${k + 1}/${kinds.length}] ${kind}: ${g.verdict} (${g.basis}) ratio ${g.ratio.toFixed(4)} [${g.lo?.toFixed(4)}, ${g.hi?.toFixed(4)}] exit ${g.exit}; first repetitions alone: ${single.verdict} ${single.ratio.toFixed(4)}`,
  );
}
load.push(loadavg()[0]);

const of = (kind) => pairs.filter((p) => p.kind === kind);
const rate = (xs, test) => (xs.length === 0 ? null : xs.filter(test).length / xs.length);
const quantile = (xs, q) => {
  const s = [...xs].sort((x, y) => x - y);
  const h = (s.length - 1) * q;
  return s[Math.floor(h)] + (h - Math.floor(h)) * ((s[Math.ceil(h)] ?? s[Math.floor(h)]) - s[Math.floor(h)]);
};
const aa = of('A/A');
const ab = of('A/B');
const singleDrift = aa.map((p) => Math.abs(Math.log(p.single.ratio)));
const result = {
  measured_at: new Date().toISOString(),
  command: 'npm run bench:calibrate',
  model: MODEL,
  repetitions: REPS,
  benchmark_duration_s: SECONDS,
  threshold: THRESHOLD,
  sequence_lengths: { a: SEQ_A, b: SEQ_B },
  load_average: { start: load[0], end: load[1] },
  elapsed_s: (Date.now() - started) / 1000,
  with_repetitions: {
    aa_pairs: aa.length,
    false_positive_rate: rate(aa, (p) => p.gate.exit === 1),
    aa_called_different: rate(aa, (p) => p.gate.verdict === 'slower' || p.gate.verdict === 'faster'),
    aa_inconclusive: rate(aa, (p) => p.gate.exit === 3),
    ab_pairs: ab.length,
    detection_rate: rate(ab, (p) => p.gate.verdict === 'slower'),
    ab_gate_failed: rate(ab, (p) => p.gate.exit === 1),
    ab_ratio_median:
      ab.length > 0
        ? quantile(
            ab.map((p) => p.gate.ratio),
            0.5,
          )
        : null,
  },
  first_repetition_only: {
    noise_floor: DEFAULT_NOISE_FLOOR,
    false_positive_rate: rate(aa, (p) => p.single.regression),
    aa_called_different: rate(aa, (p) => p.single.verdict === 'slower' || p.single.verdict === 'faster'),
    detection_rate: rate(ab, (p) => p.single.verdict === 'slower'),
    // The change single runs of one config show between them: what a noise floor must cover.
    aa_abs_change_p50: aa.length > 0 ? Math.exp(quantile(singleDrift, 0.5)) - 1 : null,
    aa_abs_change_p95: aa.length > 0 ? Math.exp(quantile(singleDrift, 0.95)) - 1 : null,
    aa_abs_change_max: aa.length > 0 ? Math.exp(Math.max(...singleDrift)) - 1 : null,
  },
  targets: { false_positive_rate_max: 0.05, detection_rate_min: 0.8 },
  pairs: pairs.map(({ kind, gate: g, single }) => ({ kind, ...g, first_repetition_only: single })),
};
const pass = result.with_repetitions.false_positive_rate <= 0.05 && result.with_repetitions.detection_rate >= 0.8;
mkdirSync(join(root, 'outputs'), { recursive: true });
writeFileSync(join(root, 'outputs', 'bench-calibrate.json'), `${JSON.stringify({ ...result, pass }, null, 1)}\n`);
const pctText = (x) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
const w = result.with_repetitions;
const s = result.first_repetition_only;
process.stdout.write(
  [
    `bench:calibrate: ${MODEL}, ${SECONDS} s x ${REPS} repetitions per run, --fail-on-regression ${THRESHOLD}; load ${load[0].toFixed(2)} -> ${load[1].toFixed(2)}; ${result.elapsed_s.toFixed(0)} s`,
    `  with ${REPS} repetitions: false positives ${pctText(w.false_positive_rate)} of ${w.aa_pairs} A/A pairs (target <= 5%; called different ${pctText(w.aa_called_different)}, inconclusive ${pctText(w.aa_inconclusive)})`,
    `                  detection ${pctText(w.detection_rate)} of ${w.ab_pairs} A/B pairs (target >= 80%; gate failed ${pctText(w.ab_gate_failed)}; median B/A ${w.ab_ratio_median?.toFixed(3)})`,
    `  first repetition only (noise floor ${pctText(s.noise_floor)}): false positives ${pctText(s.false_positive_rate)}, detection ${pctText(s.detection_rate)}`,
    `  single-run A/A change: median ${pctText(s.aa_abs_change_p50)}, 95th percentile ${pctText(s.aa_abs_change_p95)}, max ${pctText(s.aa_abs_change_max)}`,
    `  ${pass ? 'PASS' : 'FAIL'}; details in outputs/bench-calibrate.json`,
    '',
  ].join('\n'),
);
process.exitCode = pass ? 0 : 1;
