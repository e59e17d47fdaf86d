/**
 * `backend.profile=true`: ONNX Runtime's own profiler, summarized. ORT records every call of the
 * session from its creation (its startProfiling is a no-op in Node), so the summary keeps only the
 * calls of the timed window (those after the cold call and the warm-up) and the profiler is ended
 * after `backend.profile_calls` of them, which bounds the trace file. Time shares are of the kernel
 * time of the nodes (ORT's `*_kernel_time` events), summed per operator type and per node.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ProfileSummary } from '../types.js';

interface TraceEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly ts?: number;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

/** The trace ORT wrote for `prefix` (it appends the date and time), or null. */
export function traceFile(prefix: string): string | null {
  const dir = dirname(prefix);
  try {
    const mine = readdirSync(dir)
      .filter((f) => f.startsWith(`${basename(prefix)}_`) && f.endsWith('.json'))
      .sort();
    return mine.length > 0 ? join(dir, mine.at(-1)!) : null;
  } catch {
    return null;
  }
}

/** The summary of a trace's calls after the first `skipCalls` (the cold call and the warm-up). */
export function summarizeTrace(file: string, skipCalls: number): ProfileSummary {
  const events = JSON.parse(readFileSync(file, 'utf8')) as TraceEvent[];
  const runs = events
    .filter((e) => e.cat === 'Session' && e.name === 'model_run')
    .sort((a, b) => (a.ts ?? 0) - (b.ts ?? 0))
    .slice(skipCalls);
  const inRun = (e: TraceEvent): boolean =>
    runs.some((r) => (e.ts ?? -1) >= (r.ts ?? 0) && (e.ts ?? -1) <= (r.ts ?? 0) + (r.dur ?? 0));
  const nodes = events.filter((e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time') && inRun(e));
  const kernelUs = nodes.reduce((s, e) => s + (e.dur ?? 0), 0);
  const group = (key: (e: TraceEvent) => string): Map<string, { us: number; count: number; op: string }> => {
    const m = new Map<string, { us: number; count: number; op: string }>();
    for (const e of nodes) {
      const k = key(e);
      const x = m.get(k) ?? { us: 0, count: 0, op: e.args?.op_name ?? '?' };
      m.set(k, { ...x, us: x.us + (e.dur ?? 0), count: x.count + 1 });
    }
    return m;
  };
  const share = (us: number): number => (kernelUs > 0 ? us / kernelUs : 0);
  const byOp = [...group((e) => e.args?.op_name ?? '?')]
    .map(([op, x]) => ({ op, ms: x.us / 1000, share: share(x.us), count: x.count }))
    .sort((a, b) => b.ms - a.ms);
  const topNodes = [...group((e) => e.name!.slice(0, -'_kernel_time'.length))]
    .map(([node, x]) => ({ node, op: x.op, ms: x.us / 1000, share: share(x.us), count: x.count }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 10);
  return {
    file,
    calls: runs.length,
    run_ms: runs.reduce((s, r) => s + (r.dur ?? 0), 0) / 1000,
    kernel_ms: kernelUs / 1000,
    by_op: byOp,
    top_nodes: topNodes,
  };
}
