/**
 * The latency scenario: each planned instance loads, warms up and, released with the others, runs
 * timed calls of one shape (batch x sequence_length) for benchmark_duration seconds; the study's
 * latency and throughput figures. Parent side parent.ts, worker side worker.ts, the timed loop
 * measure.ts.
 */
import { planInstances, type Plan } from '../../launcher/plan.js';
import { isRecord } from '../../launcher/protocol.js';
import type { Scenario } from '../types.js';
import { runLatency } from './parent.js';
import { latencyWorker } from './worker.js';

export {
  Interrupted,
  measureLatency,
  withheldPercentilesWarning,
  type LatencyMeasurement,
  type LatencyOptions,
} from './measure.js';

export const latencyScenario: Scenario = {
  name: 'latency',
  plan: (topology, cfg): Plan => {
    const l = cfg.launcher;
    return planInstances(topology, {
      num_instances: l.num_instances,
      cores_per_instance: l.cores_per_instance,
      use_smt: l.use_smt,
      nodes: l.nodes,
      sockets: l.sockets,
      cpu_list: l.cpu_list,
      binding: l.binding,
      split_batch: l.split_batch,
      allow_uneven_split: l.allow_uneven_split,
      batch_size: cfg.batch_size,
      num_threads: cfg.backend.num_threads,
    });
  },
  // Instances measure side by side: in one process they would run one after the other.
  inlineRefusal: (plan) =>
    plan.instances.length > 1
      ? `launcher=inline runs one instance in the bench process: use launcher=process for launcher.num_instances=${plan.instances.length}`
      : null,
  run: runLatency,
  worker: latencyWorker,
  // `result`: an instance's figures (its raw latencies among them) and its backend's description.
  accepts: (x) =>
    x.type === 'result' &&
    isRecord(x.instance) &&
    typeof x.instance.index === 'number' &&
    Array.isArray(x.instance.latencies_ms) &&
    isRecord(x.backend),
};
