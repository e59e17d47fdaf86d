/**
 * Runs a plan's instances as pinned child processes (execa, argument arrays, never a shell):
 * every child loads its model and warms up, reports ready, and only when all are ready are they
 * released together, so their timed windows overlap. A child that crashes, hangs past its timeout
 * or talks nonsense (a malformed message, or bytes on the channel that are no message at all) is
 * reported with its exit code, signal and the tail of its stderr; the others are stopped; whatever
 * finished is returned.
 */
import { execa, type ResultPromise } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InstanceFailure, InstanceResult } from '../results/types.js';
import { bindingPrefix, type BindingKind } from './binding.js';
import type { PlanInstance } from './plan.js';
import { asChildMessage, type ChildMessage, type FaultInjection, type ParentMessage } from './protocol.js';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));
const STDERR_TAIL_BYTES = 4000;
/** No message of ours comes near this (a long run's latencies are a few MB); a bigger frame is junk. */
export const MAX_IPC_MESSAGE_BYTES = 64 * 2 ** 20;

interface ChannelGuard {
  /** Bytes received on the channel that are not (yet) a complete message. */
  pendingBytes(): number;
}

/**
 * Node parses a child's IPC channel inside the pipe's read callback (the channel handle's `onread`,
 * set up by node:child_process). Bytes that do not deserialize make it throw there, out of reach of any
 * listener: an uncaught exception that would take the whole parent down. Bytes whose first four
 * read as a huge length make it wait, silently, for a message that never completes. This wraps that
 * callback, checked for before use (it is Node's internal), so both become the child's failure via
 * `onCorrupt`. Where the internals differ, nothing is wrapped and the timeouts still apply.
 */
