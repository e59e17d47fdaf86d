/**
 * Instances as pinned child processes (execa, argument arrays, never a shell): the child runs the
 * worker entry point it is given (bench's is src/run/child.ts) under numactl/taskset, and talks
 * over Node's IPC channel. A child that crashes, hangs past its timeout or talks nonsense (a malformed message, or
 * bytes on the channel that are no message at all) is reported with its exit code, signal and the
 * tail of its stderr.
 */
import { execa, type ResultPromise } from 'execa';
import type { ChildProcess } from 'node:child_process';
import { bindingPrefix, type BindingKind } from './binding.js';
import { Inbox, type Endpoint, type InstanceFailure } from './endpoint.js';
import type { PlanInstance } from './plan.js';
import { asChildMessage, type MessageCheck, type ParentMessage } from './protocol.js';

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
    (Record<string | symbol, unknown> & { onread?: unknown }) | null | undefined;
  const none: ChannelGuard = { pendingBytes: () => 0 };
  if (!channel || typeof channel.onread !== 'function') return none;
  const symbols = Object.getOwnPropertySymbols(channel);
  const bufferKey = symbols.find((k) => k.description === 'kMessageBuffer');
  const sizeKey = symbols.find((k) => k.description === 'kMessageBufferSize');
  const pendingBytes = (): number =>
    sizeKey && typeof channel[sizeKey] === 'number' ? (channel[sizeKey] as number) : 0;
  const checkPendingFrame = (): void => {
    const head = bufferKey && Array.isArray(channel[bufferKey]) ? (channel[bufferKey] as Uint8Array[])[0] : undefined;
    if (!head || head.length < 4) return;
    const announced = head[0]! * 2 ** 24 + (head[1]! << 16) + (head[2]! << 8) + head[3]!;
    if (announced > MAX_IPC_MESSAGE_BYTES) {
      onCorrupt(
        `sent bytes on the IPC channel that are not a protocol message (they announce a ${announced}-byte message; starting ${hex(head)})`,
      );
    }
  };
  const original = channel.onread as (this: unknown, ...args: unknown[]) => unknown;
  channel.onread = function guardedOnread(this: unknown, ...args: unknown[]): unknown {
    try {
      return original.apply(this, args);
    } catch (err) {
      onCorrupt(
        `sent bytes on the IPC channel that are not a protocol message (${err instanceof Error ? err.message : String(err)})`,
      );
      return undefined;
    } finally {
      checkPendingFrame();
    }
  };
  return { pendingBytes };
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ') +
  (bytes.length > 16 ? ' ...' : '');

/** The command line of a child running the script `entry` with Node, pinned as `kind` says. */
export function childCommand(
  entry: string,
  kind: BindingKind,
  instance: Pick<PlanInstance, 'cpus' | 'memory_nodes'>,
): string[] {
  return [...bindingPrefix(kind, instance), process.execPath, entry];
}

/** One child process and its IPC inbox. */
export class ProcessEndpoint extends Inbox implements Endpoint {
  stderrTail = '';
  exitCode: number | null = null;
  signal: string | null = null;
  private readonly channel: ChannelGuard;

  constructor(
    readonly index: number,
    readonly proc: ResultPromise<{
      ipc: true;
      serialization: 'advanced';
      reject: false;
      buffer: false;
      stdin: 'ignore';
    }>,
    accepts: MessageCheck,
  ) {
    super();
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderrTail = (this.stderrTail + d.toString()).slice(-STDERR_TAIL_BYTES);
    });
    proc.stdout?.on('data', () => {});
    proc.on('message', (raw: unknown) => {
      // After one malformed message nothing on the channel is trusted, nor passed on.
      if (this.garbage !== null) return;
      const msg = asChildMessage(raw, accepts);
      if (msg) this.deliver(msg);
      else
        this.distrust(
          `sent a message that is not part of the protocol: ${JSON.stringify(raw)?.slice(0, 200) ?? String(raw)}`,
        );
    });
    this.channel = guardChannel(proc, (what) => this.distrust(what));
    proc.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
      this.markExited();
    });
    proc.catch(() => {});
  }

  get pid(): number {
    return this.proc.pid ?? -1;
  }

  failure(when: string, timeout = ''): InstanceFailure {
    const error = this.reportedError();
    let message: string;
    if (error !== null) message = error;
    else if (this.garbage !== null) message = this.garbage;
    else if (this.exited)
      message = `exited ${this.signal ? `on signal ${this.signal}` : `with code ${this.exitCode}`} ${when}`;
    else message = `timed out ${when}${timeout === '' ? '' : ` (${timeout})`}`;
    const pending = this.channel.pendingBytes();
    if (error === null && this.garbage === null && pending > 0)
      message += `, leaving ${pending} bytes on the IPC channel that are not a complete message`;
    return {
      index: this.index,
      message,
      exit_code: this.exitCode,
      signal: this.signal,
      stderr_tail: this.stderrTail.trim(),
    };
  }

  send(msg: ParentMessage): void {
    if (!this.exited) void this.proc.sendMessage(msg as never).catch(() => {});
  }

  interrupt(): void {
    if (!this.exited) this.proc.kill('SIGTERM');
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

/**
 * Starts one pinned child for an instance, with the IPC channel the protocol runs over; `accepts`
 * admits the messages of the scenario it will run (the envelope's are always admitted).
 */
export function spawnChild(
  entry: string,
  binding: BindingKind,
  inst: PlanInstance,
  env: Readonly<Record<string, string>>,
  accepts: MessageCheck = () => false,
): ProcessEndpoint {
  const [file, ...args] = childCommand(entry, binding, inst);
  const proc = execa(file!, args, {
    ...CHILD_PROCESS_OPTIONS,
    env: { ...env, OMP_NUM_THREADS: String(inst.threads) },
  });
  return new ProcessEndpoint(inst.index, proc, accepts);
}
