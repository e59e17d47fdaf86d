/**
 * The entry point of every child bench starts (launcher/process.ts starts it by path, under
 * numactl/taskset): it reads its first message and runs the worker that message names — a
 * scenario's (`init`) or the GEMM probe (`peak`) — then exits. It never reads argv and never prints,
 * but for the stack of an error of bench's own.
 */
import { reportPeak } from '../launcher/peak-worker.js';
import type { InitMessage, PeakRequest } from '../launcher/protocol.js';
import { processPort } from '../launcher/worker.js';
import { SCENARIOS } from '../scenarios/registry.js';
import { isUserError } from '../util/errors.js';

async function main(): Promise<void> {
  const port = processPort();
  const first = await port.receive();
  if (first.type === 'peak') return reportPeak(first as PeakRequest);
  if (first.type !== 'init') throw new Error(`expected an init message, got ${JSON.stringify(first).slice(0, 200)}`);
  const init = first as InitMessage;
  const scenario = SCENARIOS[init.scenario as keyof typeof SCENARIOS];
  if (!scenario) throw new Error(`no scenario named ${JSON.stringify(init.scenario)}`);
  await scenario.worker(init, port);
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    try {
      await processPort().send({ type: 'error', message });
    } finally {
      // A model the user gave that cannot run is said by the message; a stack is for bench's own bugs.
      if (!isUserError(err)) process.stderr.write(`${err instanceof Error ? (err.stack ?? message) : message}\n`);
      process.exit(1);
    }
  },
);
