/**
 * launcher=inline: an instance's worker run inside the bench process, for debugging and tests. The
 * parent and the worker exchange the same messages as with a child, in memory; the worker sees a
 * WorkerPort, the parent an Endpoint. Nothing is pinned or isolated: the run says so.
 */
import { Inbox, type Endpoint, type InstanceFailure } from './endpoint.js';
import { asChildMessage, type ChildMessage, type Message, type MessageCheck, type ParentMessage } from './protocol.js';
import type { WorkerPort } from './worker.js';

export class InlineEndpoint extends Inbox implements Endpoint {
  readonly pid = process.pid;
  private readonly toWorker: ParentMessage[] = [];
  private readonly workerWaiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private failed: string | null = null;
  private readonly done: Promise<void>;

  constructor(
    readonly index: number,
    work: (port: WorkerPort) => Promise<void>,
    private readonly accepts: MessageCheck,
  ) {
    super();
    const port: WorkerPort = {
      receive: (filter) => this.take(filter),
      messages: () => this.stream(),
      send: async (msg) => this.fromWorker(msg),
      signal: this.abort.signal,
      inline: true,
    };
    // Started on the next turn, as a child would start, so the caller can attach its listeners.
    this.done = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => work(port))
      .then(
        () => undefined,
        (err: unknown) => {
          this.failed = err instanceof Error ? err.message : String(err);
          this.deliver({ type: 'error', message: this.failed });
        },
      )
      .finally(() => this.markExited());
  }

  private fromWorker(msg: ChildMessage | Message): void {
    if (this.garbage !== null) return;
    // The same check as on a child's channel: an inline worker is held to the protocol too.
    const checked = asChildMessage(structuredClone(msg), this.accepts);
    if (checked) this.deliver(checked);
    else
      this.distrust(
        `sent a message that is not part of the protocol: ${JSON.stringify(msg)?.slice(0, 200) ?? String(msg)}`,
      );
  }

  private async take(filter?: (m: ParentMessage) => boolean): Promise<ParentMessage> {
    for (;;) {
      const k = this.toWorker.findIndex((m) => !filter || filter(m));
      if (k >= 0) return this.toWorker.splice(k, 1)[0]!;
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          this.workerWaiters.delete(wake);
          resolve();
        };
        this.workerWaiters.add(wake);
      });
    }
  }

  private async *stream(): AsyncIterable<ParentMessage> {
    for (;;) yield await this.take();
  }

  send(msg: ParentMessage): void {
    if (this.exited) return;
    this.toWorker.push(structuredClone(msg));
    for (const w of this.workerWaiters) w();
  }

  failure(when: string, timeout = ''): InstanceFailure {
    const error = this.reportedError();
    const message =
      error ??
      this.garbage ??
      (this.exited ? `ended ${when} without reporting` : `timed out ${when}${timeout === '' ? '' : ` (${timeout})`}`);
    return { index: this.index, message, exit_code: null, signal: null, stderr_tail: '' };
  }

  interrupt(): void {
    this.abort.abort();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    // A worker waiting for a message it will never get is left to the garbage collector.
    await Promise.race([this.done, new Promise((resolve) => setTimeout(resolve, 3000))]);
  }
}
