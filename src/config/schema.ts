/**
 * The schema of a composed, resolved run config. Every problem is reported as `dot.path: message`,
 * the message saying what was expected and what was found, so a user can fix the key they typed.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

function scalar<T>(what: string, test: (v: unknown) => boolean) {
  return z.custom<T>(test, { error: (issue) => `expected ${what}, got ${show(issue.input)}` });
}

const positiveInt = scalar<number>('a positive integer', (v) => Number.isInteger(v) && (v as number) > 0);
const nonNegativeInt = scalar<number>('an integer >= 0', (v) => Number.isInteger(v) && (v as number) >= 0);
const integer = scalar<number>('an integer', (v) => Number.isInteger(v));
const positiveNumber = scalar<number>('a positive number', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
const nonNegativeNumber = scalar<number>('a number >= 0', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
const text = scalar<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
const bool = scalar<boolean>('true or false', (v) => typeof v === 'boolean');
const oneOf = <const T extends readonly string[]>(values: T) =>
  scalar<T[number]>(`one of ${values.join(', ')}`, (v) => typeof v === 'string' && values.includes(v));
const nullable = <T extends z.ZodType>(s: T) => z.union([z.null(), s], { error: (issue) => `expected null or a value, got ${show(issue.input)}` });

export const ModelSchema = z.strictObject({
  name: text,
  /** `synthetic`: built from the architecture below with seeded weights; `file`: `path`; `hub`: `id`. */
  source: oneOf(['synthetic', 'file', 'hub'] as const),
  path: nullable(text),
  id: nullable(text),
  opset: scalar<number>('an integer opset between 11 and 18', (v) => Number.isInteger(v) && (v as number) >= 11 && (v as number) <= 18),
  dtype: oneOf(['fp32'] as const),
  model_type: oneOf(['bert', 'distilbert', 'roberta'] as const),
  vocab_size: positiveInt,
  hidden_size: positiveInt,
  num_hidden_layers: positiveInt,
  num_attention_heads: positiveInt,
  intermediate_size: positiveInt,
  max_position_embeddings: positiveInt,
  type_vocab_size: nonNegativeInt,
  hidden_act: oneOf(['gelu'] as const),
  layer_norm_eps: positiveNumber,
  pad_token_id: nonNegativeInt,
});

const MockBackendSchema = z.strictObject({
  name: z.literal('mock'),
  num_threads: nullable(positiveInt),
  /** Mean latency of one call; null derives it from the model's FLOPs and `gflops_per_thread`. */
  latency_ms: nullable(positiveNumber),
  gflops_per_thread: positiveNumber,
  /** Coefficient of variation of the lognormal latency draw. */
  cv: nonNegativeNumber,
});

const OnnxRuntimeBackendSchema = z.strictObject({
  name: z.literal('onnxruntime'),
  num_threads: nullable(positiveInt),
  num_interop_threads: positiveInt,
  execution_mode: oneOf(['sequential', 'parallel'] as const),
  graph_optimization_level: oneOf(['disabled', 'basic', 'extended', 'all'] as const),
  enable_cpu_mem_arena: bool,
  enable_mem_pattern: bool,
  session_config: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  save_optimized_model: bool,
});

const BackendSchema = z.discriminatedUnion('name', [MockBackendSchema, OnnxRuntimeBackendSchema], {
  error: (issue) => `expected backend.name to be one of mock, onnxruntime, got ${show((issue.input as { name?: unknown } | undefined)?.name)}`,
});

const idList = z.custom<number[]>((v) => Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0), {
  error: (issue) => `expected a list of ids, e.g. [0,1], got ${show(issue.input)}`,
});

const LauncherSchema = z.strictObject({
  /** process: one pinned child per instance; inline: one instance inside the bench process. */
  name: oneOf(['process', 'inline'] as const),
  num_instances: positiveInt,
  /** null: the usable physical cores divided evenly among the instances. */
  cores_per_instance: nullable(positiveInt),
  use_smt: bool,
  nodes: nullable(idList),
  sockets: nullable(idList),
  cpu_list: z.union([z.null(), z.string(), z.number().int().nonnegative().transform(String)], {
    error: (issue) => `expected null or a CPU list such as "0-3,8", got ${show(issue.input)}`,
  }),
  binding: oneOf(['auto', 'numactl', 'taskset', 'none'] as const),
  /** Split batch_size across the instances (the study's batch-size scaling). */
  split_batch: bool,
  allow_uneven_split: bool,
  /** Seconds a child may take to load and warm up before it is declared hung. */
  start_timeout_s: positiveNumber,
  /** Seconds a child may take to measure and report; null: 3 x benchmark_duration + 120. */
  run_timeout_s: nullable(positiveNumber),
  /** Fault injection for tests: make one instance crash, exit, hang or send garbage. */
  fault: nullable(
    z.strictObject({
      instance: nonNegativeInt,
      kind: oneOf(['crash', 'exit', 'hang', 'garbage'] as const),
      phase: oneOf(['load', 'measure', 'report'] as const),
    }),
  ),
});

const TopologySchema = z.strictObject({
  /** A recorded lscpu output (any form) to plan for instead of this machine. */
  file: nullable(text),
});

const ScenarioSchema = z.strictObject({
  name: oneOf(['latency'] as const),
  /** The timed loop runs until both `benchmark_duration` and this many calls are reached. */
  min_iterations: positiveInt,
});

export const RunConfigSchema = z
  .strictObject({
    experiment_name: text,
    model: ModelSchema,
    backend: BackendSchema,
    launcher: LauncherSchema,
    scenario: ScenarioSchema,
    topology: TopologySchema,
    batch_size: positiveInt,
    sequence_length: positiveInt,
    warmup_runs: nonNegativeInt,
    /** Seconds of timed calls (fractions allowed). */
    benchmark_duration: positiveNumber,
    seed: integer,
  })
  .superRefine((cfg, ctx) => {
    const m = cfg.model;
    if (m.hidden_size % m.num_attention_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'num_attention_heads'],
        message: `hidden_size ${m.hidden_size} is not divisible by num_attention_heads ${m.num_attention_heads}`,
      });
    }
    // RoBERTa numbers positions from pad_token_id + 1, so two of its slots are never used.
    const maxSequence = m.model_type === 'roberta' ? m.max_position_embeddings - m.pad_token_id - 1 : m.max_position_embeddings;
    if (cfg.sequence_length > maxSequence) {
      ctx.addIssue({
        code: 'custom',
        path: ['sequence_length'],
        message: `${cfg.sequence_length} is longer than ${m.name} allows (${maxSequence} positions): use sequence_length<=${maxSequence}`,
      });
    }
  });

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;
export type BackendConfig = z.infer<typeof BackendSchema>;

/** Validates the task config (the composed config without `hydra`); throws one error listing every problem. */
export function validateRunConfig(task: unknown): RunConfig {
  const result = RunConfigSchema.safeParse(task);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => `${path === '' ? k : `${path}.${k}`}: unknown key; remove it or check its spelling`).join('\n');
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return `${path}: missing; set it with ${path}=VALUE`;
    }
    return `${path}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid config:\n${lines.map((l) => `  ${l.replaceAll('\n', '\n  ')}`).join('\n')}`);
}
