/**
 * Signals for the commands that run benchmarks (a run, a sweep, bench tune).
 *
 * Ctrl-C / SIGTERM: the first one stops the instances and writes what finished (exit 130 / 143);
 * a second one exits at once (execa's cleanup still kills the children). A copy of the first that
 * arrives within a second does not count as the second: tools such as `timeout` signal both the
 * process and its group, so bench can receive one interrupt twice.
 */
const SAME_SIGNAL_MS = 1000;
export interface InterruptHandling {
  readonly signal: AbortSignal;
  exitCode(): number | null;
  dispose(): void;
}

export function interruptHandling(): InterruptHandling {
  const controller = new AbortController();
  let received: NodeJS.Signals | null = null;
  let receivedAt = 0;
  const code = (sig: NodeJS.Signals): number => (sig === 'SIGINT' ? 130 : 143);
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received) {
      if (sig === received && Date.now() - receivedAt < SAME_SIGNAL_MS) return;
      process.exit(code(sig));
    }
    received = sig;
    receivedAt = Date.now();
    process.stderr.write(
      `\nbench: ${sig}: stopping the instances and writing what finished (${sig === 'SIGINT' ? 'Ctrl-C' : 'signal'} again to quit at once)\n`,
    );
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () => (received ? code(received) : null),
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
