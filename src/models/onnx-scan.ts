/**
 * A read-only outline of an ONNX file (nodes, initializer shapes, graph inputs), read field by
 * field from disk: weight bytes are skipped, never loaded, so the parent process can learn a user
 * model's inputs and architecture without holding its weights.
 *
 * Protobuf wire format: each field is a varint key (field number << 3 | wire type) followed by a
 * varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5).
 * ModelProto.graph = 7; GraphProto.node = 1, initializer = 5, input = 11; NodeProto.input = 1,
 * output = 2, op_type = 4; TensorProto.dims = 1, name = 8; ValueInfoProto.name = 1, type = 2;
 * TypeProto.tensor_type = 1; TypeProto.Tensor.elem_type = 1, shape = 2; TensorShapeProto.dim = 1;
 * Dimension.dim_value = 1, dim_param = 2 (onnx/onnx.proto3).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { KnownArchitecture } from './arch.js';
import { roleOf } from './inputs.js';

export interface OnnxOutline {
  readonly nodes: readonly {
    readonly opType: string;
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
  }[];
  readonly initializerDims: ReadonlyMap<string, readonly number[]>;
  /**
   * The inputs a caller feeds: graph inputs that are not initializers (before IR version 4 every
   * initializer was also listed as an input). Types use ONNX Runtime's names (float32, int64, ...);
   * a dimension is its value, its symbolic name, or '?' when the file names neither.
   */
  readonly inputs: readonly {
    readonly name: string;
    readonly type: string;
    readonly shape: readonly (number | string)[];
  }[];
}

/** Operators that multiply in 8-bit integers (ONNX and ONNX Runtime's com.microsoft contrib ops). */
const INT8_OPS = new Set([
  'MatMulInteger',
  'ConvInteger',
  'QLinearMatMul',
  'QLinearConv',
  'QGemm',
  'QAttention',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
]);

/**
 * The 8-bit integer multiply operators a graph holds (sorted, once each): a quantized model's. A
 * QDQ graph (static quantization: QuantizeLinear/DequantizeLinear around plain MatMul/Gemm, which
 * ONNX Runtime fuses into integer kernels) counts as `MatMul (QDQ)` / `Gemm (QDQ)`.
 */
export function int8Operators(outline: OnnxOutline): string[] {
  const dequantized = new Set(outline.nodes.filter((n) => n.opType === 'DequantizeLinear').flatMap((n) => n.outputs));
  const ops = outline.nodes.flatMap((n) => {
    if (INT8_OPS.has(n.opType)) return [n.opType];
    if ((n.opType === 'MatMul' || n.opType === 'Gemm') && n.inputs.some((i) => dequantized.has(i)))
      return [`${n.opType} (QDQ)`];
    return [];
  });
  return [...new Set(ops)].sort();
}

/** TensorProto.DataType numbers to the type names ONNX Runtime uses. */
const ELEM_TYPES: Readonly<Record<number, string>> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  14: 'complex64',
  15: 'complex128',
  16: 'bfloat16',
};

class FileCursor {
  private readonly buf = Buffer.alloc(16);

  constructor(
    private readonly fd: number,
    public pos: number,
  ) {}

  varint(): number {
    readSync(this.fd, this.buf, 0, 10, this.pos);
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[i]!;
      result += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) {
        this.pos += i + 1;
        return result;
      }
    }
    throw new Error('malformed varint');
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    readSync(this.fd, out, 0, n, this.pos);
    this.pos += n;
    return out;
  }
}

type FieldVisitor = (field: number, wire: number, c: FileCursor, end: number) => void;

