/**
 * Writes that may fail (a full disk) without stopping the loop that makes them: a sweep's summary,
 * a tune's files. Each failure is kept under what it wrote until a later write of it succeeds, so
 * the caller can say at the end which files it lost.
 */
export class WriteGuard {
  private readonly failed = new Map<string, string>();

  /** Runs `write`; a failure is kept as `what: message`, not thrown. */
  run(what: string, write: () => void): void {
    try {
      write();
      this.failed.delete(what);
    } catch (err) {
      this.failed.set(what, `${what}: ${(err as Error).message}`);
    }
  }

  /** The writes that failed last time they were tried. */
  errors(): string[] {
    return [...this.failed.values()];
  }
}
