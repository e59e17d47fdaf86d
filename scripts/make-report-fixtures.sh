#!/usr/bin/env bash
# Regenerates test/fixtures/results/: small recorded result sets for the compare and report tests,
# made with the mock backend (latency = FLOPs / (backend.gflops_per_thread x threads), lognormal
# noise of CV backend.cv seeded by `seed`), so they are small, fast to make and need no model.
#   A  sweep, "machine A" (10 GFLOP/s per thread): threads 1,2 x sequence 32,128,256
#   B  sweep, "machine B" (12 GFLOP/s per thread, 1.2x faster): threads 1,2 x sequence 32,128,512
#   C  one run like A's (threads 2, sequence 128) with another seed: no real difference to A
#   D  sweep, batch-size scaling: total batch 2 split over 1 or 2 instances x sequence 32,128, with
#      experiment_name='<script>alert(1)</script>' for the escaping tests
#   E  C's run on "machine E" (9.7 GFLOP/s per thread): about 3% slower than C, significantly, but
#      under a 5% --fail-on-regression threshold
#   F  a dispatch run (+experiment=smart-dispatch, 200 requests/s for 1 s): two pinned 1-core pools
#      against two length-blind instances; needs 2 usable cores
# Sets of 5 repetitions each (sequence 32,128), whose repetitions differ as real runs do: the mock
# scales each repetition's latencies by a seeded lognormal factor of CV backend.run_cv=0.03:
#   reps-base       "machine A" (5 GFLOP/s per thread), seed 20
#   reps-same       the same config, seed 21: an A/A pair with reps-base
#   reps-slower     4.545 GFLOP/s per thread: 10% more time per call than reps-base, seed 22
#   reps-disturbed  reps-same with every repetition marked disturbed (a synthetic edit: each
#                   instance's interference set to 30% of its CPUs, the files rewritten by bench's
#                   own writers), so the pair with reps-base rests on disturbed data only
# Single-repetition sets are compared against the noise floor (10%): B is beyond it, C and E within.
# The verdict tests expect B faster than A (from the directories and from the summary CSVs), C and E
# within noise of A and C, reps-same no different from reps-base, reps-slower slower by 6-14%,
# reps-disturbed inconclusive. The mock's calls are timed for real, so a busy machine (load above its
# cores) skews them and marks them disturbed: the script checks its result at the end and exits 1
# when an expectation does not hold; rerun it when the machine is quieter.
# V1 is a run recorded before repetitions existed (schema without `repetitions`), kept as it was to
# test that such files are still read; the script leaves it alone.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
OUT=test/fixtures/results
# The sets only: README.md beside them stays.
rm -rf "$OUT"/{A,B,C,D,E,F,reps-base,reps-same,reps-slower,reps-disturbed}
mkdir -p "$OUT"
COMMON=(backend=mock model=bert-tiny benchmark_duration=0.2 warmup_runs=2)
bench() { node bin/bench.js "$@" >/dev/null; }
bench -m "${COMMON[@]}" backend.gflops_per_thread=10 seed=1 backend.num_threads=1,2 sequence_length=32,128,256 hydra.sweep.dir=$OUT/A
bench -m "${COMMON[@]}" backend.gflops_per_thread=12 seed=2 backend.num_threads=1,2 sequence_length=32,128,512 hydra.sweep.dir=$OUT/B
bench "${COMMON[@]}" backend.gflops_per_thread=10 seed=3 backend.num_threads=2 sequence_length=128 hydra.run.dir=$OUT/C
bench -m "${COMMON[@]}" backend.gflops_per_thread=10 "experiment_name='<script>alert(1)</script>'" \
  launcher.split_batch=true batch_size=2 launcher.num_instances=1,2 sequence_length=32,128 hydra.sweep.dir=$OUT/D