/** Walks the fields of a message in [start, end), calling `visit` for each; unvisited fields are skipped. */
function walk(c: FileCursor, end: number, visit: FieldVisitor): void {
  while (c.pos < end) {
    const key = c.varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    const before = c.pos;
    if (wire === 2) {
      const len = c.varint();
      const bodyStart = c.pos;
      if (bodyStart + len > end) throw new Error(`a field runs past the end of its message (offset ${bodyStart})`);
      visit(field, wire, c, bodyStart + len);
      c.pos = bodyStart + len;
    } else if (wire === 0) {
      visit(field, wire, c, end);
      if (c.pos === before) c.varint();
    } else if (wire === 1) c.pos += 8;
    else if (wire === 5) c.pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
}

export function outlineOnnx(file: string): OnnxOutline {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const c = new FileCursor(fd, 0);
    const nodes: { opType: string; inputs: string[]; outputs: string[] }[] = [];
    const initializerDims = new Map<string, number[]>();
    const declared: { name: string; type: string; shape: (number | string)[] }[] = [];
    walk(c, size, (field, wire, cur, end) => {
      if (field !== 7 || wire !== 2) return;
      walk(cur, end, (gField, gWire, g, gEnd) => {
        if (gWire !== 2) return;
        if (gField === 1) {
          const node = { opType: '', inputs: [] as string[], outputs: [] as string[] };
          walk(g, gEnd, (f, w, n, e) => {
            if (w !== 2) return;
            if (f === 1) node.inputs.push(n.bytes(e - n.pos).toString('utf8'));
            else if (f === 2) node.outputs.push(n.bytes(e - n.pos).toString('utf8'));
            else if (f === 4) node.opType = n.bytes(e - n.pos).toString('utf8');
          });
          nodes.push(node);
        } else if (gField === 5) {
          let name = '';
          const dims: number[] = [];
          walk(g, gEnd, (f, w, t, e) => {
            if (f === 8 && w === 2) name = t.bytes(e - t.pos).toString('utf8');
            else if (f === 1 && w === 0) dims.push(t.varint());
            else if (f === 1 && w === 2) while (t.pos < e) dims.push(t.varint());
          });
          initializerDims.set(name, dims);
        } else if (gField === 11) {
          declared.push(valueInfo(g, gEnd));
        }
      });
    });
    return { nodes, initializerDims, inputs: declared.filter((i) => !initializerDims.has(i.name)) };
  } finally {
    closeSync(fd);
  }
}

/** A ValueInfoProto: name, and for a tensor its element type and shape ('non-tensor' otherwise). */
function valueInfo(c: FileCursor, end: number): { name: string; type: string; shape: (number | string)[] } {
  const info = { name: '', type: 'non-tensor', shape: [] as (number | string)[] };
  walk(c, end, (f, w, v, e) => {
    if (f === 1 && w === 2) info.name = v.bytes(e - v.pos).toString('utf8');
    else if (f === 2 && w === 2) {
      walk(v, e, (tf, tw, t, te) => {
        if (tf !== 1 || tw !== 2) return;
        info.type = 'tensor of no element type';
        walk(t, te, (xf, xw, x, xe) => {
          if (xf === 1 && xw === 0) {
            const code = x.varint();
            info.type = ELEM_TYPES[code] ?? `element type ${code}`;
          } else if (xf === 2 && xw === 2) {
            walk(x, xe, (sf, sw, d, de) => {
              if (sf !== 1 || sw !== 2) return;
              let dim: number | string = '?';
              walk(d, de, (df, dw, q, qe) => {
                if (df === 1 && dw === 0) dim = q.varint();
                else if (df === 2 && dw === 2) dim = q.bytes(qe - q.pos).toString('utf8');
              });
              info.shape.push(dim);
            });
          }
        });
      });
    }
  });
  return info;
}

type OutlineNode = OnnxOutline['nodes'][number];

/** Names that carry `input` unchanged in value (Cast of the ids to int32, for one). */
function aliasesOf(outline: OnnxOutline, inputs: Iterable<string>): Set<string> {
  const aliases = new Set(inputs);
  for (const n of outline.nodes) {
    if (n.opType === 'Cast' && aliases.has(n.inputs[0] ?? '') && n.outputs[0]) aliases.add(n.outputs[0]);
  }
  return aliases;
}

