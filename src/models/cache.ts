/** Where bench keeps what it can make again: synthesized models, optimized graphs, the GEMM peak. */
import os from 'node:os';
import { join } from 'node:path';

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.BENCH_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(os.homedir(), '.cache'), 'bench');
}
