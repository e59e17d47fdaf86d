/**
 * Every CSV bench writes has one line per row: line-based tools (grep, wc -l, diff) see rows.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { toCsv } from '../../src/results/write.js';

describe('CSV rows', () => {
  it('a cell with line breaks (a multi-line error) stays on its row', () => {
    const csv = toCsv([
      {
        job: 0,
        status: 'errored',
        error: 'instance 0: crashed\n(the 2 repetitions after it did not run)\r\nsee stderr',
      },
      { job: 1, status: 'ok', error: '' },
    ]);
    const lines = csv.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const rows = parse(csv, { columns: true }) as { error: string }[];
    expect(rows[0]!.error).toBe('instance 0: crashed | (the 2 repetitions after it did not run) | see stderr');
    expect(rows[1]!.error).toBe('');
  });
});
