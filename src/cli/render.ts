/**
 * Terminal text for runs and sweeps. Pure: takes results, returns strings; main.ts prints them.
 */
import { relative } from 'node:path';
import type { JobOutcome } from '../launcher/job.js';
import type { RunResult } from '../results/types.js';

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

function ms(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 100 ? x.toFixed(1) : x >= 10 ? x.toFixed(2) : x.toFixed(3);
}

export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') ? p : rel;
}

function describeRun(r: RunResult): string {
  const cfg = r.config as { model?: { name?: string; source?: string }; batch_size?: number; sequence_length?: number } | null;
  const backend = String(r.backend?.name ?? 'unknown');
  const weights = cfg?.model?.source === 'synthetic' ? 'random weights (synthesized)' : (cfg?.model?.source ?? '');
  const threads = r.instances.map((i) => i.threads).join('+');
  return `${cfg?.model?.name ?? 'model'} (${weights}) · backend ${backend} · batch ${cfg?.batch_size} × seq ${cfg?.sequence_length} · ${r.instances.length} instance(s), ${threads} thread(s)`;
}

export function renderRun(outcome: JobOutcome): string {
  const r = outcome.result;
  const lines: string[] = [];
  if (outcome.status !== 'ok') {
    lines.push(`bench: run ${outcome.status}: ${r.error ?? 'unknown error'}`);
    lines.push(`  results   ${displayPath(outcome.dir)}/results.json`);
    return lines.join('\n');
  }
  lines.push(`bench: ${describeRun(r)}`);
  for (const w of r.warnings) lines.push(`  warning   ${w}`);
  for (const i of r.instances) {
    const tag = r.instances.length > 1 ? `  [${i.index}] ` : '  ';
    lines.push(
      `${tag}load ${ms(i.load_prepare_ms + i.load_session_ms)} ms · first call ${ms(i.first_inference_ms)} ms · ` +
        `${i.warmup_runs} warmup · ${i.iterations} timed calls in ${fmt(i.window_ms / 1000)} s`,
    );
    const l = i.latency;
    lines.push(
      `${tag}latency   mean ${ms(l.mean_ms)} ± ${ms(l.std_ms)} ms · p50 ${ms(l.p50_ms)} · p90 ${ms(l.p90_ms)} · ` +
        `p99 ${ms(l.p99_ms)} · min ${ms(l.min_ms)} · max ${ms(l.max_ms)}`,
    );
  }
  const a = r.aggregate;
  if (a) {
    lines.push(`  throughput ${fmt(a.throughput_samples_per_s)} samples/s (${fmt(a.forwards_per_s)} forwards/s)`);
  }
  lines.push(`  results   ${displayPath(outcome.dir)}/results.json (and results.csv)`);
  return lines.join('\n');
}

export function renderJobLine(o: JobOutcome, index: number, total: number): string {
  const a = o.result.aggregate;
  const head = `[${index + 1}/${total}] ${o.overrides.join(' ')}`;
  if (o.status !== 'ok' || !a) return `${head} · ${o.status}: ${(o.result.error ?? '').split('\n')[0]}`;
  return `${head} · mean ${ms(a.latency_mean_ms)} ms · p99 ${ms(a.latency_p99_ms)} ms · ${fmt(a.throughput_samples_per_s)} samples/s`;
}
