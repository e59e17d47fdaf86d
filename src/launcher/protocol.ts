/**
 * The parent <-> child messages, over Node's IPC channel (execa's `ipc`), which survives the exec
 * of numactl/taskset into node. Every message from a child is checked before use: a child that
 * prints garbage on the channel is reported, never trusted.
 */
import type { GemmProbe } from '../backends/peak.js';
import type { RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InstanceResult } from '../results/types.js';
import type { Interference } from '../stats/interference.js';

export interface FaultInjection {
  readonly instance: number;
  /**
   * crash: SIGKILL itself; exit: exit(3); hang: stop answering; garbage: send a well-formed IPC
   * message with a payload that is not the protocol's; corrupt: write raw bytes that are not a
   * message at all to stdout and to the IPC channel's file descriptor, then carry on.
   */
  readonly kind: 'crash' | 'exit' | 'hang' | 'garbage' | 'corrupt';
  /** load: before the model loads; measure: during the timed window; report: after measuring. */
  readonly phase: 'load' | 'measure' | 'report';
}

export type ParentMessage =
  | {
      readonly type: 'init';
      readonly config: RunConfig;
      readonly instance: { readonly index: number; readonly threads: number; readonly batchSize: number; readonly repetition?: number };
      readonly model: ResolvedModel | null;
      readonly outputDir: string;
      readonly fault: FaultInjection | null;
    }
  | { readonly type: 'go' }
  // Serve mode (the dispatch scenario): load, warm up on `warmup_lengths`, say ready, then answer
  // each `request` with a `done` until `stop`, and report with `served`.
  | {
      readonly type: 'serve';
      readonly config: RunConfig;
      readonly instance: { readonly index: number; readonly threads: number };
      readonly model: ResolvedModel | null;
      readonly outputDir: string;
      readonly warmup_lengths: readonly number[];
    }
  | { readonly type: 'request'; readonly id: number; readonly length: number }
  | { readonly type: 'stop' }
  // The GEMM peak probe (launcher/peak.ts), in a child started like an instance: measure, answer with `peak`.
  | { readonly type: 'peak'; readonly threads: number; readonly probe_ms: number };

/** What a serving child says about itself when it stops. */
export interface ServedReport {
  readonly index: number;
  /** The CPUs it ran on, as the kernel reported its affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  readonly threads: number;
  readonly load_prepare_ms: number;
  readonly load_session_ms: number;
  readonly first_inference_ms: number;
  readonly warmup_calls: number;
  readonly peak_rss_mb: number;
  readonly backend: Record<string, unknown>;
  /** Other processes' CPU time on its CPUs from its first request to `stop`; null where /proc is not readable. */
  readonly interference: Interference | null;
}

/** What the GEMM probe's child says: the figure, and where and with what it ran. */
export interface PeakReport extends GemmProbe {
  /** The CPUs it ran on, as the kernel reported its affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  /** GLIBC_TUNABLES and OMP_NUM_THREADS as the child saw them. */
  readonly env: Readonly<Record<string, string | null>>;
}

export type ChildMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'result'; readonly instance: InstanceResult; readonly backend: Record<string, unknown> }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done'; readonly id: number; readonly service_ms: number }
  | { readonly type: 'served'; readonly report: ServedReport }
  | { readonly type: 'peak'; readonly report: PeakReport };

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Narrows an IPC message from a child; null when it is not one of ours. */
export function asChildMessage(x: unknown): ChildMessage | null {
  if (!isRecord(x)) return null;
  switch (x.type) {
    case 'ready':
      return typeof x.pid === 'number' ? (x as ChildMessage) : null;
    case 'result':
      return isRecord(x.instance) && typeof x.instance.index === 'number' && Array.isArray(x.instance.latencies_ms) && isRecord(x.backend)
        ? (x as ChildMessage)
        : null;
    case 'error':
      return typeof x.message === 'string' ? (x as ChildMessage) : null;
    case 'done':
      return typeof x.id === 'number' && typeof x.service_ms === 'number' ? (x as ChildMessage) : null;
    case 'served':
      return isRecord(x.report) && typeof x.report.index === 'number' && isRecord(x.report.backend) ? (x as ChildMessage) : null;
    case 'peak':
      return isRecord(x.report) && typeof x.report.gflops === 'number' && typeof x.report.disturbed === 'boolean' && isRecord(x.report.env)
        ? (x as ChildMessage)
        : null;
    default:
      return null;
  }
}
