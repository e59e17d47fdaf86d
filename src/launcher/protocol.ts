/**
 * The parent <-> child messages, over Node's IPC channel (execa's `ipc`), which survives the exec
 * of numactl/taskset into node; the same messages pass in memory to a worker run in the bench
 * process (launcher=inline). The launcher knows the envelope: the `init` that starts a worker (the
 * scenario, the planned instance itself, the model), `ready` and `error` from any worker, and the
 * GEMM probe's `peak`. Everything else is a scenario's own (latency: go / result; dispatch:
 * request / done / stop / served), and the scenario checks it (Scenario.accepts). Every message
 * from a child is checked before use: a child that sends garbage is reported, never trusted.
 */
import type { GemmProbe } from '../backends/onnxruntime/peak.js';
import type { RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { PlanInstance } from './plan.js';

export interface FaultInjection {
  readonly instance: number;
  /**
   * crash: SIGKILL itself; exit: exit(3); hang: stop answering; garbage: send a well-formed IPC
   * message with a payload that is not the protocol's; corrupt: write raw bytes that are not a
   * message at all to stdout and to the IPC channel's file descriptor, then carry on.
   */
  readonly kind: 'crash' | 'exit' | 'hang' | 'garbage' | 'corrupt';
  /** load: before the model loads; measure: as the timed window starts; report: after measuring. */
  readonly phase: 'load' | 'measure' | 'report';
}

/** The first message of every worker: which scenario's worker, for which planned instance. */
export interface InitMessage {
  readonly type: 'init';
  readonly scenario: string;
  readonly config: RunConfig;
  /** The instance as the planner made it: CPUs, memory nodes, threads, batch size. */
  readonly instance: PlanInstance;
  /** Which repetition of the run (1-based). */
  readonly repetition: number;
  /** Instances running at the same time as this one, itself included. */
  readonly alongside: number;
  readonly model: ResolvedModel | null;
  readonly outputDir: string;
  readonly fault: FaultInjection | null;
  /** What the scenario's worker needs on top (e.g. the lengths a dispatch instance warms up on). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** The GEMM probe (launcher/peak.ts), in a child started like an instance: measure, answer with `peak`. */
export interface PeakRequest {
  readonly type: 'peak';
  readonly threads: number;
  readonly probe_ms: number;
}

/** A scenario's own message, either way. */
export interface Message {
  readonly type: string;
  readonly [field: string]: unknown;
}

export type ParentMessage = InitMessage | PeakRequest | Message;

/** What the GEMM probe's child says: the figure, and where and with what it ran. */
export interface PeakReport extends GemmProbe {
  /** The CPUs it ran on, as the kernel reported its affinity; null when unknown. */
  readonly cpus: readonly number[] | null;
  /** GLIBC_TUNABLES and OMP_NUM_THREADS as the child saw them. */
  readonly env: Readonly<Record<string, string | null>>;
}

export type ChildMessage =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'peak'; readonly report: PeakReport }
  | Message;

/** Whether a message of a scenario's own is well formed (the scenario says). */
export type MessageCheck = (x: Readonly<Record<string, unknown>>) => boolean;

export const isRecord = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

/** Narrows a message from a child; null when it is neither the envelope's nor one `accepts` admits. */
export function asChildMessage(x: unknown, accepts: MessageCheck): ChildMessage | null {
  if (!isRecord(x) || typeof x.type !== 'string') return null;
  switch (x.type) {
    case 'ready':
      return typeof x.pid === 'number' ? (x as ChildMessage) : null;
    case 'error':
      return typeof x.message === 'string' ? (x as ChildMessage) : null;
    case 'peak':
      return isRecord(x.report) &&
        typeof x.report.gflops === 'number' &&
        typeof x.report.disturbed === 'boolean' &&
        isRecord(x.report.env)
        ? (x as ChildMessage)
        : null;
    default:
      return accepts(x) ? (x as ChildMessage) : null;
  }
}
