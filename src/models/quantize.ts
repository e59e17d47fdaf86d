/**
 * Dynamic int8 quantization as an ONNX graph rewrite, the equivalent of ONNX Runtime's Python
 * `quantize_dynamic` (IntegerOps mode), written in TypeScript so a bench user never needs Python.
 *
 * Weights (constant B of MatMul/Gemm, the packed QKV weight of a fused Attention, optionally
 * embedding tables) are quantized once, here; activations are quantized at run time by the graph:
 * - operators 'com.microsoft': MatMul -> DynamicQuantizeMatMul (the bias Add folded in), which is
 *   also what ORT's own optimizer turns the standard form into;
 * - operators 'onnx': DynamicQuantizeLinear + MatMulInteger + Cast + Mul (standard ops only, the
 *   graph quantize_dynamic writes), for runtimes without the contrib ops;
 * - Attention (com.microsoft, present when the graph was pre-optimized by ORT) -> DynamicQuantizeLinear
 *   + QAttention, as quantize_dynamic does on an optimized transformer;
 * - Gather over a constant table (embeddings, only when asked) -> Gather on int8 + DequantizeLinear.
 * LayerNorms, softmax and the rest stay fp32.
 *
 * Weight quantization follows ORT's quant_utils: int8 is symmetric over [-127, 127] ([-64, 64] with
 * reduce_range), uint8 asymmetric over [0, 255] ([0, 127]), zero point and scale from the range
 * including 0, values rounded half to even (numpy's rint), per tensor or per output column.
 *
 * The rewrite is pure (bytes in, bytes out) and never prints; file handling and ORT's
 * pre-optimization live in quantize-file.ts.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { decodeModel, int64ToNumber } from './onnx-builder.js';
import { ModelError } from './errors.js';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const ATTR = onnx.AttributeProto.AttributeType;
const MS_DOMAIN = 'com.microsoft';

export const WEIGHT_TYPES = ['int8', 'uint8'] as const;
export const QUANTIZABLE_OP_TYPES = ['MatMul', 'Gemm', 'Attention', 'Gather'] as const;
export const QUANTIZATION_OPERATORS = ['com.microsoft', 'onnx'] as const;

export type WeightType = (typeof WEIGHT_TYPES)[number];
export type QuantizableOpType = (typeof QUANTIZABLE_OP_TYPES)[number];
export type QuantizationOperators = (typeof QUANTIZATION_OPERATORS)[number];

export interface QuantizationSettings {
  /** int8: symmetric, zero point 0 (the fast u8 x s8 kernels); uint8: asymmetric. */
  readonly weight_type: WeightType;
  /** One scale per output column of each weight instead of one per tensor. */
  readonly per_channel: boolean;
  /** 7-bit weights, for CPUs without VNNI where u8 x s8 products can saturate (AVX2). */
  readonly reduce_range: boolean;
  /** Op types whose weights are quantized; Gather quantizes embedding tables. */
  readonly op_types: readonly QuantizableOpType[];
  /** Node names left in fp32 (names in the graph that is quantized, so after pre-optimization). */
  readonly exclude_nodes: readonly string[];
  /** Which operators carry the integer MatMuls (see the file comment). */
  readonly operators: QuantizationOperators;
  /** Let ONNX Runtime fuse the graph first (level extended: Attention, SkipLayerNormalization, ...)
   * so attention is quantized as one QAttention instead of losing its fusion. Off by default: on
   * bert-base-cased 1x128, 2 threads, the unfused graph with int8 Q/K/V ran as fast or faster
   * (docs/performance.md, int8). */
  readonly preoptimize: boolean;
}

/** The defaults; configs/model/quantization/dynamic.yaml carries the same values. */
export const DEFAULT_QUANTIZATION: QuantizationSettings = {
  weight_type: 'int8',
  per_channel: false,
  reduce_range: false,
  op_types: ['MatMul', 'Gemm', 'Attention'],
  exclude_nodes: [],
  operators: 'com.microsoft',
  preoptimize: false,
};

export interface SkippedNode {
  readonly node: string;
  readonly op_type: string;
  readonly reason: string;
}

