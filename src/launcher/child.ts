/**
 * A pinned child: receives its instance over IPC, loads and warms up, says it is ready, waits for
 * the common start, measures, reports. It never reads argv and never prints.
 */
import { getOneMessage, sendMessage } from 'execa';
import { writeSync } from 'node:fs';
import type { FaultInjection, ParentMessage } from './protocol.js';
import { ModelError } from '../models/errors.js';
import { runInstance } from './instance.js';
import { reportPeak } from './peak-worker.js';
import { serveRequests } from './serve-worker.js';

function injectFault(fault: FaultInjection | null, index: number, phase: FaultInjection['phase']): Promise<void> | void {
  // BENCH_DISABLE_FAULTS=1 lets a soak test resume its sweep as if the faults had been transient.
  if (!fault || fault.instance !== index || fault.phase !== phase || process.env.BENCH_DISABLE_FAULTS === '1') return;
  switch (fault.kind) {
    case 'crash':
      process.kill(process.pid, 'SIGKILL');
      return;
    case 'exit':
      process.stderr.write(`fault injection: instance ${index} exits with code 3 in phase ${phase}\n`);
      process.exit(3);
    case 'hang':
      return new Promise<void>(() => {
        setInterval(() => {}, 1 << 30);
      });
    case 'garbage':
      return sendMessage({ type: 'result', instance: 'not a result' } as never);
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
  const junk = Buffer.from(`\xde\xad\xbe\xef\x00\xff{"type":"result" <- not a message (instance ${index}, ${phase})\n`, 'latin1');
  const fd = (process.channel as { fd?: number } | undefined)?.fd ?? Number(process.env.NODE_CHANNEL_FD);
  try {
    writeSync(1, junk);
  } catch {
    // stdout closed: the channel write below is the one that matters.
  }
  if (!Number.isInteger(fd) || fd < 0) throw new Error('fault injection: no IPC channel descriptor to corrupt');
  writeSync(fd, junk);
}

async function main(): Promise<void> {
  const init = (await getOneMessage()) as ParentMessage;
  // The dispatch scenario: serve requests one by one instead of the timed loop.
  if (init.type === 'serve') return serveRequests(init);
  // The GEMM peak probe, placed like an instance (launcher/peak.ts).
  if (init.type === 'peak') return reportPeak(init);
  if (init.type !== 'init') throw new Error(`expected an init message, got ${JSON.stringify(init).slice(0, 200)}`);
  const { config, instance, model, outputDir, fault } = init;
  await injectFault(fault, instance.index, 'load');
  const run = await runInstance(
    config,
    { index: instance.index, threads: instance.threads, batchSize: instance.batchSize, repetition: instance.repetition ?? 1, model, outputDir },
    async () => {
      const go = getOneMessage({ filter: (m) => (m as ParentMessage).type === 'go' });
      await sendMessage({ type: 'ready', pid: process.pid });
      await go;
      // At the start of the timed window: the other instances are measuring by then.
      await injectFault(fault, instance.index, 'measure');
    },
  );
  await injectFault(fault, instance.index, 'report');
  await sendMessage({ type: 'result', instance: run.instance, backend: run.backend });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    try {
      await sendMessage({ type: 'error', message });
    } finally {
      // A model the user gave that cannot run is said by the message; a stack is for bench's own bugs.
      if (!(err instanceof ModelError)) process.stderr.write(`${err instanceof Error ? (err.stack ?? message) : message}\n`);
      process.exit(1);
    }
  },
);
