/**
 * The one error type of the config layer. Messages follow Hydra's wording where Hydra has one
 * (Hydra 1.3's messages, as its tests expect them), name the key or flag, and say what would work.
 */
import { UserError } from '../util/errors.js';
export class ConfigError extends UserError {
  override readonly name = 'ConfigError';
}

/** Raised when the command line or a config file asks for a sweep outside multirun, and similar. */
export class OverrideParseError extends ConfigError {
  constructor(
    message: string,
    /** Hydra's own message for the refusal (its HydraException's text), when the grammar refused it. */
    readonly detail: string = message,
  ) {
    super(message);
  }
}