export interface QuantizeReport {
  /** Nodes rewritten, by original op type. */
  readonly quantized: Readonly<Record<string, number>>;
  readonly nodes_quantized: number;
  /** Candidates of the requested op types left in fp32, with the reason. */
  readonly skipped: readonly SkippedNode[];
  /** Bytes of the float weights replaced, and of the integer weights (with scales) replacing them. */
  readonly weight_bytes_before: number;
  readonly weight_bytes_after: number;
  readonly size_bytes_before: number;
  readonly size_bytes_after: number;
  /** Op-type counts of the rewritten graph, sorted by op type. */
  readonly op_counts: Readonly<Record<string, number>>;
}

export interface QuantizeResult {
  readonly bytes: Uint8Array;
  readonly report: QuantizeReport;
}

/** Checks settings that did not come through the config schema (the `bench quantize` flags, API use). */
export function validateQuantizationSettings(s: QuantizationSettings): void {
  if (!WEIGHT_TYPES.includes(s.weight_type))
    throw new ModelError(
      `weight_type: expected one of ${WEIGHT_TYPES.join(', ')}, got ${JSON.stringify(s.weight_type)}`,
    );
  if (!QUANTIZATION_OPERATORS.includes(s.operators)) {
    throw new ModelError(
      `operators: expected one of ${QUANTIZATION_OPERATORS.join(', ')}, got ${JSON.stringify(s.operators)}`,
    );
  }
  for (const op of s.op_types) {
    if (!QUANTIZABLE_OP_TYPES.includes(op)) {
      throw new ModelError(
        `op_types: ${JSON.stringify(op)} cannot be quantized dynamically; choose from ${QUANTIZABLE_OP_TYPES.join(', ')} (LayerNorms and activations stay fp32)`,
      );
    }
  }
}

// ---- Weight quantization (numbers only) ----

export interface QuantizedWeight {
  readonly data: Int8Array | Uint8Array;
  /** One scale (per tensor) or one per column. */
  readonly scale: Float32Array;
  readonly zeroPoint: Int8Array | Uint8Array;
}

/** numpy.rint: round half to even. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export function quantizationRange(type: WeightType, reduceRange: boolean): { qmin: number; qmax: number } {
  if (type === 'int8') return reduceRange ? { qmin: -64, qmax: 64 } : { qmin: -127, qmax: 127 };
  return reduceRange ? { qmin: 0, qmax: 127 } : { qmin: 0, qmax: 255 };
}

/** Scale and zero point of one range, as quant_utils.compute_scale_zp computes them. */
function scaleAndZeroPoint(
  min: number,
  max: number,
  type: WeightType,
  reduceRange: boolean,
): { scale: number; zeroPoint: number } {
  const { qmin, qmax } = quantizationRange(type, reduceRange);
  let rmin = Math.min(min, 0);
  let rmax = Math.max(max, 0);
  if (type === 'int8') {
    const absMax = Math.max(Math.abs(rmin), Math.abs(rmax));
    rmin = -absMax;
    rmax = absMax;
  }
  const scale = Math.fround((rmax - rmin) / (qmax - qmin));
  // A constant-zero tensor: any scale reproduces it; quant_utils uses 1.
  if (!(scale > 0) || !Number.isFinite(scale)) return { scale: 1, zeroPoint: type === 'int8' ? 0 : qmin };
  const zeroPoint = type === 'int8' ? 0 : Math.min(qmax, Math.max(qmin, rint(qmin - rmin / scale)));
  return { scale, zeroPoint };
}

/**
 * Quantizes a [rows, cols] row-major weight (MatMul's B: rows = K in, cols = N out), per tensor or
 * per column (axis 1, the output channels).
 */