/**
 * The word embedding table: the data of the Gather fed by input_ids (directly or through a Cast),
 * or input 2 of a fused EmbedLayerNormalization; [vocabulary, hidden].
 */
function wordTable(
  outline: OnnxOutline,
  inputIds: string,
): { readonly name: string; readonly dims: readonly [number, number] } | null {
  const aliases = aliasesOf(outline, [inputIds]);
  for (const n of outline.nodes) {
    const table =
      n.opType === 'Gather' && aliases.has(n.inputs[1] ?? '')
        ? n.inputs[0]
        : n.opType === 'EmbedLayerNormalization' && aliases.has(n.inputs[0] ?? '')
          ? n.inputs[2]
          : undefined;
    const dims = table === undefined ? undefined : outline.initializerDims.get(table);
    if (table !== undefined && dims && dims.length === 2 && dims[0]! > 0 && dims[1]! > 0)
      return { name: table, dims: [dims[0]!, dims[1]!] };
  }
  return null;
}

/** The vocabulary size: rows of the embedding table that `input_ids` indexes; null when the graph does not show it. */
export function vocabularySize(outline: OnnxOutline, inputIds: string): number | null {
  return wordTable(outline, inputIds)?.dims[0] ?? null;
}

/** Which input of a dense op is its weight. */
const WEIGHT_INPUT: Readonly<Record<string, number>> = {
  MatMul: 1,
  Gemm: 1,
  FusedMatMul: 1,
  MatMulInteger: 1,
  MatMulIntegerToFloat: 1,
  DynamicQuantizeMatMul: 1,
  QLinearMatMul: 3,
};
/** Fused attention: input 1 is the Q, K and V weights packed as [hidden, 3 * hidden]. */
const PACKED_ATTENTION = new Set(['Attention', 'QAttention']);
/**
 * Ops a weight may pass through on its way from an initializer to a MatMul (fp16 and QDQ files, transposed weights).
 */
const WEIGHT_PASS_THROUGH = new Set(['Cast', 'DequantizeLinear', 'Identity', 'Transpose']);

export interface GraphArchitecture {
  readonly arch: KnownArchitecture;
  /** Why a field the FLOP count needs is null, or null when none is. */
  readonly note: string | null;
}

const UNKNOWN: KnownArchitecture = {
  model_type: null,
  vocab_size: null,
  hidden_size: null,
  num_hidden_layers: null,
  num_attention_heads: null,
  intermediate_size: null,
  max_position_embeddings: null,
  type_vocab_size: null,
  hidden_act: null,
  layer_norm_eps: null,
  pad_token_id: null,
};

/**
 * A BERT-like encoder's architecture, read from its weights' shapes (names are not relied on: an
 * export calls its MatMul weights onnx::MatMul_1234):
 * - vocabulary and hidden size: the word embedding table, [vocab, hidden];
 * - positions and token types: the other [rows, hidden] tables gathered from (the one indexed by
 *   token_type_ids is the token types; a single remaining one is the positions);
 * - layers and intermediate size: the feed-forward pairs, dense weights [hidden, I] and [I, hidden]
 *   in equal numbers (I != hidden), one pair per layer; the same number of layers must show
 *   4 attention projections each ([hidden, hidden] weights, or a fused Attention's [hidden, 3 * hidden]
 *   plus its output projection), or the FLOP formula would not describe the graph.
 * Model type, heads, activation, LayerNorm epsilon and padding id are not in the weights: null.
 */
