import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { attr, decodeModel, floatInitializers, GraphBuilder, int64ToNumber } from '../../src/models/onnx-builder.js';

function smallGraph(): GraphBuilder {
  const graph = new GraphBuilder('small');
  graph.addInput('x', 'float32', ['batch', 3]);
  graph.addInitializer('w', new Float32Array([1, 2, 3, 4, 5, 6]), [3, 2]);
  graph.addInitializer('shift', new Float32Array([0.5]), []);
  const [product] = graph.addNode('MatMul', ['x', 'w'], { name: '/MatMul' });
  const [shifted] = graph.addNode('Add', [product!, 'shift'], { name: '/Add' });
  graph.addNode('Transpose', [shifted!], {
    name: '/Transpose',
    attributes: { perm: attr.ints([1, 0]) },
    outputs: ['y'],
  });
  graph.addOutput('y', 'float32', [2, 'batch']);
  return graph;
}

describe('GraphBuilder', () => {
  it('serializes the same graph to the same bytes', () => {
    expect(Buffer.from(smallGraph().serialize(12)).equals(Buffer.from(smallGraph().serialize(12)))).toBe(true);
  });

  it('writes a model ONNX Runtime runs', async () => {
    const session = await ort.InferenceSession.create(smallGraph().serialize(12), {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
    const { y } = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 0, 0, 0, 1, 1]), [2, 3]) });
    await session.release();
    expect(y?.dims).toEqual([2, 2]);
    // x @ w = [[1, 2], [8, 10]], + 0.5, transposed
    expect(Array.from(y!.data as Float32Array)).toEqual([1.5, 8.5, 2.5, 10.5]);
  });

  it('round-trips attributes of each kind and initializers of each type', () => {
    const graph = new GraphBuilder('attributes');
    graph.addInitializer('i64', new BigInt64Array([-1n, 2n]), [2]);
    graph.addInitializer('i32', new Int32Array([7]), [1]);
    graph.addInitializer('f32', new Float32Array([0.25, -2]), [1, 2]);
    graph.addNode('Custom', ['i64'], {
      name: 'n',
      domain: 'test.domain',
      attributes: { i: attr.int(-3), is: attr.ints([0, 2, 1, 3]), f: attr.float(1e-12), s: attr.string('hello') },
    });
    const model = decodeModel(graph.serialize(12));
    const node = model.graph!.node![0]!;
    expect(node.domain).toBe('test.domain');
    expect(node.output).toEqual(['n_output_0']);
    const attributes = Object.fromEntries((node.attribute ?? []).map((a) => [a.name, a]));
    expect(int64ToNumber(attributes.i!.i ?? 0)).toBe(-3);
    expect((attributes.is!.ints ?? []).map(int64ToNumber)).toEqual([0, 2, 1, 3]);
    expect(attributes.f!.f).toBe(Math.fround(1e-12));
    expect(new TextDecoder().decode(attributes.s!.s!)).toBe('hello');
    const tensors = Object.fromEntries((model.graph!.initializer ?? []).map((t) => [t.name, t]));
    expect(tensors.i64!.dataType).toBe(7);
    expect(tensors.i32!.dataType).toBe(6);
    expect(Array.from(new BigInt64Array(new Uint8Array(tensors.i64!.rawData!).buffer))).toEqual([-1n, 2n]);
    expect(floatInitializers(model).get('f32')).toEqual({ dims: [1, 2], data: new Float32Array([0.25, -2]) });
  });

  it('rejects reused names and data that does not fit the dims', () => {
    const graph = new GraphBuilder('errors');
    graph.addInput('x', 'float32', [1]);
    expect(() => graph.addInitializer('x', new Float32Array([1]), [1])).toThrow(/already used/);
    expect(() => graph.addInitializer('w', new Float32Array([1, 2]), [3])).toThrow(/elements/);
    graph.addNode('Relu', ['x'], { name: 'relu' });
    expect(() => graph.addNode('Relu', ['x'], { name: 'relu' })).toThrow(/duplicate node/);
  });
});
