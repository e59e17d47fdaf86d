/**
 * A read-only outline of an ONNX file (nodes, initializer shapes), read field by field from disk:
 * weight bytes are skipped, never loaded, so the parent process can learn a user model's vocabulary
 * size without holding its weights.
 *
 * Protobuf wire format: each field is a varint key (field number << 3 | wire type) followed by a
 * varint (type 0), 8 bytes (1), a varint length and that many bytes (2), or 4 bytes (5).
 * ModelProto.graph = 7; GraphProto.node = 1, initializer = 5; NodeProto.input = 1, output = 2,
 * op_type = 4;
 * TensorProto.dims = 1, name = 8 (onnx/onnx.proto3).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface OnnxOutline {
  readonly nodes: readonly { readonly opType: string; readonly inputs: readonly string[]; readonly outputs: readonly string[] }[];
  readonly initializerDims: ReadonlyMap<string, readonly number[]>;
}

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
        }
      });
    });
    return { nodes, initializerDims };
  } finally {
    closeSync(fd);
  }
}

/**
 * The vocabulary size: rows of the embedding table that `input_ids` indexes, found as the data of
 * the Gather fed by input_ids (directly or through a Cast), or input 2 of a fused
 * EmbedLayerNormalization. Null when the graph does not show it.
 */
export function vocabularySize(outline: OnnxOutline, inputIds: string): number | null {
  const aliases = new Set([inputIds]);
  for (const n of outline.nodes) {
    if (n.opType === 'Cast' && aliases.has(n.inputs[0] ?? '') && n.outputs[0]) aliases.add(n.outputs[0]);
  }
  for (const n of outline.nodes) {
    const table =
      n.opType === 'Gather' && aliases.has(n.inputs[1] ?? '') ? n.inputs[0] : n.opType === 'EmbedLayerNormalization' && aliases.has(n.inputs[0] ?? '') ? n.inputs[2] : undefined;
    const dims = table === undefined ? undefined : outline.initializerDims.get(table);
    if (dims && dims.length === 2 && dims[0]! > 0) return dims[0]!;
  }
  return null;
}
