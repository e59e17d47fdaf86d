import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // The GEMM peak probe behind every onnxruntime run's efficiency line (src/backends/peak.ts):
    // 100 ms instead of 1 s, since each test's own BENCH_CACHE_DIR starts without a cached peak.
    env: { BENCH_PEAK_PROBE_MS: '100' },
  },
});