bench backend=mock model=bert-tiny benchmark_duration=0.5 warmup_runs=2 backend.gflops_per_thread=9.7 seed=4 backend.num_threads=2 sequence_length=128 hydra.run.dir=$OUT/E
bench +experiment=smart-dispatch model=bert-tiny backend=mock benchmark_duration=1 scenario.arrival.rate_per_s=200 seed=5 hydra.run.dir=$OUT/F
REPS=(backend=mock model=bert-tiny benchmark_duration=0.2 warmup_runs=2 repetitions=5 backend.run_cv=0.03 sequence_length=32,128)
bench -m "${REPS[@]}" backend.gflops_per_thread=5 seed=20 hydra.sweep.dir=$OUT/reps-base
bench -m "${REPS[@]}" backend.gflops_per_thread=5 seed=21 hydra.sweep.dir=$OUT/reps-same
bench -m "${REPS[@]}" backend.gflops_per_thread=4.545 seed=22 hydra.sweep.dir=$OUT/reps-slower
cp -r $OUT/reps-same $OUT/reps-disturbed
node --input-type=module -e '
import { readFileSync, writeFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { summarizeRepetitions } from "./dist/results/repetitions.js";
import { writeRunResults, writeSweepSummary } from "./dist/results/write.js";
const dir = "test/fixtures/results/reps-disturbed";
const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")).filter((r) => r.row === "job");
const rows = [];
for (const job of summary) {
  const file = join(dir, job.dir, "results.json");
  const r = JSON.parse(readFileSync(file, "utf8"));
  for (const i of r.instances) {
    const w = i.interference ?? { cpus: i.cpus ?? [0], window_ms: i.window_ms, own_cpu_ms: 0 };
    i.interference = { ...w, cpus_busy_ms: 0.3 * w.window_ms * w.cpus.length, others_share: 0.3 };
  }
  r.repetitions = r.repetitions.map((rep) => ({ ...rep, disturbed: true }));
  r.repetition_summary = summarizeRepetitions(r.repetitions, r.repetition_summary.planned);
  r.output_dir = join(process.cwd(), dir, job.dir);
  writeRunResults(r.output_dir, r);
  rows.push({ job: job.job, status: r.status, dir: job.dir, overrides: job.overrides.split(" "), result: r, error: null });
}
writeSweepSummary(dir, rows);
'
# Keep at most 400 calls per instance: plenty for the tests, and the fixtures stay small. The
# summaries in results.json and results.csv were computed from all calls and are left as recorded.
node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
import { execSync } from "node:child_process";
for (const f of execSync("find test/fixtures/results -name results.json -not -path \"*/V1/*\"").toString().trim().split("\n")) {
  const r = JSON.parse(readFileSync(f, "utf8"));
  for (const i of r.instances) i.latencies_ms = i.latencies_ms.slice(0, 400);
  writeFileSync(f, JSON.stringify(r, null, 1) + "\n");
}'
du -sh "$OUT"
# What the tests rely on.
node --input-type=module -e '
import { loadResultSet } from "./dist/report/load.js";
import { compareSets } from "./dist/report/compare.js";
const F = "test/fixtures/results";
const machines = { ignore: ["backend.gflops_per_thread"] };
const problems = [];
const expect = (what, a, b, opts, ok) => {
  const cmp = compareSets(loadResultSet(`${F}/${a}`), loadResultSet(`${F}/${b}`), opts);
  const got = cmp.matched.map((m) => `${m.verdict} ${m.ratio.toFixed(3)}`);
  if (cmp.matched.length === 0 || !cmp.matched.every(ok)) problems.push(`${what}: ${got.join(", ") || "nothing matched"}`);
};
const faster = (m) => m.verdict === "faster" && m.ratio > 0.78 && m.ratio < 0.88;
expect("B faster than A (directories)", "A", "B", machines, faster);
expect("B faster than A (summary.csv)", "A/summary.csv", "B/summary.csv", machines, faster);
expect("C within noise of A (directories)", "A", "C", {}, (m) => m.verdict === "within noise");
expect("C within noise of A (results.csv)", "A/4/results.csv", "C/results.csv", {}, (m) => m.verdict === "within noise");
expect("E 1-5% slower than C, within noise", "C", "E", machines, (m) => m.verdict === "within noise" && m.ratio > 1.01 && m.ratio < 1.05);
const tested = (m) => m.basis === "repetitions" && m.a.used === 5 && m.b.used === 5;
expect("reps-same no different from reps-base", "reps-base", "reps-same", {}, (m) => tested(m) && m.verdict === "no significant difference");
expect("reps-same no different (summary.csv)", "reps-base/summary.csv", "reps-same/summary.csv", {}, (m) => tested(m) && m.verdict === "no significant difference");
expect("reps-slower 6-14% slower", "reps-base", "reps-slower", machines, (m) => tested(m) && m.verdict === "slower" && m.ratio > 1.06 && m.ratio < 1.14);
expect("reps-disturbed inconclusive", "reps-base", "reps-disturbed", {}, (m) => m.verdict === "inconclusive");
if (problems.length > 0) {
  console.error(`make-report-fixtures: the machine was too busy for these results (load ${(await import("node:os")).loadavg()[0].toFixed(1)}); rerun when it is quieter:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}'
