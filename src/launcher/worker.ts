/**
 * The worker side of an instance: what a scenario's worker gets to talk with its parent, whether
 * it runs in a pinned child (over Node's IPC channel) or in the bench process (launcher=inline, in
 * memory), and the fault injection the tests and the soak use (launcher.fault).
 */
import { getEachMessage, getOneMessage, sendMessage } from 'execa';
import { writeSync } from 'node:fs';
import type { ChildMessage, FaultInjection, Message, ParentMessage } from './protocol.js';

export interface WorkerPort {
  /** The next message from the parent that `filter` admits (default: any). */
  receive(filter?: (m: ParentMessage) => boolean): Promise<ParentMessage>;
  /** Every message from the parent, in order, until the caller stops reading. */
  messages(): AsyncIterable<ParentMessage>;
  send(msg: ChildMessage | Message): Promise<void>;
  /** Aborted when an inline worker is to stop now (Ctrl-C); a child is simply killed. */
  readonly signal?: AbortSignal;
  /** A worker in the bench process: faults that take the process down are not injected there. */
  readonly inline: boolean;
}

/** The port of a pinned child: Node's IPC channel, through execa. */
export function processPort(): WorkerPort {
  return {
    receive: (filter) =>
      getOneMessage(filter ? { filter: (m) => filter(m as ParentMessage) } : {}) as Promise<ParentMessage>,
    messages: () => getEachMessage() as AsyncIterable<ParentMessage>,
    send: (msg) => sendMessage(msg as never),
    inline: false,
  };
}

/**
 * Makes an instance misbehave at `phase`, as launcher.fault says (tests and the soak); nothing
 * otherwise. BENCH_DISABLE_FAULTS=1 lets a soak test resume its sweep as if the faults had been
 * transient.
 */
export function injectFault(
  fault: FaultInjection | null,
  index: number,
  phase: FaultInjection['phase'],
  port: WorkerPort,
): Promise<void> | void {
  if (!fault || fault.instance !== index || fault.phase !== phase || process.env.BENCH_DISABLE_FAULTS === '1') return;
  if (port.inline) throw new Error('launcher.fault needs launcher=process: an inline worker shares the bench process');
  switch (fault.kind) {
    case 'crash':
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'exit':
      process.stderr.write(`fault injection: instance ${index} exits with code 3 in phase ${phase}\n`);
      return process.exit(3);
    case 'hang':
      return new Promise<void>(() => {
        setInterval(() => {}, 1 << 30);
      });
    case 'garbage':
      return port.send({ type: 'result', instance: 'not a result' });
    case 'corrupt':
      writeCorruptBytes(index, phase);
      return;
  }
}

/**
 * Raw bytes that are not a message, written past Node's framing: to stdout (which the parent
 * drains and ignores) and to the IPC channel's own file descriptor, where the parent's
 * deserializer meets them. Node removes NODE_CHANNEL_FD from the environment once it has opened the
 * channel, so the descriptor is taken from the channel handle. The child then carries on as if
 * nothing had happened; the parent must not believe anything it says afterwards.
 */
function writeCorruptBytes(index: number, phase: FaultInjection['phase']): void {
  const junk = Buffer.from(
    `\xde\xad\xbe\xef\x00\xff{"type":"result" <- not a message (instance ${index}, ${phase})\n`,
    'latin1',
  );
  const fd = (process.channel as { fd?: number } | undefined)?.fd ?? Number(process.env.NODE_CHANNEL_FD);
  try {
    writeSync(1, junk);
  } catch {
    // stdout closed: the channel write below is the one that matters.
  }
  if (!Number.isInteger(fd) || fd < 0) throw new Error('fault injection: no IPC channel descriptor to corrupt');
  writeSync(fd, junk);
}
