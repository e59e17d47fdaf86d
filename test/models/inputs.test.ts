import { describe, expect, it } from 'vitest';
import { buildFeeds, paddedTail, roleOf } from '../../src/models/inputs.js';

const opts = { batchSize: 2, sequenceLength: 8, vocabSize: 28996, seed: 42 };

describe('input discovery and feeds', () => {
  it.each([
    ['input_ids', 'input_ids'],
    ['attention_mask', 'attention_mask'],
    ['input_mask', 'attention_mask'],
    ['segment_ids', 'token_type_ids'],
    ['token_type_ids', 'token_type_ids'],
    ['position_ids', 'position_ids'],
    ['pixel_values', null],
  ])('%s is fed as %s', (name, role) => {
    expect(roleOf(name)).toBe(role);
  });

  it('draws token ids from the vocabulary with the seed: varied, in range, repeatable', () => {
    const [ids] = buildFeeds([{ name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] }], opts);
    const values = [...(ids!.data as BigInt64Array)].map(Number);
    expect(values).toHaveLength(16);
    expect(new Set(values).size).toBeGreaterThan(8);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...values)).toBeLessThan(28996);
    const [again] = buildFeeds([{ name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] }], opts);
    expect([...(again!.data as BigInt64Array)].map(Number)).toEqual(values);
  });

  it('feeds the declared integer type, a mask of ones, zero token types and counting positions', () => {
    const feeds = buildFeeds(
      [
        { name: 'input_ids', type: 'int32', shape: [-1, -1] },
        { name: 'attention_mask', type: 'int64', shape: ['b', 's'] },
        { name: 'token_type_ids', type: 'int64', shape: [] },
        { name: 'position_ids', type: 'int32', shape: ['b', 's'] },
      ],
      opts,
    );
    expect(feeds[0]!.data).toBeInstanceOf(Int32Array);
    expect([...(feeds[1]!.data as BigInt64Array)].every((v) => v === 1n)).toBe(true);
    expect([...(feeds[2]!.data as BigInt64Array)].every((v) => v === 0n)).toBe(true);
    expect([...(feeds[3]!.data as Int32Array)].slice(0, 9)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 0]);
  });

  it('pads the end of every sequence when asked: mask 0 and the pad token there, the real tokens unchanged', () => {
    const specs = [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
      { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
    ];
    const plain = buildFeeds(specs, opts);
    const padded = buildFeeds(specs, { ...opts, paddedTokens: paddedTail(0.25, 8), padTokenId: 1 });
    const ids = [...(padded[0]!.data as BigInt64Array)].map(Number);
    const mask = [...(padded[1]!.data as BigInt64Array)].map(Number);
    expect(mask).toEqual([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(ids.filter((_, i) => mask[i] === 0)).toEqual([1, 1, 1, 1]);
    const plainIds = [...(plain[0]!.data as BigInt64Array)].map(Number);
    expect(ids.filter((_, i) => mask[i] === 1)).toEqual(plainIds.filter((_, i) => mask[i] === 1));
    // At least one real token per sequence, whatever the fraction.
    expect(paddedTail(0.99, 8)).toBe(7);
    expect(paddedTail(0.5, 1)).toBe(0);
    expect(paddedTail(0, 128)).toBe(0);
    // A model without a mask cannot be padded.
    expect(() => buildFeeds([specs[0]!], { ...opts, paddedTokens: 2 })).toThrow(
      'scenario.padding: the model has no attention mask input (input_ids)',
    );
  });

  it.each([
    [
      { name: 'pixel_values', type: 'int64', shape: [] },
      "input 'pixel_values' (int64) that bench cannot feed: bench feeds input_ids, attention_mask",
    ],
    [
      { name: 'input_ids', type: 'float32', shape: [] },
      "input 'input_ids' (float32) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64",
    ],
    [
      { name: 'input_ids', type: 'int64', shape: [1, 128] },
      'fixed shape [1, 128]: set batch_size=1 sequence_length=128',
    ],
    [
      { name: 'input_ids', type: 'int64', shape: ['a', 'b', 'c'] },
      "input 'input_ids' (int64 [a, b, c]) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64, shape [batch, sequence])",
    ],
  ])('refuses %j', (spec, message) => {
    expect(() => buildFeeds([spec], opts)).toThrow(message);
  });
});
