/**
 * The dispatch scenario's pure parts: length distributions, arrivals, the router, the dispatcher
 * over an in-process fake transport, and the statistics.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DispatchScenarioConfig } from '../../src/config/schema.js';
import {
  buildWorkload,
  checkLengths,
  conditionedPoissonArrivalsMs,
  describeClass,
  Dispatcher,
  DispatchTimeout,
  dispatchCsvRows,
  gain,
  LengthStream,
  makeRouter,
  poissonArrivalsMs,
  readLengthFile,
  requestColumns,
  requestsForClasses,
  setupStats,
  spreadLengths,
  withheldDispatchWarning,
  type DispatchReport,
  type RequestRecord,
  type SetupStats,
  type Transport,
  type Workload,
} from '../../src/scenarios/dispatch/index.js';
import { Rng } from '../../src/util/rng.js';
import { mean, sampleStd } from '../../src/stats/summary.js';

const LENGTHS: DispatchScenarioConfig['lengths'] = {
  distribution: 'mix',
  mix: [
    [32, 0.6],
    [128, 0.3],
    [384, 0.1],
  ],
  lognormal: { median: 64, sigma: 0.8, min: 8, max: 512 },
  file: null,
};

const SCENARIO: DispatchScenarioConfig = {
  name: 'dispatch',
  requests: null,
  arrival: { mode: 'open', rate_per_s: 50, clients: 4 },
  lengths: LENGTHS,
  pools: [
    { name: 'small', max_length: 32, instances: 1, cores_per_instance: 1 },
    { name: 'large', max_length: null, instances: 1, cores_per_instance: null },
  ],
  baseline: { enabled: true, instances: null },
  warmup_lengths: 6,
};

const share = (xs: readonly number[], v: number): number => xs.filter((x) => x === v).length / xs.length;

describe('length distributions', () => {
  it('mix: frequencies follow the normalized weights', () => {
    const xs = new LengthStream(
      {
        ...LENGTHS,
        mix: [
          [32, 6],
          [128, 3],
          [384, 1],
        ],
      },
      1,
    ).take(100_000);
    expect(share(xs, 32)).toBeCloseTo(0.6, 2);
    expect(share(xs, 128)).toBeCloseTo(0.3, 2);
    expect(share(xs, 384)).toBeCloseTo(0.1, 2);
    expect(new Set(xs)).toEqual(new Set([32, 128, 384]));
  });

  it('mix: a zero weight never draws its length', () => {
    const xs = new LengthStream(
      {
        ...LENGTHS,
        mix: [
          [16, 1],
          [64, 0],
        ],
      },
      1,
    ).take(1000);
    expect(new Set(xs)).toEqual(new Set([16]));
  });

  it('lognormal: median and log-spread as configured, truncated to [min, max]', () => {
    const wide = new LengthStream(
      { ...LENGTHS, distribution: 'lognormal', lognormal: { median: 100, sigma: 0.5, min: 1, max: 100_000 } },
      7,
    ).take(50_000);
    const sorted = [...wide].sort((a, b) => a - b);
    expect(sorted[25_000]! / 100).toBeCloseTo(1, 1);
    expect(sampleStd(wide.map(Math.log))).toBeCloseTo(0.5, 1);
    const narrow = new LengthStream(
      { ...LENGTHS, distribution: 'lognormal', lognormal: { median: 64, sigma: 0.8, min: 8, max: 128 } },
      7,
    ).take(20_000);
    expect(Math.min(...narrow)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...narrow)).toBeLessThanOrEqual(128);
    expect(narrow.every(Number.isInteger)).toBe(true);
  });

  it('file: replays the lengths in order and wraps around; comments and commas are fine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-lengths-'));
    const file = join(dir, 'lengths.txt');
    writeFileSync(file, '# recorded trace\n12, 40\n7 # short one\n\n300\n');
    const lengths = readLengthFile(file);
    expect(lengths).toEqual([12, 40, 7, 300]);
    expect(new LengthStream({ ...LENGTHS, distribution: 'file', file }, 1, lengths).take(6)).toEqual([
      12, 40, 7, 300, 12, 40,
    ]);
  });

  it('file: bad contents and missing files name the key and the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-lengths-'));
    const bad = join(dir, 'bad.txt');
    writeFileSync(bad, '12\n40 abc\n');
    expect(() => readLengthFile(bad)).toThrow(/scenario\.lengths\.file=.*line 2: "abc" is not a positive integer/);
    expect(() => readLengthFile(join(dir, 'nope.txt'))).toThrow(/scenario\.lengths\.file=.*cannot read it \(ENOENT\)/);
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing\n');
    expect(() => readLengthFile(empty)).toThrow('holds no lengths');
  });

  it('is seeded: the same seed gives the same lengths, another seed others', () => {
    const a = new LengthStream(LENGTHS, 42).take(500);
    expect(new LengthStream(LENGTHS, 42).take(500)).toEqual(a);
    expect(new LengthStream(LENGTHS, 43).take(500)).not.toEqual(a);
    // Negative seeds are valid run seeds.
    expect(new LengthStream(LENGTHS, -1).take(10)).toHaveLength(10);
  });

  it('spreads warm-up lengths over the range, ends included', () => {
    expect(spreadLengths([5, 1, 3, 3, 9, 7], 3)).toEqual([1, 5, 9]);
    expect(spreadLengths([32, 32, 128], 6)).toEqual([32, 128]);
    expect(spreadLengths([1, 2, 3], 1)).toEqual([3]);
  });
});

describe('Poisson arrivals', () => {
  it('a long plain Poisson schedule holds its rate within 2% and has exponential gaps', () => {
    const rate = 50;
    const n = 200_000;
    const t = poissonArrivalsMs(rate, n, 3);
    const achieved = n / (t.at(-1)! / 1000);
    expect(Math.abs(achieved / rate - 1)).toBeLessThan(0.02);
    const gaps = t.map((x, i) => x - (t[i - 1] ?? 0));
    expect(sampleStd(gaps) / mean(gaps)).toBeCloseTo(1, 1);
  });

  it('the conditioned schedule offers exactly N in the window, with exponential gaps and Poisson counts', () => {
    const rate = 200;
    const windowMs = 600_000;
    const n = (rate * windowMs) / 1000;
    const t = conditionedPoissonArrivalsMs(n, windowMs, 9);
    expect(t).toHaveLength(n);
    expect(t.every((x, i) => x > (t[i - 1] ?? 0) && x < windowMs)).toBe(true);
    const gaps = t.map((x, i) => x - (t[i - 1] ?? 0));
    expect(mean(gaps) / (1000 / rate)).toBeCloseTo(1, 2);
    expect(sampleStd(gaps) / mean(gaps)).toBeCloseTo(1, 1);
    // Counts per second: mean = rate and variance = mean (index of dispersion 1), as for Poisson.
    const counts = new Array<number>(windowMs / 1000).fill(0);
    for (const x of t) counts[Math.floor(x / 1000)]!++;
    expect(mean(counts)).toBe(rate);
    expect(sampleStd(counts) ** 2 / rate).toBeGreaterThan(0.85);
    expect(sampleStd(counts) ** 2 / rate).toBeLessThan(1.15);
  });

  it('the workload is the same for the same seed: lengths and arrival times', () => {
    const a = buildWorkload(SCENARIO, 2, 42);
    const b = buildWorkload(SCENARIO, 2, 42);
    if (a.mode !== 'open' || b.mode !== 'open') throw new Error('open loop expected');
    expect(a.arrivalsMs).toHaveLength(100);
    expect(a.windowMs).toBe(2000);
    expect(b.arrivalsMs).toEqual(a.arrivalsMs);
    expect(b.lengths.take(100)).toEqual(a.lengths.take(100));
    const c = buildWorkload({ ...SCENARIO, requests: 30 }, 2, 42);
    expect(c.mode === 'open' && c.arrivalsMs.length === 30 && c.windowMs === 600).toBe(true);
    // The lengths do not depend on the rate: the two streams are separate.
    const d = buildWorkload({ ...SCENARIO, arrival: { ...SCENARIO.arrival, rate_per_s: 10 } }, 2, 42);
    expect(d.lengths.take(20)).toEqual(a.lengths.take(20));
  });
});

describe('router', () => {
  const router = makeRouter([
    { name: 'large', max_length: null },
    { name: 'small', max_length: 32 },
    { name: 'medium', max_length: 384 },
  ]);

  it('orders classes by length whatever the pool order, with contiguous ranges', () => {
    expect(router.classes.map((c) => [c.name, c.min_length, c.max_length])).toEqual([
      ['small', 1, 32],
      ['medium', 33, 384],
      ['large', 385, null],
    ]);
    expect(router.classes.map(describeClass)).toEqual(['<=32', '33-384', '>384']);
  });

  it('sends each length to the first class it fits', () => {
    expect([1, 32, 33, 384, 385, 512].map((l) => router.classes[router.classOf(l)]!.name)).toEqual([
      'small',
      'small',
      'medium',
      'medium',
      'large',
      'large',
    ]);
  });

  it('refuses lengths no pool takes and lengths beyond the model', () => {
    const bounded = makeRouter([
      { name: 'small', max_length: 32 },
      { name: 'medium', max_length: 128 },
    ]);
    expect(bounded.classOf(200)).toBe(-1);
    expect(() => checkLengths([16, 200], bounded, 512, 'scenario.lengths.mix')).toThrow(
      /scenario\.pools: requests of 200 tokens .* fit no pool; .*medium.*max_length: null/,
    );
    expect(() => checkLengths([16, 600], router, 512, 'scenario.lengths.file=x')).toThrow(
      'scenario.lengths.file=x: a request of 600 tokens is longer than the model allows (512 positions)',
    );
  });
});

/** Instances served in-process: each request takes `serviceMs(length)` on a timer. */
function fakeTransport(
  serviceMs: (length: number) => number,
  hooks: { submit?: () => void; complete?: () => void } = {},
): { transport: Transport; attach: (d: Dispatcher) => void } {
  let dispatcher: Dispatcher | null = null;
  return {
    transport: {
      submit: (_instance, id, length) => {
        hooks.submit?.();
        const s = serviceMs(length);
        setTimeout(() => {
          hooks.complete?.();
          dispatcher!.complete(id, s);
        }, s);
      },
    },
    attach: (d) => {
      dispatcher = d;
    },
  };
}