function guardChannel(proc: ChildProcess, onCorrupt: (what: string) => void): ChannelGuard {
  // `proc.channel` is a public wrapper; the pipe handle itself is kept under a symbol.
  const handleKey = Object.getOwnPropertySymbols(proc).find((k) => k.description === 'kChannelHandle');
  const channel = (handleKey ? (proc as unknown as Record<symbol, unknown>)[handleKey] : proc.channel) as
    | (Record<string | symbol, unknown> & { onread?: unknown })
    | null
    | undefined;
  const none: ChannelGuard = { pendingBytes: () => 0 };
  if (!channel || typeof channel.onread !== 'function') return none;
  const symbols = Object.getOwnPropertySymbols(channel);
  const bufferKey = symbols.find((k) => k.description === 'kMessageBuffer');
  const sizeKey = symbols.find((k) => k.description === 'kMessageBufferSize');
  const pendingBytes = (): number => (sizeKey && typeof channel[sizeKey] === 'number' ? (channel[sizeKey] as number) : 0);
  const checkPendingFrame = (): void => {
    const head = bufferKey && Array.isArray(channel[bufferKey]) ? (channel[bufferKey] as Uint8Array[])[0] : undefined;
    if (!head || head.length < 4) return;
    const announced = head[0]! * 2 ** 24 + (head[1]! << 16) + (head[2]! << 8) + head[3]!;
    if (announced > MAX_IPC_MESSAGE_BYTES) {
      onCorrupt(`sent bytes on the IPC channel that are not a protocol message (they announce a ${announced}-byte message; starting ${hex(head)})`);
    }
  };
  const original = channel.onread as (this: unknown, ...args: unknown[]) => unknown;
  channel.onread = function guardedOnread(this: unknown, ...args: unknown[]): unknown {
    try {
      return original.apply(this, args);
    } catch (err) {
      onCorrupt(`sent bytes on the IPC channel that are not a protocol message (${err instanceof Error ? err.message : String(err)})`);
      return undefined;
    } finally {
      checkPendingFrame();
    }
  };
  return { pendingBytes };
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ') + (bytes.length > 16 ? ' ...' : '');

export function childCommand(kind: BindingKind, instance: Pick<PlanInstance, 'cpus' | 'memory_nodes'>): string[] {
  return [...bindingPrefix(kind, instance), process.execPath, CHILD_ENTRY];
}

export interface ProcessRun {
  readonly results: readonly { readonly instance: InstanceResult; readonly backend: Record<string, unknown> }[];
  readonly failures: readonly InstanceFailure[];
  readonly pids: readonly number[];
  /** The parent's resident memory while its children measured: it should hold no model weights. */
  readonly parentRssDuringRunMb: number | null;
}

export interface ProcessRunRequest {
  readonly config: RunConfig;
  readonly instances: readonly PlanInstance[];
  readonly binding: BindingKind;
  /** Extra environment for every child (launcher.thp). */
  readonly env: Readonly<Record<string, string>>;
  readonly model: ResolvedModel | null;
  readonly outputDir: string;
  readonly startTimeoutMs: number;
  readonly runTimeoutMs: number;
  readonly fault: FaultInjection | null;
  /** Which repetition of the run this is (1-based; seeds the mock backend's draws). */
  readonly repetition?: number;
  /** Called once every child is running, with their pids (for tests and interrupt handling). */
  readonly onSpawn?: (pids: readonly number[]) => void;
  /** Ctrl-C / SIGTERM: stop every child now. */
  readonly signal?: AbortSignal;
}

/** One child process and its IPC inbox; exported for the dispatch scenario's serving children (serve.ts). */
export class Child {
  stderrTail = '';
  exited = false;
  exitCode: number | null = null;
  signal: string | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly garbageListeners = new Set<() => void>();
  private readonly channel: ChannelGuard;
  readonly inbox: ChildMessage[] = [];
  /** Why the channel is no longer trusted: a malformed message or corrupt bytes; null while it is. */
  garbage: string | null = null;

  constructor(
    readonly index: number,
    readonly proc: ResultPromise<{ ipc: true; serialization: 'advanced'; reject: false; buffer: false; stdin: 'ignore' }>,
  ) {
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_BYTES);
    });
    proc.stdout?.on('data', () => {});
    proc.on('message', (raw: unknown) => {
      const msg = asChildMessage(raw);
      if (msg) this.inbox.push(msg);
      else this.distrust(`sent a message that is not part of the protocol: ${JSON.stringify(raw)?.slice(0, 200) ?? String(raw)}`);
      this.wake();
    });
    this.channel = guardChannel(proc, (what) => {
      this.distrust(what);
      this.wake();
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.signal = signal;
      this.wake();
    });
    proc.catch(() => {});
  }

  private wake(): void {
    for (const w of this.waiters) w();
  }

  private distrust(why: string): void {
    if (this.garbage !== null) return;
    this.garbage = why;
    for (const l of this.garbageListeners) l();
  }

  /** Called once, when the channel stops being trusted (for callers that do not wait in next()). */
  onGarbage(listener: () => void): void {
    if (this.garbage !== null) listener();
    else this.garbageListeners.add(listener);
  }

  /** Resolves with the first message of `type`, or null if the child exits, lies or time runs out. */
  async next<T extends ChildMessage['type']>(type: T, deadline: number): Promise<Extract<ChildMessage, { type: T }> | ChildMessage | null> {
    for (;;) {
      // After one malformed message nothing on the channel is trusted.
      if (this.garbage !== null) return null;
      const found = this.inbox.find((m) => m.type === type || m.type === 'error');
      if (found) return found;
      if (this.exited || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()));
        this.waiters.add(wake);
      });
    }
  }

  /** What went wrong `when` (e.g. "while measuring"); `timeout` names the limit, shown only when it was the cause. */
  failure(when: string, timeout = ''): InstanceFailure {
    const error = this.inbox.find((m): m is Extract<ChildMessage, { type: 'error' }> => m.type === 'error');
    let message: string;
    if (error) message = error.message;
    else if (this.garbage !== null) message = this.garbage;
    else if (this.exited) message = `exited ${this.signal ? `on signal ${this.signal}` : `with code ${this.exitCode}`} ${when}`;
    else message = `timed out ${when}${timeout === '' ? '' : ` (${timeout})`}`;
    const pending = this.channel.pendingBytes();
    if (!error && this.garbage === null && pending > 0) message += `, leaving ${pending} bytes on the IPC channel that are not a complete message`;
    return { index: this.index, message, exit_code: this.exitCode, signal: this.signal, stderr_tail: this.stderrTail.trim() };
  }

  send(msg: ParentMessage): void {
    if (!this.exited) void this.proc.sendMessage(msg as never).catch(() => {});
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.exited) this.proc.kill('SIGKILL');
    while (!this.exited) await new Promise((r) => setTimeout(r, 20));
  }
}