export function quantizeWeight(
  w: Float32Array,
  rows: number,
  cols: number,
  opts: { type: WeightType; perChannel: boolean; reduceRange: boolean },
): QuantizedWeight {
  const { qmin, qmax } = quantizationRange(opts.type, opts.reduceRange);
  const groups = opts.perChannel ? cols : 1;
  const mins = new Float64Array(groups).fill(Infinity);
  const maxs = new Float64Array(groups).fill(-Infinity);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = w[r * cols + c]!;
      const g = opts.perChannel ? c : 0;
      if (v < mins[g]!) mins[g] = v;
      if (v > maxs[g]!) maxs[g] = v;
    }
  }
  const scale = new Float32Array(groups);
  const zeroPoint = opts.type === 'int8' ? new Int8Array(groups) : new Uint8Array(groups);
  for (let g = 0; g < groups; g++) {
    const sz = scaleAndZeroPoint(mins[g]!, maxs[g]!, opts.type, opts.reduceRange);
    scale[g] = sz.scale;
    zeroPoint[g] = sz.zeroPoint;
  }
  const data = opts.type === 'int8' ? new Int8Array(w.length) : new Uint8Array(w.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const g = opts.perChannel ? c : 0;
      // Math.fround: numpy divides in float32; a double division rounded once to float32 is the same.
      const q = rint(Math.fround(w[r * cols + c]! / scale[g]!)) + zeroPoint[g]!;
      data[r * cols + c] = Math.min(qmax, Math.max(qmin, q));
    }
  }
  return { data, scale, zeroPoint };
}

// ---- Graph rewrite ----

type Node = Onnx.INodeProto;
type Tensor = Onnx.ITensorProto;

interface FloatTensor {
  readonly dims: number[];
  readonly data: Float32Array;
}

/** Float32 values of a FLOAT initializer (raw or float_data); null when stored externally. */
function readFloatTensor(t: Tensor): FloatTensor | null {
  if (t.dataType !== DT.FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return null;
  const dims = (t.dims ?? []).map(int64ToNumber);
  if (t.rawData && t.rawData.length > 0) {
    // Copy: decoded bytes are a view into the model buffer and need not be 4-byte aligned.
    const bytes = new Uint8Array(t.rawData);
    return { dims, data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) };
  }
  return { dims, data: Float32Array.from(t.floatData ?? []) };
}

