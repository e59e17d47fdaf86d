/**
 * The dispatcher: sends each request to the pool of its length class and, within a pool (and in
 * the homogeneous baseline), to the instance with the fewest outstanding requests. Pure apart from
 * timers: the transport to the instances (pinned children or in-process workers, parent.ts; fakes
 * in tests) is injected.
 *
 * Timing, all on the parent's monotonic clock (performance.now), relative to the measured start:
 * - arrival: the scheduled arrival (open loop) or the moment a client sends (closed loop);
 * - start: the moment the request is handed to its instance; queueing delay = start - arrival;
 * - end: the moment its completion comes back; latency = end - arrival (so a late timer, the queue
 *   and the IPC round trip all count against the setup, as a client would see them);
 * - service: measured by the instance around session.run alone.
 *
 * Open-loop arrivals are a Poisson process conditioned on its count: for N = rate x T arrivals in a
 * window of T seconds, the gaps are N + 1 seeded exponential draws scaled to sum to T, i.e. the
 * arrival times are N sorted uniforms on [0, T] (the order statistics a Poisson process gives
 * given N(T) = N). Locally the gaps stay exponential (CV 1); over the run the offered rate is the
 * target exactly, so what the 2% acceptance bound measures is the scheduler, not sampling noise
 * (an unconditioned process over N arrivals misses its rate by about 1/sqrt(N): 3% at N = 1000).
 * Each arrival's absolute time is computed up front and waited for against the clock, so timer
 * lateness never accumulates into drift.
 */
import type { Workload } from './workload.js';

export interface RequestRecord {
  readonly id: number;
  readonly length: number;
  readonly pool: number;
  instance: number;
  readonly arrival_ms: number;
  /** When the parent actually took the arrival in (the timer's lateness shows here). */
  released_ms: number;
  start_ms: number;
  end_ms: number;
  service_ms: number;
}

/** How requests reach instances: the dispatcher calls submit, the transport calls back `complete`. */
export interface Transport {
  submit(instance: number, id: number, length: number): void;
}

export interface DispatchSetup {
  /** The pool of each instance (index = instance). */
  readonly poolOfInstance: readonly number[];
  /** The pool a request of `length` tokens goes to. */
  route(length: number): number;
}

export interface DispatchRun {
  readonly records: readonly RequestRecord[];
  /** Most requests waiting (not in service) at once, per pool and over all pools. */
  readonly max_queue_per_pool: readonly number[];
  readonly max_queue: number;
  /** Requests still outstanding (queued or in service) when the last one arrived (open loop). */
  readonly backlog_at_last_arrival: number;
}

export class DispatchTimeout extends Error {
  override readonly name = 'DispatchTimeout';
}

export class Dispatcher {
  private readonly records: RequestRecord[] = [];
  private readonly queues: number[][];
  private readonly busy: boolean[];
  private readonly outstanding: number[];
  private readonly poolInstances: number[][];
  private readonly queuedPerPool: number[];
  private readonly maxQueuePerPool: number[];
  private maxQueue = 0;
  private queued = 0;
  private completed = 0;
  private issued = 0;
  private backlogAtLastArrival = 0;
  private t0 = 0;
  private timer: NodeJS.Timeout | null = null;
  private settle: { resolve: (r: DispatchRun) => void; reject: (e: Error) => void } | null = null;
  private finished = false;

  constructor(
    private readonly workload: Workload,
    private readonly setup: DispatchSetup,
    private readonly transport: Transport,
    private readonly now: () => number = () => performance.now(),
  ) {
    const n = setup.poolOfInstance.length;
    const pools = Math.max(...setup.poolOfInstance) + 1;
    this.queues = Array.from({ length: n }, () => []);
    this.busy = Array.from({ length: n }, () => false);
    this.outstanding = Array.from({ length: n }, () => 0);
    this.poolInstances = Array.from({ length: pools }, (_, p) =>
      setup.poolOfInstance.flatMap((q, i) => (q === p ? [i] : [])),
    );
    this.queuedPerPool = Array.from({ length: pools }, () => 0);
    this.maxQueuePerPool = Array.from({ length: pools }, () => 0);
  }

