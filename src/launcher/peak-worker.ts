/**
 * The child side of the GEMM peak probe: a child started exactly like an instance (same command,
 * binding and environment: launcher/peak.ts) runs the probe where the instance ran and reports the
 * figure with the affinity the kernel gave it and the environment it saw. Never prints.
 */
import { sendMessage } from 'execa';
import os from 'node:os';
import { measureGemmPeak } from '../backends/onnxruntime/peak.js';
import { currentAffinity } from '../topology/detect.js';
import type { PeakReport, PeakRequest } from './protocol.js';

export async function reportPeak(req: PeakRequest): Promise<void> {
  const cpus = currentAffinity();
  const probe = await measureGemmPeak(req.threads, {
    probeMs: req.probe_ms,
    cpus: cpus ?? Array.from({ length: os.availableParallelism() }, (_, k) => k),
  });
  const report: PeakReport = {
    ...probe,
    cpus,
    env: { GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? null, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? null },
  };
  await sendMessage({ type: 'peak', report });
}