/** How every child is started: an IPC channel (structured clone), no shell, killed when bench exits. */
export const CHILD_PROCESS_OPTIONS = {
  ipc: true,
  serialization: 'advanced',
  reject: false,
  buffer: false,
  stdin: 'ignore',
  cleanup: true,
} as const;

/** Starts one pinned child for an instance, with the IPC channel the protocol runs over. */
export function spawnChild(binding: BindingKind, inst: PlanInstance, env: Readonly<Record<string, string>>): Child {
  const [file, ...args] = childCommand(binding, inst);
  const proc = execa(file!, args, {
    ...CHILD_PROCESS_OPTIONS,
    env: { ...env, OMP_NUM_THREADS: String(inst.threads) },
  });
  return new Child(inst.index, proc);
}

/** How long the other instances may still report after one has failed. */
const FAILURE_GRACE_MS = 2000;

export async function runProcessInstances(req: ProcessRunRequest): Promise<ProcessRun> {
  const children = req.instances.map((inst) => spawnChild(req.binding, inst, req.env));
  const pids = children.map((c) => c.proc.pid ?? -1);
  req.onSpawn?.(pids);
  const onAbort = (): void => {
    for (const c of children) if (!c.exited) c.proc.kill('SIGTERM');
  };
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  const failures: InstanceFailure[] = [];
  const results: { instance: InstanceResult; backend: Record<string, unknown> }[] = [];
  let parentRssDuringRunMb: number | null = null;
  try {
    req.instances.forEach((inst, i) =>
      children[i]!.send({
        type: 'init',
        config: req.config,
        instance: { index: inst.index, threads: inst.threads, batchSize: inst.batch_size, repetition: req.repetition ?? 1 },
        model: req.model,
        outputDir: req.outputDir,
        fault: req.fault,
      }),
    );

    // The start barrier: nobody measures until everybody has loaded and warmed up.
    const readyBy = Date.now() + req.startTimeoutMs;
    const ready = await Promise.all(children.map((c) => c.next('ready', readyBy)));
    ready.forEach((m, i) => {
      if (m?.type !== 'ready') failures.push(children[i]!.failure('before it was ready', `launcher.start_timeout_s=${req.startTimeoutMs / 1000}`));
    });
    if (failures.length > 0) return { results, failures, pids, parentRssDuringRunMb };
    for (const c of children) c.send({ type: 'go' });
    parentRssDuringRunMb = process.memoryUsage().rss / 2 ** 20;

    const doneBy = Date.now() + req.runTimeoutMs;
    // Whoever fails first stops the others, after a short grace: instances that started together
    // finish together, so a neighbour that was about to report keeps its complete measurement.
    let firstFailure: number | null = null;
    const settled = new Set<number>();
    let grace: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      for (const c of children) {
        void c.next('result', doneBy).then((m) => {
          if (settled.has(c.index)) return;
          settled.add(c.index);
          if (m?.type === 'result') results.push({ instance: m.instance, backend: m.backend });
          else if (firstFailure === null) {
            firstFailure = c.index;
            failures.push(c.failure('while measuring', `launcher.run_timeout_s=${req.runTimeoutMs / 1000}`));
            grace = setTimeout(resolve, FAILURE_GRACE_MS);
          } else failures.push(c.failure('while measuring', `launcher.run_timeout_s=${req.runTimeoutMs / 1000}`));
          if (settled.size === children.length) resolve();
        });
      }
    });
    clearTimeout(grace);
    for (const c of children) {
      if (settled.has(c.index)) continue;
      settled.add(c.index);
      failures.push({ ...c.failure(''), message: `stopped because instance ${firstFailure} failed` });
    }
    return { results: results.sort((a, b) => a.instance.index - b.instance.index), failures, pids, parentRssDuringRunMb };
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
    await Promise.all(children.map((c) => c.stop()));
  }
}
