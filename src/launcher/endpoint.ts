/**
 * One running instance as a scenario's parent side sees it: a worker it sends messages to and gets
 * messages from, that may exit, fail, hang or lie. Two kinds: a pinned child process (process.ts)
 * and a worker run inside the bench process (inline.ts, launcher=inline); a scenario drives both
 * the same way.
 */
import type { ChildMessage, ParentMessage } from './protocol.js';

/** What is known about an instance that did not finish. */
export interface InstanceFailure {
  readonly index: number;
  /** The repetition it failed in (absent in files from before repetitions). */
  readonly repetition?: number;
  readonly message: string;
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly stderr_tail: string;
}

export interface Endpoint {
  readonly index: number;
  /** The process it runs in (the bench process itself for an inline worker). */
  readonly pid: number;
  readonly exited: boolean;
  send(msg: ParentMessage): void;
  /** Resolves with the first message of `type` (or an `error`), or null if it exits, lies or time runs out. */
  next(type: string, deadline: number): Promise<ChildMessage | null>;
  /** Every well-formed message, as it comes (for callers that stream, e.g. dispatch's completions). */
  onMessage(listener: (m: ChildMessage) => void): void;
  onExit(listener: () => void): void;
  /** Called once, when its messages stop being trusted (a malformed message or corrupt bytes). */
  onGarbage(listener: () => void): void;
  /** What went wrong `when` (e.g. "while measuring"); `timeout` names the limit, shown only when it was the cause. */
  failure(when: string, timeout?: string): InstanceFailure;
  /** Asks it to stop now (Ctrl-C): SIGTERM to a child, an abort to an inline worker. */
  interrupt(): void;
  /** Stops it and waits until it is gone. */
  stop(): Promise<void>;
}

/**
 * The inbox and waiting shared by both kinds: messages are queued as they come, `next` waits for
 * one of a type, and after one untrusted message nothing more is believed.
 */
export abstract class Inbox {
  exited = false;
  garbage: string | null = null;
  readonly inbox: ChildMessage[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly garbageListeners = new Set<() => void>();
  private readonly messageListeners = new Set<(m: ChildMessage) => void>();
  private readonly exitListeners = new Set<() => void>();

  protected wake(): void {
    for (const w of this.waiters) w();
  }

  protected deliver(msg: ChildMessage): void {
    this.inbox.push(msg);
    for (const l of this.messageListeners) l(msg);
    this.wake();
  }

  protected distrust(why: string): void {
    if (this.garbage !== null) return;
    this.garbage = why;
    for (const l of this.garbageListeners) l();
    this.wake();
  }

  protected markExited(): void {
    this.exited = true;
    for (const l of this.exitListeners) l();
    this.wake();
  }

  onMessage(listener: (m: ChildMessage) => void): void {
    this.messageListeners.add(listener);
  }

  onExit(listener: () => void): void {
    if (this.exited) listener();
    else this.exitListeners.add(listener);
  }

  onGarbage(listener: () => void): void {
    if (this.garbage !== null) listener();
    else this.garbageListeners.add(listener);
  }

  async next(type: string, deadline: number): Promise<ChildMessage | null> {
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

  /** The error message the worker sent, if any. */
  protected reportedError(): string | null {
    const error = this.inbox.find((m): m is Extract<ChildMessage, { type: 'error' }> => m.type === 'error');
    return error ? error.message : null;
  }
}
