/**
 * The scenarios, by `scenario.name`: a new one is a folder and a line here.
 */
import type { RunConfig } from '../config/schema.js';
import { dispatchScenario } from './dispatch/index.js';
import { latencyScenario } from './latency/index.js';
import type { Scenario } from './types.js';

export const SCENARIOS: Readonly<Record<RunConfig['scenario']['name'], Scenario>> = {
  latency: latencyScenario,
  dispatch: dispatchScenario,
};

export function scenarioOf(cfg: Pick<RunConfig, 'scenario'>): Scenario {
  return SCENARIOS[cfg.scenario.name];
}
