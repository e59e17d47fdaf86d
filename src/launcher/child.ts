/**
 * A pinned child: receives its instance over IPC, loads and warms up, says it is ready, waits for
 * the common start, measures, reports. It never reads argv and never prints.
 */
import { getOneMessage, sendMessage } from 'execa';
import type { FaultInjection, ParentMessage } from './protocol.js';
import { ModelError } from '../models/errors.js';
import { runInstance } from './instance.js';
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
  }
}

async function main(): Promise<void> {
  const init = (await getOneMessage()) as ParentMessage;
  // The dispatch scenario: serve requests one by one instead of the timed loop.
  if (init.type === 'serve') return serveRequests(init);
  if (init.type !== 'init') throw new Error(`expected an init message, got ${JSON.stringify(init).slice(0, 200)}`);
  const { config, instance, model, outputDir, fault } = init;
  await injectFault(fault, instance.index, 'load');
  const run = await runInstance(
    config,
    { index: instance.index, threads: instance.threads, batchSize: instance.batchSize, model, outputDir },
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
