import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from '../../src/topology/cpulist.js';
import { TopologyError } from '../../src/topology/errors.js';

describe('parseCpuList', () => {
  it.each([
    ['0-3,8-11', [0, 1, 2, 3, 8, 9, 10, 11]],
    ['5', [5]],
    ['', []],
    ['  \n', []],
    [' 1 , 3-4 \n', [1, 3, 4]],
    ['0-62:2', Array.from({ length: 32 }, (_, index) => index * 2)],
    ['1-61:4', Array.from({ length: 16 }, (_, index) => 1 + index * 4)],
    ['3-3:4', [3]],
    ['8-9,0-1,1', [0, 1, 8, 9]],
  ])('parses %j', (text, ids) => {
    expect(parseCpuList(text)).toEqual(ids);
  });

  it.each(['a', '3-1', '0-4:0', '0-4/2', '1,,2', '-1', '0-99999999', '1-2:3:4'])(
    'rejects %j with a TopologyError',
    (text) => {
      expect(() => parseCpuList(text)).toThrow(TopologyError);
    },
  );

  it('names the bad term and the accepted syntax', () => {
    expect(() => parseCpuList('0-3,x')).toThrow(/'x' is not N, A-B or A-B:STEP/);
  });
});

describe('formatCpuList', () => {
  it.each([
    [[], ''],
    [[5], '5'],
    [[0, 1], '0-1'],
    [[0, 1, 2, 3, 8, 9, 10, 11], '0-3,8-11'],
    [[11, 3, 2, 1, 1, 0], '0-3,11'],
    [[0, 2, 4], '0,2,4'],
  ])('formats %j as %j', (ids, text) => {
    expect(formatCpuList(ids)).toBe(text);
  });

  it('never emits stride syntax and round-trips through the parser', () => {
    const ids = parseCpuList('0-62:2,1-61:4');
    const text = formatCpuList(ids);
    expect(text).not.toContain(':');
    expect(parseCpuList(text)).toEqual(ids);
  });
});