export function architectureFromGraph(outline: OnnxOutline): GraphArchitecture {
  const idsInput = outline.inputs.find((i) => roleOf(i.name) === 'input_ids')?.name ?? 'input_ids';
  const word = wordTable(outline, idsInput);
  if (word === null) return { arch: UNKNOWN, note: `the graph has no embedding table indexed by ${idsInput}` };
  const [vocab, hidden] = word.dims;

  const producer = new Map<string, OutlineNode>();
  for (const n of outline.nodes) for (const o of n.outputs) producer.set(o, n);
  const weightDims = (name: string | undefined): readonly number[] | undefined => {
    for (let hops = 0; name !== undefined && hops < 4; hops++) {
      const dims = outline.initializerDims.get(name);
      if (dims) return dims;
      const p = producer.get(name);
      name = p && WEIGHT_PASS_THROUGH.has(p.opType) ? p.inputs[0] : undefined;
    }
    return undefined;
  };

  // Embedding tables besides the words: token types (by the input that indexes them) and positions.
  const typeIds = aliasesOf(
    outline,
    outline.inputs.filter((i) => roleOf(i.name) === 'token_type_ids').map((i) => i.name),
  );
  let typeRows: number | null = null;
  const otherTables = new Map<string, number>();
  for (const n of outline.nodes) {
    const tables: [string | undefined, boolean][] =
      n.opType === 'Gather'
        ? [[n.inputs[0], typeIds.has(n.inputs[1] ?? '')]]
        : n.opType === 'EmbedLayerNormalization'
          ? [
              [n.inputs[3], false],
              [n.inputs[4], true],
            ]
          : [];
    for (const [table, isTypes] of tables) {
      const dims = table === undefined || table === word.name ? undefined : outline.initializerDims.get(table);
      if (!dims || dims.length !== 2 || dims[1] !== hidden) continue;
      if (isTypes) typeRows = dims[0]!;
      else otherTables.set(table!, dims[0]!);
    }
  }
  const positions = otherTables.size === 1 ? [...otherTables.values()][0]! : null;

  // Dense weights by shape.
  let projections = 0;
  const ffn = new Map<number, { in: number; out: number }>();
  for (const n of outline.nodes) {
    if (PACKED_ATTENTION.has(n.opType)) {
      const d = weightDims(n.inputs[1]);
      if (d && d.length === 2 && ((d[0] === hidden && d[1] === 3 * hidden) || (d[0] === 3 * hidden && d[1] === hidden)))
        projections += 3;
      continue;
    }
    const at = WEIGHT_INPUT[n.opType];
    if (at === undefined) continue;
    const d = weightDims(n.inputs[at]);
    if (!d || d.length !== 2) continue;
    const [rows, cols] = [d[0]!, d[1]!];
    if (rows === hidden && cols === hidden) projections++;
    else if (rows === hidden || cols === hidden) {
      const other = rows === hidden ? cols : rows;
      const e = ffn.get(other) ?? { in: 0, out: 0 };
      if (rows === hidden) e.in++;
      else e.out++;
      ffn.set(other, e);
    }
  }
  const pairs = [...ffn].filter(([, e]) => e.in === e.out && e.in > 0).sort((a, b) => b[1].in - a[1].in);
  const known = {
    ...UNKNOWN,
    vocab_size: vocab,
    hidden_size: hidden,
    max_position_embeddings: positions,
    type_vocab_size: typeRows,
  };
  if (pairs.length === 0) {
    return {
      arch: known,
      note: `the graph has no feed-forward weights of the hidden size ${hidden} ([${hidden}, I] and [I, ${hidden}] in pairs)`,
    };
  }
  if (pairs.length > 1 && pairs[1]![1].in === pairs[0]![1].in) {
    return {
      arch: known,
      note: `the graph's feed-forward size is ambiguous (${pairs.map(([i, e]) => `${e.in} pairs with I=${i}`).join(', ')})`,
    };
  }
  const [intermediate, { in: layers }] = pairs[0]!;
  if (projections < 4 * layers) {
    return {
      arch: known,
      note: `the graph has ${layers} feed-forward layers but ${projections} attention projections of [${hidden}, ${hidden}] where a BERT-like encoder has ${4 * layers}`,
    };
  }
  return { arch: { ...known, num_hidden_layers: layers, intermediate_size: intermediate }, note: null };
}
