/** A model that cannot be found, read, synthesized, downloaded or fed; the message names the key and the fix. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
}
