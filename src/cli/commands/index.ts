/**
 * Subcommands with flags of their own (`bench compare A B`, `bench report DIR`, ...). Each module
 * exports `run(argv)`, returning the exit code; it may print, since it lives in src/cli/. The
 * config-driven commands (a run, a sweep, `topology`, `plan`) are handled in main.ts.
 */
export interface Subcommand {
  readonly summary: string;
  /** Returns the exit code; a UserError it throws is printed by src/cli/main.ts with troubleExitCode (default 1). */
  run(argv: readonly string[]): Promise<number>;
  readonly troubleExitCode?: number;
}

export const SUBCOMMANDS: Readonly<Record<string, () => Promise<Subcommand>>> = {
  // One line per subcommand: name: () => import('./name.js'),
  compare: () => import('./compare.js'),
  report: () => import('./report.js'),
  quantize: () => import('./quantize.js'),
  tune: () => import('./tune.js'),
  gather: () => import('./gather.js'),
  export: () => import('./export.js'),
};
