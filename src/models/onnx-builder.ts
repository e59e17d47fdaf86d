// A small typed builder for ONNX graphs over the protobufjs classes of `onnx-proto`.
//
// Serialization is deterministic: fields are written in schema order, nodes, initializers and
// attributes in insertion order, and nothing time- or host-dependent goes into the model.

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

export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly initializers: Onnx.ITensorProto[] = [];
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
  addInitializer(name: string, data: TensorData, dims: readonly number[]): string {
    const elementCount = dims.reduce((product, dim) => product * dim, 1);
    if (elementCount !== data.length) {
      throw new RangeError(`initializer ${name}: dims [${dims.join(', ')}] hold ${elementCount} elements, data has ${data.length}`);
    }
    assertLittleEndianHost();
    this.claimTensorName(name);
    this.initializers.push({
      name,
      dims: [...dims],
      dataType: ELEM_TYPE_CODES[elemTypeOf(data)],
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
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

  /** Serializes the model with one opset import for the default ONNX domain. */
  serialize(opset: number): Uint8Array {
    const model: Onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: opset }],
      producerName: PRODUCER_NAME,
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }

  private claimTensorName(name: string): void {
    if (name === '' || this.tensorNames.has(name)) {
      throw new Error(`tensor name ${JSON.stringify(name)} is empty or already used`);
    }
    this.tensorNames.add(name);
  }
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