describe('dispatcher', () => {
  const router = makeRouter(SCENARIO.pools);
  const route = (length: number): number => router.classOf(length);

  it('open loop: holds the target rate within 2%, routes by length and records every request', async () => {
    const w = buildWorkload({ ...SCENARIO, arrival: { ...SCENARIO.arrival, rate_per_s: 400 } }, 1.5, 5);
    const fake = fakeTransport(() => 1);
    const d = new Dispatcher(w, { poolOfInstance: [0, 1], route }, fake.transport);
    fake.attach(d);
    const run = await d.run(20_000);
    expect(run.records).toHaveLength(600);
    const stats = setupStats(run, w, router, ['small', 'large'], [1, 1], 'dispatched');
    expect(Math.abs(stats.achieved_arrival_rate_per_s / 400 - 1)).toBeLessThan(0.02);
    for (const r of run.records) {
      expect(r.pool).toBe(r.length <= 32 ? 0 : 1);
      expect(r.instance).toBe(r.pool);
      expect(r.released_ms).toBeGreaterThanOrEqual(r.arrival_ms);
      expect(r.start_ms).toBeGreaterThanOrEqual(r.released_ms);
      expect(r.end_ms).toBeGreaterThan(r.start_ms);
    }
    // The timer is late by a millisecond or so, never by more than the run.
    expect(stats.release_lag_ms.p50).toBeLessThan(20);
    expect(stats.per_class.small!.requests + stats.per_class.large!.requests).toBe(600);
    expect(stats.overall.latency.p50_ms).toBeGreaterThanOrEqual(1);
    expect(stats.warnings).toEqual([]);
  });

  it('balances within a pool by outstanding requests and queues the rest', async () => {
    const w: Workload = {
      mode: 'open',
      ratePerS: 1000,
      arrivalsMs: Array.from({ length: 40 }, () => 0),
      windowMs: 1,
      lengths: new LengthStream(LENGTHS, 1),
    };
    const fake = fakeTransport(() => 5);
    const d = new Dispatcher(w, { poolOfInstance: [0, 0, 0, 0], route: () => 0 }, fake.transport);
    fake.attach(d);
    const run = await d.run(20_000);
    const perInstance = [0, 1, 2, 3].map((i) => run.records.filter((r) => r.instance === i).length);
    expect(perInstance).toEqual([10, 10, 10, 10]);
    expect(run.max_queue).toBe(36);
    expect(run.backlog_at_last_arrival).toBe(40);
  });

  it('closed loop: never more requests outstanding than clients; stops at the request count', async () => {
    let outstanding = 0;
    let most = 0;
    const fake = fakeTransport(() => 2, {
      submit: () => {
        most = Math.max(most, ++outstanding);
      },
      complete: () => {
        outstanding--;
      },
    });
    const w = buildWorkload(
      { ...SCENARIO, requests: 30, arrival: { mode: 'closed', rate_per_s: 1, clients: 3 } },
      10,
      1,
    );
    const d = new Dispatcher(w, { poolOfInstance: [0, 0, 0, 0], route: () => 0 }, fake.transport);
    fake.attach(d);
    const run = await d.run(20_000);
    expect(run.records).toHaveLength(30);
    expect(most).toBe(3);
    // A closed-loop request waits for nobody: it arrives when its client sends it.
    expect(run.records.every((r) => r.start_ms - r.arrival_ms < 5)).toBe(true);
  });

  it('closed loop by duration: clients stop sending once the duration has passed', async () => {
    const fake = fakeTransport(() => 3);
    const w = buildWorkload({ ...SCENARIO, arrival: { mode: 'closed', rate_per_s: 1, clients: 2 } }, 0.2, 1);
    const d = new Dispatcher(w, { poolOfInstance: [0, 1], route }, fake.transport);
    fake.attach(d);
    const run = await d.run(20_000);
    expect(run.records.length).toBeGreaterThan(20);
    expect(Math.max(...run.records.map((r) => r.arrival_ms))).toBeLessThan(200 + 50);
  });

  it('gives up with DispatchTimeout when the instances never answer, and with the error given to fail()', async () => {
    const w = buildWorkload({ ...SCENARIO, requests: 3 }, 1, 1);
    const silent = new Dispatcher(w, { poolOfInstance: [0, 1], route }, { submit: () => {} });
    await expect(silent.run(200)).rejects.toBeInstanceOf(DispatchTimeout);
    const failing = new Dispatcher(w, { poolOfInstance: [0, 1], route }, { submit: () => {} });
    const p = failing.run(10_000);
    failing.fail(new Error('instance 1 exited'));
    await expect(p).rejects.toThrow('instance 1 exited');
  });
});

