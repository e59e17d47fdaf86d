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
# The verdict tests expect B faster than A (from the directories and from the summary CSVs), C no
# different from A (from the directories and from the results CSVs), E slower than C by 1-5%. The
# mock's calls are timed for real, so a busy machine (load above its cores) skews them, means
# more than medians: the script checks its result at the end and exits 1 when an expectation does
# not hold; rerun it when the machine is quieter.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
OUT=test/fixtures/results
# The sets only: README.md beside them stays.
rm -rf "$OUT"/{A,B,C,D,E,F}
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
# Keep at most 400 calls per instance: plenty for the tests, and the fixtures stay small. The
# summaries in results.json and results.csv were computed from all calls and are left as recorded.
node --input-type=module -e '
import { readFileSync, writeFileSync } from "node:fs";
import { execSync } from "node:child_process";
for (const f of execSync("find test/fixtures/results -name results.json").toString().trim().split("\n")) {
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
expect("C no different from A (directories)", "A", "C", {}, (m) => m.verdict === "no significant difference");
expect("C no different from A (results.csv)", "A/4/results.csv", "C/results.csv", {}, (m) => m.verdict === "no significant difference");
expect("E 1-5% slower than C", "C", "E", machines, (m) => m.verdict === "slower" && m.ratio > 1.01 && m.ratio < 1.05);
if (problems.length > 0) {
  console.error(`make-report-fixtures: the machine was too busy for these results (load ${(await import("node:os")).loadavg()[0].toFixed(1)}); rerun when it is quieter:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}'
