/**
 * The one error type of the topology layer: unreadable or unrecognised lscpu/sysfs data, a bad
 * CPU list, a cpuset that leaves no CPU. Messages name the file, key or text at fault and say what
 * would work; the CLI catches and prints them.
 */
import { UserError } from '../util/errors.js';
export class TopologyError extends UserError {
  override readonly name = 'TopologyError';
}