describe('statistics', () => {
  const router = makeRouter(SCENARIO.pools);
  const w: Workload = {
    mode: 'open',
    ratePerS: 10,
    arrivalsMs: [0, 100, 200, 300],
    windowMs: 400,
    lengths: new LengthStream(LENGTHS, 1),
  };
  const rec = (id: number, length: number, pool: number, arrival: number, start: number, end: number) => ({
    id,
    length,
    pool,
    instance: pool,
    arrival_ms: arrival,
    released_ms: arrival,
    start_ms: start,
    end_ms: end,
    service_ms: end - start,
  });

  it('latency = end - arrival, queueing = start - arrival, per class and overall, over the whole window', () => {
    const run = {
      records: [
        rec(0, 16, 0, 0, 0, 10),
        rec(1, 100, 1, 100, 100, 150),
        rec(2, 16, 0, 200, 210, 220),
        rec(3, 300, 1, 300, 300, 400),
      ],
      max_queue_per_pool: [1, 0],
      max_queue: 1,
      backlog_at_last_arrival: 1,
    };
    const s = setupStats(run, w, router, ['small', 'large'], [1, 1], 'dispatched');
    expect(s.window_s).toBeCloseTo(0.4);
    expect(s.overall.requests).toBe(4);
    expect(s.overall.tokens).toBe(432);
    expect(s.overall.throughput_requests_per_s).toBeCloseTo(10);
    expect(s.per_class.small!.latency.max_ms).toBe(20);
    expect(s.per_class.small!.queueing.max_ms).toBe(10);
    expect(s.per_class.large!.latency.p50_ms).toBe(75);
    expect(s.per_pool.large!.utilization).toBeCloseTo(150 / 400);
    expect(s.per_pool.small!.max_queue_length).toBe(1);
  });

  it('warns when a pool is offered more work than it can serve', () => {
    const run = {
      records: [
        rec(0, 16, 0, 0, 0, 150),
        rec(1, 16, 0, 100, 150, 300),
        rec(2, 16, 0, 200, 300, 450),
        rec(3, 16, 0, 300, 450, 600),
      ],
      max_queue_per_pool: [3, 0],
      max_queue: 3,
      backlog_at_last_arrival: 2,
    };
    const s = setupStats(run, w, router, ['small', 'large'], [1, 1], 'dispatched');
    expect(s.per_pool.small!.offered_load).toBeCloseTo(1.5);
    expect(s.warnings.join('\n')).toMatch(/pool small cannot keep up: offered load 1\.50 .* its queue reached 3/);
    expect(s.warnings.join('\n')).toMatch(/completed 6\.7 requests\/s against 10\.0 offered/);
  });

  it('gain > 1 means dispatching is better', () => {
    const fast = {
      records: [rec(0, 16, 0, 0, 0, 10), rec(1, 100, 1, 100, 100, 120)],
      max_queue_per_pool: [0, 0],
      max_queue: 0,
      backlog_at_last_arrival: 0,
    };
    const slow = { ...fast, records: [rec(0, 16, 0, 0, 0, 20), rec(1, 100, 0, 100, 100, 140)] };
    const d = setupStats(fast, w, router, ['small', 'large'], [1, 1], 'dispatched');
    const b = setupStats(slow, w, router, ['homogeneous'], [2], 'homogeneous');
    const g = gain(d, b);
    expect(g.latency_p50).toBeCloseTo(30 / 15);
    expect(g.per_class.small!.latency_p50).toBeCloseTo(2);
    expect(g.throughput).toBeCloseTo(140 / 120);
  });
});

