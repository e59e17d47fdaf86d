/**
 * Smart dispatching: a workload of single requests whose lengths follow a distribution (workload.ts),
 * a router that sends each to the pool of its length class (router.ts), the dispatcher that feeds
 * the pools' instances (dispatcher.ts), placed on disjoint cores (placement.ts); the same workload
 * against one homogeneous pool for comparison; statistics per class and the gain (stats.ts), the
 * report and dispatch.csv (report.ts). Parent side parent.ts, worker side worker.ts.
 */
import type { Scenario } from '../types.js';
import { acceptsDispatch, runDispatch } from './parent.js';
import { checkDispatchWorkload, planDispatch } from './placement.js';
import { dispatchWorker } from './worker.js';

export * from './dispatcher.js';
export * from './placement.js';
export * from './report.js';
export * from './router.js';
export * from './stats.js';
export * from './workload.js';
export type { ServedReport } from './parent.js';

export const dispatchScenario: Scenario = {
  name: 'dispatch',
  plan: (topology, cfg) => {
    // The pools are the instances; their lengths are checked here too, before any directory exists.
    checkDispatchWorkload(cfg);
    return planDispatch(topology, cfg).plan;
  },
  // The pools' workers share the bench process and serve one request at a time each: fine to debug.
  inlineRefusal: () => null,
  run: runDispatch,
  worker: dispatchWorker,
  accepts: acceptsDispatch,
};
