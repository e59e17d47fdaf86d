/**
 * What every real backend says of its model and of the inputs it prepared, in results.json: the
 * same fields whichever runtime ran, so results of two runtimes read alike.
 */
import type { Feed } from '../models/inputs.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { InputShape } from './types.js';

/** Inputs one backend prepared: their shape and what was fed. */
export interface DescribedInputs {
  readonly shape: InputShape;
  readonly inputs: readonly Feed[];
}

/**
 * The inputs fed: of one shape, each input with its dims and the padded tokens; of several (a
 * dispatch run's request lengths), the inputs with symbolic dims and every shape prepared.
 */
export function describeInputs(prepared: readonly DescribedInputs[]): Record<string, unknown> {
  const first = prepared[0];
  if (!first) return { inputs: [] };
  if (prepared.length === 1) {
    // Tokens of every sequence fed as padding (scenario.padding), counted in the mask fed.
    return {
      inputs: first.inputs.map((f) => ({ name: f.name, role: f.role, type: f.type, dims: f.dims })),
      padded_tokens: paddedInFeeds(first.inputs),
    };
  }
  return {
    inputs: first.inputs.map((f) => ({ name: f.name, role: f.role, type: f.type, dims: ['batch', 'request length'] })),
    shapes: prepared.map((p) => [p.shape.batchSize, p.shape.sequenceLength]),
  };
}

/** Masked tokens in the first sequence of the attention mask fed (0 when there is no mask). */
function paddedInFeeds(feeds: readonly Feed[]): number {
  const mask = feeds.find((f) => f.role === 'attention_mask');
  if (!mask) return 0;
  let zeros = 0;
  for (let t = 0; t < mask.dims[1]; t++) if (Number(mask.data[t]) === 0) zeros++;
  return zeros;
}

/** The model a backend ran: where it came from, its architecture, its precision. */
export function describeModel(m: ResolvedModel, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: m.name,
    file: m.file,
    source: m.source,
    weights: m.weights,
    size_mb: Number(m.size_mb.toFixed(1)),
    cached: m.cached,
    architecture: m.arch,
    architecture_source: m.arch_source,
    ...(m.arch_note !== null ? { architecture_note: m.arch_note } : {}),
    dtype: m.dtype ?? 'fp32',
    ...(m.int8_ops ? { int8_ops: m.int8_ops } : {}),
    ...(m.hub ? { hub: m.hub } : {}),
    ...extra,
  };
}