describe('sample sizes: enough requests per length class', () => {
  const router = makeRouter(SCENARIO.pools);
  const perClass = (lengths: readonly number[]): number[] =>
    router.classes.map((_, c) => lengths.filter((l) => router.classOf(l) === c).length);

  it('arrives for longer than rate x duration until every class has its requests, and no longer', () => {
    const lengths = new LengthStream(LENGTHS, 42);
    const n = requestsForClasses(lengths, router, 20, 36);
    expect(n).toBeGreaterThan(20);
    expect(Math.min(...perClass(lengths.take(n)))).toBe(36);
    expect(Math.min(...perClass(lengths.take(n - 1)))).toBe(35);
    // Enough already, or no minimum: rate x duration.
    expect(requestsForClasses(lengths, router, 500, 36)).toBe(500);
    expect(requestsForClasses(lengths, router, 20, 0)).toBe(20);
    // At most 10 x rate x duration, however rare a class.
    expect(requestsForClasses(lengths, router, 20, 10_000)).toBe(200);
    // A class no length falls in is not waited for.
    const three = makeRouter([
      ...SCENARIO.pools.slice(0, 1),
      { name: 'mid', max_length: 384 },
      { name: 'huge', max_length: null },
    ]);
    expect(requestsForClasses(lengths, three, 20, 36)).toBe(n);
  });

  it("the open loop's workload takes that count, over a window at the configured rate; requests: N is taken as given", () => {
    const sized = buildWorkload({ ...SCENARIO, min_requests_per_class: 36 }, 0.4, 42);
    if (sized.mode !== 'open') throw new Error('open loop expected');
    const n = requestsForClasses(new LengthStream(LENGTHS, 42), router, 20, 36);
    expect(sized.arrivalsMs).toHaveLength(n);
    expect(sized.windowMs).toBeCloseTo((n / 50) * 1000, 6);
    const plain = buildWorkload(SCENARIO, 0.4, 42);
    expect(plain.mode === 'open' && plain.arrivalsMs.length).toBe(20);
    const fixed = buildWorkload({ ...SCENARIO, requests: 7, min_requests_per_class: 36 }, 0.4, 42);
    expect(fixed.mode === 'open' && fixed.arrivalsMs.length).toBe(7);
  });
});

