"""A bare PyTorch latency loop: the module and weights bench's PyTorch runtime builds, and nothing of
bench around it (no Node child, no requests), for scripts/bench-pytorch.mjs to compare against.

    python3 scripts/bare-torch.py WEIGHTS ARCH_JSON THREADS SECONDS WARMUP
Prints one JSON line: the mean and median latency in ms, calls, and samples per second.
"""
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "backends", "pytorch"))
import runtime  # noqa: E402  (bench's module definition and weight reader, nothing else)
import torch  # noqa: E402

weights, arch_json, threads, seconds, warmup = sys.argv[1:6]
arch = json.loads(arch_json)
torch.set_num_threads(int(threads))
torch.set_num_interop_threads(1)
model = runtime.build_encoder(arch).eval()
runtime.load_weights(model, arch, runtime.read_weights(weights))

random.seed(1)
s = 128
ids = torch.tensor([[random.randrange(1000, arch["vocab_size"]) for _ in range(s)]], dtype=torch.long)
inputs = (ids, torch.ones_like(ids)) + (() if arch["model_type"] == "distilbert" else (torch.zeros_like(ids),))

times = []
with torch.inference_mode():
    for _ in range(int(warmup) + 1):
        model(*inputs)
    duration_ns = float(seconds) * 1e9
    start = time.perf_counter_ns()
    end = start
    while end - start < duration_ns:
        t0 = time.perf_counter_ns()
        model(*inputs)
        end = time.perf_counter_ns()
        times.append(end - t0)
times_ms = sorted(t / 1e6 for t in times)
print(
    json.dumps(
        {
            "mean_ms": sum(times_ms) / len(times_ms),
            "p50_ms": times_ms[len(times_ms) // 2],
            "calls": len(times_ms),
            "throughput": len(times_ms) / ((end - start) / 1e9),
        }
    )
)
