/**
 * Pure terminal text: the sweep progress line.
 */
import { describe, expect, it } from 'vitest';
import { renderProgress } from '../../src/cli/render.js';

describe('renderProgress', () => {
  it('estimates from the jobs done and counts down while the next one runs', () => {
    // 2 of 6 jobs done in 20 s: 10 s a job, 4 left = 40 s.
    expect(renderProgress(2, 6, 20_000, 20_000)).toBe(
      '[#######-------------] 2/6 jobs · 0:20 elapsed · about 0:40 left',
    );
    // 5 s into the third job: 35 s left, not more.
    expect(renderProgress(2, 6, 25_000, 20_000)).toContain('about 0:35 left');
    // A job that overruns the estimate never makes it negative.
    expect(renderProgress(5, 6, 200_000, 50_000)).toContain('about 0:00 left');
  });

  it('has no estimate before the first job ends or after the last', () => {
    expect(renderProgress(0, 3, 5_000, 0)).toBe('[--------------------] 0/3 jobs · 0:05 elapsed');
    expect(renderProgress(3, 3, 30_000, 30_000)).toBe('[####################] 3/3 jobs · 0:30 elapsed');
  });
});