function tensor(name: string, data: Float32Array | Int8Array | Uint8Array, dims: readonly number[]): Tensor {
  const dataType = data instanceof Float32Array ? DT.FLOAT : data instanceof Int8Array ? DT.INT8 : DT.UINT8;
  return { name, dims: [...dims], dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function intAttribute(node: Node, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i === undefined || a.i === null ? fallback : int64ToNumber(a.i);
}

function floatAttribute(node: Node, name: string, fallback: number): number {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.f === undefined || a.f === null ? fallback : a.f;
}

class Rewriter {
  private readonly initializers = new Map<string, Tensor>();
  private readonly names = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** How many nodes read each tensor (to know when a bias Add can be folded, a weight dropped). */
  private readonly uses = new Map<string, number>();
  private readonly graphOutputs: Set<string>;
  private readonly consumers = new Map<string, Node[]>();
  /** Quantized weights already emitted, by source name and layout, shared by nodes that share a weight. */
  private readonly quantizedWeights = new Map<string, { q: string; scale: string; zeroPoint: string; bytes: number }>();
  /** DynamicQuantizeLinear outputs already emitted, by the quantized tensor ('onnx' operators). */
  private readonly dynamicInputs = new Map<string, { q: string; scale: string; zeroPoint: string }>();
  private readonly newInitializers: Tensor[] = [];
  readonly quantized: Record<string, number> = {};
  readonly skipped: SkippedNode[] = [];
  weightBytesBefore = 0;
  weightBytesAfter = 0;
  usesContribOps = false;
  usesDynamicQuantizeLinear = false;
  usesDequantizeLinear = false;
  /** Nodes dropped (folded bias Adds). */
  readonly removed = new Set<Node>();

  constructor(
    private readonly graph: Onnx.IGraphProto,
    private readonly s: QuantizationSettings,
  ) {
    for (const t of graph.initializer ?? []) {
      if (t.name) this.initializers.set(t.name, t);
      if (t.name) this.names.add(t.name);
    }
    for (const i of graph.input ?? []) if (i.name) this.names.add(i.name);
    for (const n of graph.node ?? []) {
      if (n.name) this.nodeNames.add(n.name);
      for (const o of n.output ?? []) this.names.add(o);
      for (const i of n.input ?? []) {
        if (i === '') continue;
        this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
        this.consumers.set(i, [...(this.consumers.get(i) ?? []), n]);
      }
    }
    this.graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
  }

  /** Rewrites every node; returns the new node list in a valid topological order. */
  run(): Node[] {
    const out: Node[] = [];
    const wanted = new Set<string>(this.s.op_types);
    const excluded = new Set(this.s.exclude_nodes);
    for (const node of this.graph.node ?? []) {
      if (this.removed.has(node)) continue;
      const op = node.opType ?? '';
      const domain = node.domain ?? '';
      const kind =
        op === 'Attention'
          ? domain === MS_DOMAIN
            ? 'Attention'
            : null
          : domain === '' || domain === 'ai.onnx'
            ? op
            : null;
      if (kind === null || !wanted.has(kind)) {
        out.push(node);
        continue;
      }
      if (node.name && excluded.has(node.name)) {
        this.skip(node, 'excluded (exclude_nodes)');
        out.push(node);
        continue;
      }
      let replacement: Node[] | string;
      switch (kind) {
        case 'MatMul':
          replacement = this.matMul(node);
          break;
        case 'Gemm':
          replacement = this.gemm(node);
          break;
        case 'Attention':
          replacement = this.attention(node);
          break;
        case 'Gather':
          replacement = this.gather(node);
          break;
        default:
          out.push(node);
          continue;
      }
      if (typeof replacement === 'string') {
        this.skip(node, replacement);
        out.push(node);
      } else {
        this.quantized[kind] = (this.quantized[kind] ?? 0) + 1;
        out.push(...replacement);
      }
    }
    return out;
  }

  /** Initializers after the rewrite: the new ones added, the float weights no node reads any more dropped. */
  finalInitializers(nodes: readonly Node[]): Tensor[] {
    const read = new Set<string>();
    for (const n of nodes) for (const i of n.input ?? []) read.add(i);
    for (const o of this.graph.output ?? []) read.add(o.name ?? '');
    const kept: Tensor[] = [];
    for (const t of [...(this.graph.initializer ?? []), ...this.newInitializers]) {
      if (read.has(t.name ?? '')) kept.push(t);
    }
    return kept;
  }

  private skip(node: Node, reason: string): void {
    this.skipped.push({ node: node.name ?? '', op_type: node.opType ?? '', reason });
  }

  private freshName(base: string): string {
    let name = base;
    for (let i = 1; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  private freshNodeName(base: string): string {
    let name = base;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${base}_${i}`;
    this.nodeNames.add(name);
    return name;
  }

  private addInitializer(base: string, data: Float32Array | Int8Array | Uint8Array, dims: readonly number[]): string {
    const name = this.freshName(base);
    this.newInitializers.push(tensor(name, data, dims));
    return name;
  }

  /** A constant float matrix input, or why it is not one. */
  private constantMatrix(name: string | undefined): FloatTensor | string {
    const t = name ? this.initializers.get(name) : undefined;
    if (!t) return 'weight input is not a constant (an initializer)';
    const f = readFloatTensor(t);
    if (!f) return t.dataType !== DT.FLOAT ? 'weight is not float32' : 'weight is stored as external data';
    if (f.dims.length !== 2) return `weight has rank ${f.dims.length}, not 2`;
    return f;
  }

  /** Quantizes (once) a [K, N] weight; `transposed` means the stored tensor is [N, K] (Gemm transB). */
  private weight(
    name: string,
    f: FloatTensor,
    transposed: boolean,
    scaleFactor = 1,
  ): { q: string; scale: string; zeroPoint: string } {
    const key = `${name}|${transposed}|${scaleFactor}`;
    const cached = this.quantizedWeights.get(key);
    if (cached) return cached;
    let [rows, cols] = f.dims as [number, number];
    let data = f.data;
    if (transposed) {
      data = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = f.data[r * cols + c]!;
      [rows, cols] = [cols, rows];
    }
    const qw = quantizeWeight(data, rows, cols, {
      type: this.s.weight_type,
      perChannel: this.s.per_channel,
      reduceRange: this.s.reduce_range,
    });
    const scale = scaleFactor === 1 ? qw.scale : qw.scale.map((x) => Math.fround(x * scaleFactor));
    const vectorDims = this.s.per_channel ? [cols] : [];
    const result = {
      q: this.addInitializer(`${name}_quantized`, qw.data, [rows, cols]),
      scale: this.addInitializer(`${name}_scale`, scale, vectorDims),
      zeroPoint: this.addInitializer(`${name}_zero_point`, qw.zeroPoint, vectorDims),
      bytes: qw.data.byteLength + scale.byteLength + qw.zeroPoint.byteLength,
    };
    this.quantizedWeights.set(key, result);
    this.weightBytesBefore += f.data.byteLength;
    this.weightBytesAfter += result.bytes;
    return result;
  }

  /** DynamicQuantizeLinear of an activation, shared by every node that reads it. */
  private dynamicQuantize(input: string, emitted: Node[]): { q: string; scale: string; zeroPoint: string } {
    const cached = this.dynamicInputs.get(input);
    if (cached) return cached;
    const base = input.replace(/[^A-Za-z0-9_./:-]/g, '_');
    const q = this.freshName(`${base}_quantized`);
    const scale = this.freshName(`${base}_scale`);
    const zeroPoint = this.freshName(`${base}_zero_point`);
    emitted.push({
      name: this.freshNodeName(`${base}_QuantizeLinear`),
      opType: 'DynamicQuantizeLinear',
      input: [input],
      output: [q, scale, zeroPoint],
    });
    this.usesDynamicQuantizeLinear = true;
    const result = { q, scale, zeroPoint };
    this.dynamicInputs.set(input, result);
    return result;
  }

  /** A bias Add right after `node` that can be folded: its only reader, with a constant [N] vector. */
  private foldableBias(node: Node, n: number): { add: Node; bias: Float32Array } | null {
    const out = node.output?.[0] ?? '';
    if (this.graphOutputs.has(out) || this.uses.get(out) !== 1) return null;
    const add = this.consumers.get(out)?.[0];
    if (!add || add.opType !== 'Add' || (add.domain ?? '') !== '' || add.input?.length !== 2) return null;
    const other = add.input[0] === out ? add.input[1] : add.input[0];
    const t = other ? this.initializers.get(other) : undefined;
    const f = t ? readFloatTensor(t) : null;
    if (!f || f.data.length !== n || f.dims.length !== 1) return null;
    return { add, bias: f.data };
  }

  /** The float result of an integer MatMul, standard ops: MatMulInteger -> Cast -> Mul(a_scale * w_scale). */
  private integerMatMul(
    node: Node,
    input: string,
    w: { q: string; scale: string; zeroPoint: string },
    output: string,
  ): Node[] {
    const emitted: Node[] = [];
    const a = this.dynamicQuantize(input, emitted);
    const stem = node.name || output;
    const product = this.freshName(`${output}_quantized`);
    const asFloat = this.freshName(`${output}_quantized_cast_output`);
    const scales = this.freshName(`${stem}_scales_mul:0`);
    emitted.push(
      {
        name: this.freshNodeName(`${stem}_quant`),
        opType: 'MatMulInteger',
        input: [a.q, w.q, a.zeroPoint, w.zeroPoint],
        output: [product],
      },
      {
        name: this.freshNodeName(`${stem}_cast`),
        opType: 'Cast',
        input: [product],
        output: [asFloat],
        attribute: [{ name: 'to', type: ATTR.INT, i: DT.FLOAT }],
      },
      { name: this.freshNodeName(`${stem}_scales_mul`), opType: 'Mul', input: [a.scale, w.scale], output: [scales] },
      {
        name: this.freshNodeName(`${stem}_output_scale_mul`),
        opType: 'Mul',
        input: [asFloat, scales],
        output: [output],
      },
    );
    return emitted;
  }

  private matMul(node: Node): Node[] | string {
    const f = this.constantMatrix(node.input?.[1]);
    if (typeof f === 'string') return f;
    const input = node.input?.[0] ?? '';
    const output = node.output?.[0] ?? '';
    const w = this.weight(node.input![1]!, f, false);
    if (this.s.operators === 'onnx') return this.integerMatMul(node, input, w, output);
    const folded = this.foldableBias(node, f.dims[1]!);
    const inputs = [input, w.q, w.scale, w.zeroPoint];
    let out = output;
    if (folded) {
      this.removed.add(folded.add);
      inputs.push(folded.add.input![0] === output ? folded.add.input![1]! : folded.add.input![0]!);
      out = folded.add.output![0]!;
    }
    this.usesContribOps = true;
    return [
      {
        name: this.freshNodeName(`${node.name || out}_quant`),
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        input: inputs,
        output: [out],
      },
    ];
  }

  private gemm(node: Node): Node[] | string {
    if (intAttribute(node, 'transA', 0) !== 0) return 'transA=1 is not supported';
    const f = this.constantMatrix(node.input?.[1]);
    if (typeof f === 'string') return f;
    const alpha = floatAttribute(node, 'alpha', 1);
    const beta = floatAttribute(node, 'beta', 1);
    if (!(alpha > 0)) return `alpha=${alpha} is not positive`;
    const transposed = intAttribute(node, 'transB', 0) === 1;
    const n = transposed ? f.dims[0]! : f.dims[1]!;
    let bias: string | null = null;
    const c = node.input?.[2];
    if (c) {
      const t = this.initializers.get(c);
      const cf = t ? readFloatTensor(t) : null;
      if (!cf || (cf.data.length !== n && cf.data.length !== 1) || cf.dims.length > 2)
        return 'C is not a constant bias vector';
      const values = new Float32Array(n).map((_, i) => Math.fround(beta * cf.data[cf.data.length === 1 ? 0 : i]!));
      bias = this.addInitializer(`${c}_bias`, values, [n]);
    }
    const input = node.input?.[0] ?? '';
    const output = node.output?.[0] ?? '';
    const w = this.weight(node.input![1]!, f, transposed, alpha);
    if (this.s.operators === 'onnx') {
      if (bias === null) return this.integerMatMul(node, input, w, output);
      const unbiased = this.freshName(`${output}_unbiased`);
      return [
        ...this.integerMatMul(node, input, w, unbiased),
        {
          name: this.freshNodeName(`${node.name || output}_bias_add`),
          opType: 'Add',
          input: [unbiased, bias],
          output: [output],
        },
      ];
    }
    this.usesContribOps = true;
    return [
      {
        name: this.freshNodeName(`${node.name || output}_quant`),
        opType: 'DynamicQuantizeMatMul',
        domain: MS_DOMAIN,
        input: [input, w.q, w.scale, w.zeroPoint, ...(bias ? [bias] : [])],
        output: [output],
      },
    ];
  }

  /** com.microsoft Attention (input, weights, bias, mask_index) -> DynamicQuantizeLinear + QAttention. */
  private attention(node: Node): Node[] | string {
    const inputs = node.input ?? [];
    if (inputs.slice(4).some((i) => i !== ''))
      return 'past state or attention bias inputs are not supported by QAttention';
    const supported = new Set(['num_heads', 'unidirectional', 'mask_filter_value']);
    const other = (node.attribute ?? []).find((a) => !supported.has(a.name ?? ''));
    if (other) return `attribute ${other.name} is not supported by QAttention`;
    if (floatAttribute(node, 'mask_filter_value', -10000) !== -10000)
      return 'mask_filter_value other than -10000 is not supported by QAttention';
    const f = this.constantMatrix(inputs[1]);
    if (typeof f === 'string') return f;
    const bias = inputs[2] ? this.initializers.get(inputs[2]) : undefined;
    if (!bias || bias.dataType !== DT.FLOAT) return 'bias is not a constant float vector';
    const w = this.weight(inputs[1]!, f, false);
    const emitted: Node[] = [];
    const a = this.dynamicQuantize(inputs[0] ?? '', emitted);
    emitted.push({
      name: this.freshNodeName(`${node.name || node.output?.[0]}_quant`),
      opType: 'QAttention',
      domain: MS_DOMAIN,
      input: [a.q, w.q, inputs[2]!, a.scale, w.scale, inputs[3] ?? '', a.zeroPoint, w.zeroPoint],
      output: [...(node.output ?? [])],
      attribute: (node.attribute ?? []).filter((x) => x.name !== 'mask_filter_value'),
    });
    this.usesContribOps = true;
    return emitted;
  }

  /** Gather over a constant [rows, dim] table on axis 0 (embeddings) -> int8 Gather + DequantizeLinear. */
  private gather(node: Node): Node[] | string {
    if (intAttribute(node, 'axis', 0) !== 0) return 'axis is not 0';
    const name = node.input?.[0];
    const f = this.constantMatrix(name);
    if (typeof f === 'string') return f.replace('weight', 'table');
    // Per tensor always: a per-column DequantizeLinear needs opset 13.
    const qw = quantizeWeight(f.data, f.dims[0]!, f.dims[1]!, {
      type: this.s.weight_type,
      perChannel: false,
      reduceRange: this.s.reduce_range,
    });
    const key = `${name}|gather`;
    let cached = this.quantizedWeights.get(key);
    if (!cached) {
      cached = {
        q: this.addInitializer(`${name}_quantized`, qw.data, f.dims),
        scale: this.addInitializer(`${name}_scale`, qw.scale, []),
        zeroPoint: this.addInitializer(`${name}_zero_point`, qw.zeroPoint, []),
        bytes: qw.data.byteLength + 5,
      };
      this.quantizedWeights.set(key, cached);
      this.weightBytesBefore += f.data.byteLength;
      this.weightBytesAfter += cached.bytes;
    }
    const output = node.output?.[0] ?? '';
    const gathered = this.freshName(`${output}_quantized`);
    this.usesDequantizeLinear = true;
    return [
      {
        name: this.freshNodeName(`${node.name || output}_quant`),
        opType: 'Gather',
        input: [cached.q, ...(node.input ?? []).slice(1)],
        output: [gathered],
        attribute: node.attribute ?? [],
      },
      {
        name: this.freshNodeName(`${node.name || output}_dequantize`),
        opType: 'DequantizeLinear',
        input: [gathered, cached.scale, cached.zeroPoint],
        output: [output],
      },
    ];
  }
}

/** Quantizes a serialized fp32 ONNX model; the result is a serialized model with the same inputs and outputs. */
export function quantizeModel(bytes: Uint8Array, settings: QuantizationSettings): QuantizeResult {
  validateQuantizationSettings(settings);
  let model: Onnx.ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new ModelError(`not an ONNX model (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0) throw new ModelError('not an ONNX model (no graph nodes)');

  const rewriter = new Rewriter(graph, settings);
  const nodes = rewriter.run();
  const initializers = rewriter.finalInitializers(nodes);
  const kept = new Set(initializers.map((t) => t.name ?? ''));
  const dropped = new Set((graph.initializer ?? []).map((t) => t.name ?? '').filter((n) => !kept.has(n)));

  const opsetOf = (domain: string): number | null => {
    const entry = (model.opsetImport ?? []).find(
      (o) => (o.domain ?? '') === domain || (domain === '' && o.domain === 'ai.onnx'),
    );
    return entry?.version === undefined || entry.version === null ? null : int64ToNumber(entry.version);
  };
  const onnxOpset = opsetOf('') ?? 0;
  if (rewriter.usesDynamicQuantizeLinear && onnxOpset < 11) {
    throw new ModelError(
      `the model imports ONNX opset ${onnxOpset}; DynamicQuantizeLinear needs opset 11 or later (re-export with a newer opset)`,
    );
  }
  if (rewriter.usesDequantizeLinear && onnxOpset < 10) {
    throw new ModelError(
      `the model imports ONNX opset ${onnxOpset}; DequantizeLinear needs opset 10 or later (re-export with a newer opset)`,
    );
  }

  graph.node = nodes;
  graph.initializer = initializers;
  // Models with IR < 4 also list initializers as graph inputs: a dropped weight must not become a required input.
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
  // Shapes recorded for tensors that no longer exist would only confuse a reader.
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => produced.has(v.name ?? ''));
  if (rewriter.usesContribOps && opsetOf(MS_DOMAIN) === null) {
    model.opsetImport = [...(model.opsetImport ?? []), { domain: MS_DOMAIN, version: 1 }];
  }

  const out = onnx.ModelProto.encode(model).finish();
  const counts = new Map<string, number>();
  for (const n of nodes) counts.set(n.opType ?? '', (counts.get(n.opType ?? '') ?? 0) + 1);
  const report: QuantizeReport = {
    quantized: rewriter.quantized,
    nodes_quantized: Object.values(rewriter.quantized).reduce((a, b) => a + b, 0),
    skipped: rewriter.skipped,
    weight_bytes_before: rewriter.weightBytesBefore,
    weight_bytes_after: rewriter.weightBytesAfter,
    size_bytes_before: bytes.length,
    size_bytes_after: out.length,
    op_counts: Object.fromEntries([...counts.entries()].sort(([a], [b]) => a.localeCompare(b))),
  };
  return { bytes: out, report };
}
