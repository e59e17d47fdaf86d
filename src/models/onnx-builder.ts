// A small typed builder for ONNX graphs over the protobufjs classes of `onnx-proto`.
//
// Serialization is deterministic: fields are written in schema order, nodes, initializers and
// attributes in insertion order, and nothing time- or host-dependent goes into the model.

import { writeSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;

export const PRODUCER_NAME = 'bench';
// IR version 8 (ONNX 1.10-1.13) covers opsets up to 18, the most the synthesizer emits.
const IR_VERSION = 8;

export type ElemType = 'float32' | 'int64' | 'int32' | 'bool';

/** A dimension: a fixed size, or a symbolic name such as 'batch' or 'sequence'. */
export type Dim = number | string;

export type TensorData = Float32Array | BigInt64Array | Int32Array;

/**
 * Float32 data made when it is written: `fill` is called with consecutive chunks of the tensor, in
 * order, and must fill each completely. Initializers are filled in the order they were added, so
 * a generator shared between them (a seeded RNG) yields the same values as filling them eagerly.
 */
export interface LazyFloat32 {
  readonly length: number;
  fill(chunk: Float32Array): void;
}

/** Elements generated per write when streaming lazy data to a file (4 MiB of float32). */
const STREAM_CHUNK_ELEMENTS = 1 << 20;

export type Attribute =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: 'int', value }),
  ints: (value: readonly number[]): Attribute => ({ kind: 'ints', value }),
  float: (value: number): Attribute => ({ kind: 'float', value }),
  string: (value: string): Attribute => ({ kind: 'string', value }),
};

export interface NodeOptions {
  /** Node name; also the stem of generated output names (`<name>_output_<i>`, as torch does). */
  name: string;
  attributes?: Record<string, Attribute>;
  /** Output names; by default one generated name. */
  outputs?: readonly string[];
  /** Operator domain; '' is the default ONNX domain. */
  domain?: string;
}

const ELEM_TYPE_CODES: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  bool: onnx.TensorProto.DataType.BOOL,
};

// rawData is little-endian by the ONNX spec; typed arrays use the host's byte order.
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndianHost(): void {
  if (!HOST_IS_LITTLE_ENDIAN) {
    throw new Error('ONNX raw tensor data is little-endian; this host is big-endian');
  }
}

/** An initializer's fields but its raw data, and the data: bytes now, or generated when written. */
interface PendingInitializer {
  readonly meta: Onnx.ITensorProto;
  readonly data: TensorData | LazyFloat32;
}

export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly initializers: PendingInitializer[] = [];
  private readonly inputs: Onnx.IValueInfoProto[] = [];
  private readonly outputs: Onnx.IValueInfoProto[] = [];
  private readonly tensorNames = new Set<string>();
  private readonly nodeNames = new Set<string>();

  constructor(private readonly graphName: string) {}

  addInput(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.claimTensorName(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Declares a graph output; `name` must be produced by a node. */
  addOutput(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** Adds a constant tensor; dims [] makes a scalar. Returns its name. */
  addInitializer(name: string, data: TensorData | LazyFloat32, dims: readonly number[]): string {
    const elementCount = dims.reduce((product, dim) => product * dim, 1);
    if (elementCount !== data.length) {
      throw new RangeError(
        `initializer ${name}: dims [${dims.join(', ')}] hold ${elementCount} elements, data has ${data.length}`,
      );
    }
    assertLittleEndianHost();
    this.claimTensorName(name);
    const elemType = isLazy(data) ? 'float32' : elemTypeOf(data);
    this.initializers.push({ meta: { name, dims: [...dims], dataType: ELEM_TYPE_CODES[elemType] }, data });
    return name;
  }

  /** Adds a node and returns its output names. An empty input name marks an omitted optional input. */
  addNode(opType: string, inputs: readonly string[], options: NodeOptions): string[] {
    if (this.nodeNames.has(options.name)) {
      throw new Error(`duplicate node name ${options.name}`);
    }
    this.nodeNames.add(options.name);
    const outputs = options.outputs ?? [`${options.name}_output_0`];
    for (const output of outputs) {
      this.claimTensorName(output);
    }
    this.nodes.push({
      name: options.name,
      opType,
      ...(options.domain !== undefined ? { domain: options.domain } : {}),
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(options.attributes ?? {}).map(([name, value]) => attributeProto(name, value)),
    });
    return [...outputs];
  }

  /** Serializes the model with one opset import for the default ONNX domain (lazy data is generated). */
  serialize(opset: number): Uint8Array {
    const model: Onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: opset }],
      producerName: PRODUCER_NAME,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers.map((i) => ({ ...i.meta, rawData: rawBytes(materialize(i.data)) })),
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }

  /**
   * Writes the same bytes as serialize() to an open file, generating lazy data chunk by chunk: the
   * weights never sit in memory whole, and no large buffer is touched page by page (first touches of
   * new memory are slow on a VM: docs/performance.md, synthesis). protobufjs writes fields in
   * field-number order, and a message is the concatenation of its fields, so the parts are encoded
   * apart and joined here:
   *   ModelProto  = ir_version(1) producer_name(2) graph(7) opset_import(8)
   *   GraphProto  = node(1)* name(2) initializer(5)* input(11)* output(12)*
   *   TensorProto = dims(1)* data_type(2) name(8) raw_data(9)
   */
  writeTo(fd: number, opset: number): number {
    const write = (bytes: Uint8Array): void => {
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done);
    };
    const head = onnx.ModelProto.encode({ irVersion: IR_VERSION, producerName: PRODUCER_NAME }).finish();
    const tail = onnx.ModelProto.encode({ opsetImport: [{ domain: '', version: opset }] }).finish();
    const graphHead = onnx.GraphProto.encode({ node: this.nodes, name: this.graphName }).finish();
    const graphTail = onnx.GraphProto.encode({ input: this.inputs, output: this.outputs }).finish();
    const tensors = this.initializers.map((i) => {
      const meta = onnx.TensorProto.encode(i.meta).finish();
      const rawLength = i.data.length * bytesPerElement(i.data);
      const rawHeader = concat([tag(9, 2), varint(rawLength)]);
      const length = meta.length + rawHeader.length + rawLength;
      return {
        header: concat([tag(5, 2), varint(length), meta, rawHeader]),
        data: i.data,
        size: varintLength(length) + 1 + length,
      };
    });
    const graphLength = graphHead.length + tensors.reduce((sum, t) => sum + t.size, 0) + graphTail.length;
    write(concat([head, tag(7, 2), varint(graphLength), graphHead]));
    let chunk: Float32Array | null = null;
    for (const t of tensors) {
      write(t.header);
      if (!isLazy(t.data)) {
        write(rawBytes(t.data));
        continue;
      }
      chunk ??= new Float32Array(STREAM_CHUNK_ELEMENTS);
      for (let done = 0; done < t.data.length; done += STREAM_CHUNK_ELEMENTS) {
        const part = chunk.subarray(0, Math.min(STREAM_CHUNK_ELEMENTS, t.data.length - done));
        t.data.fill(part);
        write(rawBytes(part));
      }
    }
    write(concat([graphTail, tail]));
    return head.length + 1 + varintLength(graphLength) + graphLength + tail.length;
  }

  private claimTensorName(name: string): void {
    if (name === '' || this.tensorNames.has(name)) {
      throw new Error(`tensor name ${JSON.stringify(name)} is empty or already used`);
    }
    this.tensorNames.add(name);
  }
}

