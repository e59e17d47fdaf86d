import { describe, expect, it } from 'vitest';
import { buildFeeds, roleOf } from '../../src/models/inputs.js';

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

  it.each([
    [{ name: 'pixel_values', type: 'int64', shape: [] }, "input 'pixel_values' (int64) that bench cannot feed: bench feeds input_ids, attention_mask"],
    [{ name: 'input_ids', type: 'float32', shape: [] }, "input 'input_ids' (float32) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64"],
    [{ name: 'input_ids', type: 'int64', shape: [1, 128] }, 'fixed shape [1, 128]: set batch_size=1 sequence_length=128'],
    [{ name: 'input_ids', type: 'int64', shape: ['a', 'b', 'c'] }, "input 'input_ids' (int64 [a, b, c]) that bench cannot feed: bench feeds input_ids, attention_mask, token_type_ids, position_ids (int32/int64, shape [batch, sequence])"],
  ])('refuses %j', (spec, message) => {
    expect(() => buildFeeds([spec], opts)).toThrow(message);
  });
});
