#!/usr/bin/env bash
# Regenerates test/fixtures/results/: small recorded result sets for the compare and report tests,
# made with the mock backend (latency = FLOPs / (backend.gflops_per_thread x threads), lognormal
# noise of CV backend.cv seeded by `seed`), so they are small, fast to make and need no model.
#   A  sweep, "machine A" (10 GFLOP/s per thread): threads 1,2 x sequence 32,128,256
#   B  sweep, "machine B" (12 GFLOP/s per thread, 1.2x faster): threads 1,2 x sequence 32,128,512
#   C  one run like A's (threads 2, sequence 128) with another seed: no real difference to A
#   D  sweep, batch-size scaling: total batch 2 split over 1 or 2 instances x sequence 32,128, with
#      experiment_name='<script>alert(1)</script>' for the escaping tests
# The verdict tests expect B faster than A, C no different from A: rerun if a noisy machine
# ever makes C differ (check with: node bin/bench.js compare test/fixtures/results/A test/fixtures/results/C).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build --silent
OUT=test/fixtures/results
rm -rf "$OUT"
mkdir -p "$OUT"
COMMON=(backend=mock model=bert-tiny benchmark_duration=0.2 warmup_runs=2)
bench() { node bin/bench.js "$@" >/dev/null; }
bench -m "${COMMON[@]}" backend.gflops_per_thread=10 seed=1 backend.num_threads=1,2 sequence_length=32,128,256 hydra.sweep.dir=$OUT/A
bench -m "${COMMON[@]}" backend.gflops_per_thread=12 seed=2 backend.num_threads=1,2 sequence_length=32,128,512 hydra.sweep.dir=$OUT/B
bench "${COMMON[@]}" backend.gflops_per_thread=10 seed=3 backend.num_threads=2 sequence_length=128 hydra.run.dir=$OUT/C
bench -m "${COMMON[@]}" backend.gflops_per_thread=10 "experiment_name='<script>alert(1)</script>'" \
  launcher.split_batch=true batch_size=2 launcher.num_instances=1,2 sequence_length=32,128 hydra.sweep.dir=$OUT/D
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