  /** Runs the whole workload; rejects with DispatchTimeout after `deadlineMs` or with `fail`'s error. */
  run(deadlineMs: number): Promise<DispatchRun> {
    return new Promise<DispatchRun>((resolveRun, rejectRun) => {
      this.settle = { resolve: resolveRun, reject: rejectRun };
      const deadline = setTimeout(() => {
        const left = this.issued - this.completed;
        this.fail(
          new DispatchTimeout(
            `${this.completed} requests completed, ${left} still outstanding after ${(deadlineMs / 1000).toFixed(0)} s`,
          ),
        );
      }, deadlineMs);
      const done = this.settle;
      this.settle = {
        resolve: (r) => {
          clearTimeout(deadline);
          done.resolve(r);
        },
        reject: (e) => {
          clearTimeout(deadline);
          done.reject(e);
        },
      };
      this.t0 = this.now();
      if (this.workload.mode === 'open') this.tick();
      else {
        const first =
          this.workload.requests === null
            ? this.workload.clients
            : Math.min(this.workload.clients, this.workload.requests);
        for (let c = 0; c < first; c++) this.arrive(this.clock(), this.clock());
        this.maybeFinish();
      }
    });
  }

  private clock(): number {
    return this.now() - this.t0;
  }

  /** Open loop: take in every arrival that is due, then sleep until the next one's absolute time. */
  private tick = (): void => {
    this.timer = null;
    if (this.finished || this.workload.mode !== 'open') return;
    const arrivals = this.workload.arrivalsMs;
    let t = this.clock();
    while (this.issued < arrivals.length && arrivals[this.issued]! <= t) {
      this.arrive(arrivals[this.issued]!, t);
      t = this.clock();
    }
    if (this.issued < arrivals.length) {
      this.timer = setTimeout(this.tick, Math.max(0, arrivals[this.issued]! - this.clock()));
    } else {
      this.backlogAtLastArrival = this.issued - this.completed;
    }
  };

  private arrive(arrivalMs: number, releasedMs: number): void {
    const id = this.issued++;
    const length = this.workload.lengths.at(id);
    const pool = this.setup.route(length);
    const candidates = this.poolInstances[pool];
    if (!candidates || candidates.length === 0)
      throw new Error(`request ${id} of ${length} tokens routed to pool ${pool}, which has no instance`);
    // Least outstanding first, ties to the lowest index: a length-blind balancer within the pool.
    let instance = candidates[0]!;
    for (const i of candidates) if (this.outstanding[i]! < this.outstanding[instance]!) instance = i;
    const rec: RequestRecord = {
      id,
      length,
      pool,
      instance,
      arrival_ms: arrivalMs,
      released_ms: releasedMs,
      start_ms: NaN,
      end_ms: NaN,
      service_ms: NaN,
    };
    this.records.push(rec);
    this.outstanding[instance]!++;
    if (!this.busy[instance]) this.startService(instance, rec);
    else {
      this.queues[instance]!.push(id);
      this.queued++;
      this.queuedPerPool[pool]!++;
      this.maxQueue = Math.max(this.maxQueue, this.queued);
      this.maxQueuePerPool[pool] = Math.max(this.maxQueuePerPool[pool]!, this.queuedPerPool[pool]!);
    }
  }

  private startService(instance: number, rec: RequestRecord): void {
    this.busy[instance] = true;
    rec.start_ms = this.clock();
    this.transport.submit(instance, rec.id, rec.length);
  }

  /** The transport's callback: request `id` finished after `serviceMs` of compute. */
  complete(id: number, serviceMs: number): void {
    const rec = this.records[id];
    if (this.finished || !rec || !Number.isNaN(rec.end_ms)) return;
    rec.end_ms = this.clock();
    rec.service_ms = serviceMs;
    this.completed++;
    const instance = rec.instance;
    this.outstanding[instance]!--;
    this.busy[instance] = false;
    const next = this.queues[instance]!.shift();
    if (next !== undefined) {
      const queuedRec = this.records[next]!;
      this.queued--;
      this.queuedPerPool[queuedRec.pool]!--;
      this.startService(instance, queuedRec);
    }
    const w = this.workload;
    if (w.mode === 'closed') {
      const t = this.clock();
      const more = w.requests === null ? t < w.durationMs : this.issued < w.requests;
      if (more) this.arrive(t, t);
    }
    this.maybeFinish();
  }

  fail(err: Error): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.settle?.reject(err);
  }

  private maybeFinish(): void {
    const w = this.workload;
    const allIssued = w.mode === 'open' ? this.issued === w.arrivalsMs.length : true;
    if (this.finished || !allIssued || this.completed < this.issued) return;
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.settle?.resolve({
      records: this.records,
      max_queue_per_pool: this.maxQueuePerPool,
      max_queue: this.maxQueue,
      backlog_at_last_arrival: w.mode === 'open' ? this.backlogAtLastArrival : 0,
    });
  }
}
