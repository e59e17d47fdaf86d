/**
 * Runs a plan's instances as pinned child processes (execa, argument arrays, never a shell):
 * every child loads its model and warms up, reports ready, and only when all are ready are they
 * released together, so their timed windows overlap. A child that crashes, hangs past its timeout
 * or talks nonsense is reported with its exit code, signal and the tail of its stderr; the others
 * are stopped; whatever finished is returned.
 */
import { execa, type ResultPromise } from 'execa';
import { fileURLToPath } from 'node:url';
import type { RunConfig } from '../config/schema.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InstanceFailure, InstanceResult } from '../results/types.js';
import { bindingPrefix, type BindingKind } from './binding.js';
import type { PlanInstance } from './plan.js';
import { asChildMessage, type ChildMessage, type FaultInjection, type ParentMessage } from './protocol.js';

const CHILD_ENTRY = fileURLToPath(new URL('./child.js', import.meta.url));
const STDERR_TAIL_BYTES = 4000;

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
  readonly inbox: ChildMessage[] = [];
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
      else this.garbage ??= JSON.stringify(raw)?.slice(0, 200) ?? String(raw);
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
    else if (this.garbage !== null) message = `sent a message that is not part of the protocol: ${this.garbage}`;
    else if (this.exited) message = `exited ${this.signal ? `on signal ${this.signal}` : `with code ${this.exitCode}`} ${when}`;
    else message = `timed out ${when}${timeout === '' ? '' : ` (${timeout})`}`;
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

/** Starts one pinned child for an instance, with the IPC channel the protocol runs over. */
export function spawnChild(binding: BindingKind, inst: PlanInstance, env: Readonly<Record<string, string>>): Child {
  const [file, ...args] = childCommand(binding, inst);
  const proc = execa(file!, args, {
    ipc: true,
    serialization: 'advanced',
    reject: false,
    buffer: false,
    stdin: 'ignore',
    cleanup: true,
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
        instance: { index: inst.index, threads: inst.threads, batchSize: inst.batch_size },
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
