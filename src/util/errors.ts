/**
 * Who is at fault. A UserError is a problem with what the user asked for (a key, a flag, a file, a
 * plan the machine cannot hold): its message names the thing and the fix, and the CLI prints it
 * without a stack trace and exits non-zero (src/cli/main.ts, the one place that maps errors to exit
 * codes). Any other error is a bug of bench's and is printed with its stack. Each domain has its
 * subclass (ConfigError, TopologyError, PlanError, LaunchError, ModelError, ResultsError,
 * ReportInputError, UsageError), so callers can still tell them apart.
 */
export class UserError extends Error {
  override readonly name: string = 'UserError';
}

export const isUserError = (err: unknown): err is UserError => err instanceof UserError;
