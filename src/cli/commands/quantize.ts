/**
 * `bench quantize INPUT.onnx OUTPUT.onnx [flags]`: the rewrite behind `model.dtype=int8`, on any fp32
 * ONNX file, with the same knobs as `model.quantization`. Prints one line (or the full report with
 * --format json); a bad argument gets a message naming it and exit code 1.
 */
import { argParser, UsageError } from '../args.js';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  DEFAULT_QUANTIZATION,
  QUANTIZABLE_OP_TYPES,
  QUANTIZATION_OPERATORS,
  WEIGHT_TYPES,
  type QuantizableOpType,
  type QuantizationSettings,
} from '../../models/quantize.js';
import { QuantizeFileError, quantizeFile } from '../../models/quantize-file.js';
import { displayPath } from '../render.js';

export const summary = 'int8 dynamic quantization of an fp32 ONNX model';

const USAGE = `Usage: bench quantize INPUT.onnx OUTPUT.onnx [flags]

Quantizes the weights of MatMul/Gemm (and fused Attention) to int8; activations are quantized at
run time. The same rewrite as model.dtype=int8, with the same defaults as model.quantization.

Flags:
  --weight-type int8|uint8        int8: symmetric (default, fastest on VNNI); uint8: asymmetric
  --per-channel                   one scale per output column (default: one per tensor)
  --reduce-range                  7-bit weights, for CPUs without VNNI
  --op-types LIST                 comma-separated, from ${QUANTIZABLE_OP_TYPES.join(', ')} (default: ${DEFAULT_QUANTIZATION.op_types.join(',')})
  --exclude-nodes LIST            comma-separated node names to keep in fp32
  --operators com.microsoft|onnx  DynamicQuantizeMatMul/QAttention (default) or standard MatMulInteger
  --preoptimize                   let ONNX Runtime fuse the graph first (Attention -> QAttention)
  --format json                   print the full report as JSON
  -h, --help                      this text`;

const list = (v: string | undefined): string[] =>
  v === undefined
    ? []
    : v
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '');

async function parse(
  argv: readonly string[],
): Promise<{ input: string; output: string; settings: QuantizationSettings; json: boolean } | 'help'> {
  const parsed = await argParser(argv)
    .option('weight-type', { type: 'string', choices: WEIGHT_TYPES, default: DEFAULT_QUANTIZATION.weight_type })
    .option('per-channel', { type: 'boolean', default: DEFAULT_QUANTIZATION.per_channel })
    .option('reduce-range', { type: 'boolean', default: DEFAULT_QUANTIZATION.reduce_range })
    .option('op-types', { type: 'string' })
    .option('exclude-nodes', { type: 'string' })
    .option('operators', { type: 'string', choices: QUANTIZATION_OPERATORS, default: DEFAULT_QUANTIZATION.operators })
    .option('preoptimize', { type: 'boolean', default: DEFAULT_QUANTIZATION.preoptimize })
    .option('format', { type: 'string', choices: ['text', 'json'], default: 'text' })
    .option('json', { type: 'boolean' })
    .option('help', { alias: 'h', type: 'boolean', default: false })
    .parseAsync();
  if (parsed.help) return 'help';
  if (parsed.json !== undefined)
    throw new UsageError('--json is now --format json, as in every bench command that prints JSON');
  const positional = parsed._.map(String);
  if (positional.length !== 2) {
    throw new UsageError(
      `expected INPUT.onnx and OUTPUT.onnx, got ${positional.length} argument${positional.length === 1 ? '' : 's'}`,
    );
  }
  const opTypes = parsed['op-types'] === undefined ? [...DEFAULT_QUANTIZATION.op_types] : list(parsed['op-types']);
  for (const op of opTypes) {
    if (!(QUANTIZABLE_OP_TYPES as readonly string[]).includes(op)) {
      throw new UsageError(
        `--op-types: ${JSON.stringify(op)} cannot be quantized dynamically; choose from ${QUANTIZABLE_OP_TYPES.join(', ')}`,
      );
    }
  }
  return {
    input: resolve(positional[0]!),
    output: resolve(positional[1]!),
    json: parsed.format === 'json',
    settings: {
      weight_type: parsed['weight-type'],
      per_channel: parsed['per-channel'],
      reduce_range: parsed['reduce-range'],
      op_types: opTypes as QuantizableOpType[],
      exclude_nodes: list(parsed['exclude-nodes']),
      operators: parsed.operators,
      preoptimize: parsed.preoptimize,
    },
  };
}

/** Checks the two paths before any work, so a typo costs nothing. */
function checkPaths(input: string, output: string): void {
  if (!existsSync(input)) throw new QuantizeFileError('input', `${input} does not exist; give an fp32 .onnx file`);
  if (statSync(input).isDirectory())
    throw new QuantizeFileError('input', `${input} is a folder; give the .onnx file inside it (e.g. onnx/model.onnx)`);
  if (output === input)
    throw new QuantizeFileError('output', `${output} is the input file; write the int8 model to another file`);
  if (existsSync(output) && statSync(output).isDirectory())
    throw new QuantizeFileError('output', `${output} is a folder; give a file name`);
  const dir = dirname(output);
  if (!existsSync(dir)) throw new QuantizeFileError('output', `cannot write ${output}: folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new QuantizeFileError('output', `cannot write ${output}: folder ${dir} is not writable`);
  }
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export async function run(argv: readonly string[]): Promise<number> {
  const args = await parse(argv);
  if (args === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    checkPaths(args.input, args.output);
    const made = await quantizeFile(args.input, args.output, args.settings);
    const r = made.report;
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ input: args.input, output: args.output, settings: args.settings, ...made }, null, 2)}\n`,
      );
      return 0;
    }
    const byOp = Object.entries(r.quantized)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    process.stdout.write(
      `bench quantize: ${r.nodes_quantized} nodes quantized${byOp ? ` (${byOp})` : ''}, ${r.skipped.length} left fp32 · ` +
        `${mb(made.size_bytes_in)} -> ${mb(made.size_bytes_out)} · ${displayPath(args.output)} in ${(made.elapsed_ms / 1000).toFixed(1)} s\n`,
    );
    if (r.nodes_quantized === 0) {
      process.stderr.write(
        `bench quantize: warning: nothing was quantized (no ${args.settings.op_types.join('/')} node with a constant float weight)\n`,
      );
    }
    return 0;
  } catch (err) {
    // Which of the two files is at fault leads the message.
    if (err instanceof QuantizeFileError)
      throw new QuantizeFileError(err.which, `${err.which === 'input' ? 'INPUT' : 'OUTPUT'}: ${err.message}`);
    throw err;
  }
}
