/**
 * Every CSV bench writes has one line per row (line-based tools see rows), and says which machine
 * and bench measured each row.
 */
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../src/results/types.js';
import { resultsCsv, summaryRecords, toCsv } from '../../src/results/write.js';

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

describe('machine columns', () => {
  it('every row of results.csv and summary.csv says which machine and bench measured it, and when', () => {
    const file = join(import.meta.dirname, '..', 'fixtures', 'results', 'C', 'results.json');
    const result = JSON.parse(readFileSync(file, 'utf8')) as RunResult;
    const env = result.environment as { hostname: string; cpu_model: string };
    const expected = {
      hostname: env.hostname,
      cpu_model: env.cpu_model,
      bench_version: result.bench_version,
      started_at: result.started_at,
    };
    const csv = resultsCsv(result);
    const header = csv.split('\n')[0]!.split(',');
    // After the repetition columns, before the config: older columns keep their places.
    expect(header.indexOf('hostname')).toBe(header.indexOf('throughput_hi_samples_per_s') + 1);
    expect(header.indexOf('started_at')).toBeLessThan(header.findIndex((c) => c.startsWith('config.')));
    for (const row of parse(csv, { columns: true }) as Record<string, string>[]) expect(row).toMatchObject(expected);
    const summary = summaryRecords({ job: 0, status: 'ok', dir: '0', overrides: [], result, error: null });
    for (const row of summary) expect(row).toMatchObject(expected);
  });
});
