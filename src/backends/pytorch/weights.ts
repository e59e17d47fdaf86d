/**
 * The weights PyTorch runs, as safetensors files with the Hugging Face names and layouts:
 * - for a synthesized model, the initializers of its ONNX graph (the same values ONNX Runtime runs),
 *   the MatMul weights transposed back to torch's Linear layout [out, in]; written once per graph
 *   into the cache, beside the graph's own cache entry;
 * - for a local Hugging Face folder, its own model.safetensors (or pytorch_model.bin).
 * The file format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
 * shape and byte range, then the bytes (https://github.com/huggingface/safetensors).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { ModelArchitecture } from '../../models/arch.js';
import { cacheRoot } from '../../models/cache.js';
import { ModelError } from '../../models/errors.js';
import { decodeModel, floatInitializers } from '../../models/onnx-builder.js';
import { parameterNames, type ModuleNames } from '../../models/synthesize.js';
import { writeFileAtomicWith } from '../../util/atomic.js';

/** Bumped whenever the export's output changes, so old cache entries are not reused. */
const EXPORT_VERSION = 1;

interface Tensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

/** The parameters of a synthesized graph, by their Hugging Face names, in torch's layouts. */
export function torchParameters(onnx: Uint8Array, arch: ModelArchitecture): Tensor[] {
  const initializers = floatInitializers(decodeModel(onnx));
  const names = parameterNames(arch);
  const get = (name: string): { dims: number[]; data: Float32Array } => {
    const t = initializers.get(name);
    if (!t) throw new ModelError(`the graph has no initializer ${name}: it was not synthesized by this bench`);
    return t;
  };
  const asIs = (name: string): Tensor => ({ name, ...get(name) });
  // ONNX MatMul multiplies by W [in, out]; torch's Linear keeps W^T [out, in].
  const linear = (m: ModuleNames): Tensor[] => {
    const w = get(m.weight);
    const [rows, cols] = w.dims as [number, number];
    const t = new Float32Array(w.data.length);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = w.data[r * cols + c]!;
    return [{ name: m.weight, dims: [cols, rows], data: t }, asIs(m.bias)];
  };
  const norm = (m: ModuleNames): Tensor[] => [asIs(m.weight), asIs(m.bias)];
  return [
    asIs(names.wordEmbeddings),
    asIs(names.positionEmbeddings),
    ...(names.tokenTypeEmbeddings !== undefined ? [asIs(names.tokenTypeEmbeddings)] : []),
    ...norm(names.embeddingNorm),
    ...names.layers.flatMap((l) => [
      ...linear(l.query),
      ...linear(l.key),
      ...linear(l.value),
      ...linear(l.attentionOutput),
      ...norm(l.attentionNorm),
      ...linear(l.intermediate),
      ...linear(l.output),
      ...norm(l.outputNorm),
    ]),
  ];
}

/** Writes `tensors` as one safetensors file into the open `fd`; returns the bytes written. */
export function writeSafetensors(fd: number, tensors: readonly Tensor[], metadata: Record<string, string>): number {
  let offset = 0;
  const header: Record<string, unknown> = { __metadata__: metadata };
  for (const t of tensors) {
    const bytes = t.data.byteLength;
    header[t.name] = { dtype: 'F32', shape: t.dims, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // The header is padded with spaces to a multiple of 8 bytes, so the data that follows is aligned.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  let written = writeAll(fd, length) + writeAll(fd, Buffer.from(json));
  for (const t of tensors) written += writeAll(fd, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return written;
}

/** writeSync until every byte is written (a write may be cut short). */
function writeAll(fd: number, bytes: Uint8Array): number {
  let done = 0;
  while (done < bytes.byteLength) done += writeSync(fd, bytes, done, bytes.byteLength - done);
  return done;
}

/** A Git LFS pointer: what a clone made without git-lfs holds instead of the weights. */
const LFS_POINTER = 'version https://git-lfs';

/**
 * What is wrong with a safetensors file, read from its header alone (no tensor data): null when its
 * header parses and its tensors end exactly where the file does.
 */
export function safetensorsProblem(file: string): string | null {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, 64));
    readSync(fd, head, 0, head.length, 0);
    if (head.toString('latin1').startsWith(LFS_POINTER))
      return 'is a Git LFS pointer, not the weights: fetch them (git lfs pull) or download the file again';
    if (size < 8) return `is ${size} bytes, too short for a safetensors file: download it again`;
    const headerBytes = Number(head.readBigUInt64LE(0));
    if (8 + headerBytes > size) return 'is truncated (its header runs past the end): download it again';
    const raw = Buffer.alloc(headerBytes);
    readSync(fd, raw, 0, headerBytes, 8);
    let header: Record<string, { data_offsets?: unknown }>;
    try {
      header = JSON.parse(raw.toString('utf8')) as typeof header;
    } catch {
      return 'has a header that is not JSON: it is not a safetensors file, or it is corrupt';
    }
    let end = 0;
    for (const [name, spec] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const offsets = spec.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((x) => Number.isInteger(x)))
        return `has no byte range for ${name}: it is corrupt`;
      end = Math.max(end, offsets[1] as number);
    }
    const expected = 8 + headerBytes + end;
    if (expected > size) return `is truncated (${size} bytes, its header needs ${expected}): download it again`;
    if (expected < size) return `has ${size - expected} bytes past its last tensor: it is corrupt`;
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The safetensors file of the synthesized graph `onnxFile`, exported now unless the cache has it.
 * Returns the file and the milliseconds spent (0 when cached).
 */
export function exportedWeights(
  onnxFile: string,
  arch: ModelArchitecture,
  env: NodeJS.ProcessEnv = process.env,
): { file: string; ms: number; sizeMb: number } {
  const st = statSync(onnxFile);
  const key = createHash('sha256')
    .update(JSON.stringify({ file: onnxFile, size: st.size, mtime: st.mtimeMs, version: EXPORT_VERSION }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(cacheRoot(env), 'torch');
  const file = join(dir, `${basename(onnxFile, '.onnx')}-${key}.safetensors`);
  // A cached export is reused only whole (a file cut short elsewhere is exported again).
  if (existsSync(file) && safetensorsProblem(file) === null)
    return { file, ms: 0, sizeMb: statSync(file).size / 2 ** 20 };
  const t0 = performance.now();
  const tensors = torchParameters(readFileSync(onnxFile), arch);
  try {
    mkdirSync(dir, { recursive: true });
    const bytes = writeFileAtomicWith(file, (fd) =>
      writeSafetensors(fd, tensors, { format: 'pt', exported_by: 'bench', source: basename(onnxFile) }),
    );
    return { file, ms: performance.now() - t0, sizeMb: bytes / 2 ** 20 };
  } catch (err) {
    throw new ModelError(
      `Cannot write the PyTorch weights to ${file}: ${(err as Error).message}. Set BENCH_CACHE_DIR to a writable folder`,
    );
  }
}

/** A Hugging Face folder's PyTorch weights, safetensors first; null when it has none. */
export function folderWeights(folder: string): string | null {
  for (const f of ['model.safetensors', 'pytorch_model.bin']) if (existsSync(join(folder, f))) return join(folder, f);
  return null;
}