function isLazy(data: TensorData | LazyFloat32): data is LazyFloat32 {
  return !ArrayBuffer.isView(data);
}

function materialize(data: TensorData | LazyFloat32): TensorData {
  if (!isLazy(data)) return data;
  const out = new Float32Array(data.length);
  data.fill(out);
  return out;
}

function bytesPerElement(data: TensorData | LazyFloat32): number {
  return isLazy(data) ? 4 : data.BYTES_PER_ELEMENT;
}

function rawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A protobuf field key: field number and wire type (2: length-delimited). */
function tag(field: number, wireType: number): Uint8Array {
  return varint((field << 3) | wireType);
}

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function varintLength(value: number): number {
  return varint(value).length;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function elemTypeOf(data: TensorData): ElemType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  return 'int32';
}

function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): Onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE_CODES[elemType],
        shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) },
      },
    },
  };
}

function attributeProto(name: string, attribute: Attribute): Onnx.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  switch (attribute.kind) {
    case 'int':
      return { name, type: types.INT, i: attribute.value };
    case 'ints':
      return { name, type: types.INTS, ints: [...attribute.value] };
    case 'float':
      return { name, type: types.FLOAT, f: attribute.value };
    case 'string':
      return { name, type: types.STRING, s: new TextEncoder().encode(attribute.value) };
  }
}

// ---- Reading models back (tests, the reference forward pass) ----

/** Decodes serialized ONNX model bytes. */
export function decodeModel(bytes: Uint8Array): Onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/** Converts a protobuf int64 (decoded as a Long object) to a number; throws beyond 2^53. */
export function int64ToNumber(value: number | { toNumber(): number }): number {
  const result = typeof value === 'number' ? value : value.toNumber();
  if (!Number.isSafeInteger(result)) {
    throw new RangeError(`int64 value ${String(value)} is not a safe integer`);
  }
  return result;
}

/** Float32 data and dims of every FLOAT initializer with raw data, by name. */
export function floatInitializers(model: Onnx.IModelProto): Map<string, { dims: number[]; data: Float32Array }> {
  assertLittleEndianHost();
  const result = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const tensor of model.graph?.initializer ?? []) {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT || !tensor.rawData || !tensor.name) continue;
    // Copy: the decoded bytes are a view into the model buffer and need not be 4-byte aligned.
    const bytes = new Uint8Array(tensor.rawData);
    result.set(tensor.name, {
      dims: (tensor.dims ?? []).map(int64ToNumber),
      data: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    });
  }
  return result;
}

/** Number of nodes of each op type, sorted by op type. */
export function countOpTypes(model: Onnx.IModelProto): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of model.graph?.node ?? []) {
    const opType = node.opType ?? '';
    counts.set(opType, (counts.get(opType) ?? 0) + 1);
  }
  return new Map([...counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