describe('gains with bootstrap intervals, withheld where a class is too small', () => {
  const router = makeRouter(SCENARIO.pools);
  const w: Workload = {
    mode: 'open',
    ratePerS: 100,
    arrivalsMs: [],
    windowMs: 0,
    lengths: new LengthStream(LENGTHS, 1),
  };

  /** n requests 10 ms apart, lengths from the seeded mix, lognormal latencies x `scale`, served as they come. */
  function records(n: number, scale: number, seed: number): RequestRecord[] {
    const lengths = new LengthStream(LENGTHS, 3).take(n);
    const rng = new Rng(seed);
    return lengths.map((length, id) => {
      const arrival = id * 10;
      const latency = scale * Math.exp(0.5 * rng.normal());
      return {
        id,
        length,
        pool: length <= 32 ? 0 : 1,
        instance: 0,
        arrival_ms: arrival,
        released_ms: arrival,
        start_ms: arrival,
        end_ms: arrival + latency,
        service_ms: latency,
      };
    });
  }
  const stats = (recs: RequestRecord[]): SetupStats =>
    setupStats(
      { records: recs, max_queue_per_pool: [0, 0], max_queue: 0, backlog_at_last_arrival: 0 },
      w,
      router,
      ['small', 'large'],
      [1, 1],
      'x',
    );
  const gainOf = (d: RequestRecord[], b: RequestRecord[], seed = 1, resamples?: number) =>
    gain(stats(d), stats(b), { dispatched: d, baseline: b, router, seed, ...(resamples ? { resamples } : {}) });

  it('a baseline twice as slow: every gain near 2, its interval around it and clear of 1; seeded, so it repeats', () => {
    const d = records(1000, 5, 11);
    const b = records(1000, 10, 12);
    const g = gainOf(d, b);
    const iv = g.intervals!;
    expect(iv).toMatchObject({ confidence: 0.95, resamples: 2000, seed: 1 });
    for (const [point, x] of [
      [g.latency_p50, iv.latency_p50],
      [g.latency_p90, iv.latency_p90],
      [g.latency_p99, iv.latency_p99],
      [g.per_class.small!.latency_p50, iv.per_class.small!.latency_p50],
      [g.per_class.large!.latency_p90!, iv.per_class.large!.latency_p90],
    ] as const) {
      expect(x).not.toBeNull();
      expect(x!.lo).toBeLessThanOrEqual(point);
      expect(x!.hi).toBeGreaterThanOrEqual(point);
      expect(x!.lo).toBeGreaterThan(1.2);
      expect(point).toBeGreaterThan(1.5);
      expect(point).toBeLessThan(2.6);
    }
    // The same arrival times, the windows differ by the last requests only: throughput about equal.
    expect(iv.throughput!.lo).toBeLessThanOrEqual(g.throughput);
    expect(iv.throughput!.hi).toBeGreaterThanOrEqual(g.throughput);
    expect(gainOf(d, b).intervals).toEqual(iv);
    expect(gainOf(d, b, 2).intervals!.latency_p50).not.toEqual(iv.latency_p50);
  });

  it('covers the true gain about 95% of the time (seeded simulation)', () => {
    // Both setups lognormal, the baseline's scale twice the dispatched: the true p50 gain is 2.
    let covered = 0;
    const trials = 100;
    for (let t = 0; t < trials; t++) {
      const g = gainOf(records(200, 5, 1000 + t), records(200, 10, 5000 + t), t, 500);
      const x = g.intervals!.latency_p50!;
      if (x.lo <= 2 && 2 <= x.hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.88);
    expect(covered / trials).toBeLessThan(1);
  });

  it("withholds the gains of percentiles a class's requests do not support, in the intervals, dispatch.csv and the warning", () => {
    // 100 requests: 60 small and 40 large support p50 and p90 (36 needed), no class p99 (368).
    const d = records(100, 5, 21);
    const b = records(100, 10, 22);
    const sd = stats(d);
    expect([sd.per_class.small!.requests, sd.per_class.large!.requests].every((n) => n >= 36 && n < 368)).toBe(true);
    const g = gainOf(d, b);
    expect(g.intervals!.latency_p99).toBeNull();
    expect(g.intervals!.per_class.small!.latency_p99).toBeNull();
    expect(g.intervals!.per_class.large!.latency_p90).not.toBeNull();
    expect(g.intervals!.latency_p50).not.toBeNull();

    const setup = (s: SetupStats, setupName: 'dispatched' | 'homogeneous', recs: RequestRecord[]) => ({
      ...s,
      setup: setupName,
      description: '',
      instances: [],
      requests: requestColumns(recs),
    });
    const report = {
      workload: {
        mode: 'open',
        requests: 100,
        offered_rate_per_s: 100,
        clients: null,
        arrival_window_s: 1,
        seed: 1,
        lengths: {},
        classes: { small: { range: '<=32', share: 0.6 }, large: { range: '>32', share: 0.4 } },
      },
      pools: [],
      dispatched: setup(sd, 'dispatched', d),
      baseline: setup(stats(b), 'homogeneous', b),
      gain: g,
      warnings: [],
    } as unknown as DispatchReport;
    const rows = dispatchCsvRows(report);
    const [all, small] = rows as [Record<string, unknown>, Record<string, unknown>];
    expect(all.latency_p99_ms).toBe('');
    expect(all.queueing_p99_ms).toBe('');
    expect(typeof all.latency_p90_ms).toBe('number');
    expect(all.gain_latency_p99).toBe('');
    expect(all.gain_latency_p50).toBeCloseTo(g.latency_p50, 3);
    expect(all.gain_latency_p50_lo).toBeCloseTo(g.intervals!.latency_p50!.lo, 3);
    expect(small.gain_latency_p90_hi).toBeCloseTo(g.intervals!.per_class.small!.latency_p90!.hi, 3);
    expect(all.gain_throughput_lo).toBeCloseTo(g.intervals!.throughput!.lo, 3);
    // The gains are the last columns, on the dispatched rows only.
    expect(Object.keys(all).slice(-12)).toEqual([
      'gain_latency_p50',
      'gain_latency_p50_lo',
      'gain_latency_p50_hi',
      'gain_latency_p90',
      'gain_latency_p90_lo',
      'gain_latency_p90_hi',
      'gain_latency_p99',
      'gain_latency_p99_lo',
      'gain_latency_p99_hi',
      'gain_throughput',
      'gain_throughput_lo',
      'gain_throughput_hi',
    ]);
    expect(
      rows.filter((r) => r.setup === 'homogeneous').every((r) => r.gain_latency_p50 === '' && r.gain_throughput === ''),
    ).toBe(true);

    const warning = withheldDispatchWarning(report)!;
    expect(warning).toMatch(
      /^too few requests for p99 \(all, small, large\): a 95% interval needs 368 for p99 per class/,
    );
    // 368 for the smallest class, 40% of the lengths: 920 requests, 10 s at 100/s.
    expect(warning).toContain('p99: benchmark_duration=10 or scenario.requests=920');
    expect(
      withheldDispatchWarning({ ...report, dispatched: setup(stats(records(1000, 5, 1)), 'dispatched', []) }),
    ).toBeNull();
  });
});
