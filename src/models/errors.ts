/** A model that cannot be found, read, synthesized, downloaded or fed; the message names the key and the fix. */
import { UserError } from '../util/errors.js';
export class ModelError extends UserError {
  override readonly name = 'ModelError';
}
