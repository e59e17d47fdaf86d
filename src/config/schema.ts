/**
 * The schema of a composed, resolved run config. Every problem is reported as `dot.path: message`,
 * the message saying what was expected and what was found, so a user can fix the key they typed.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { leaves } from '../util/tree.js';
import { isNumber, numberText, plainNumbers, toJson } from '../util/numbers.js';

const show = (v: unknown): string =>
  typeof v === 'string'
    ? JSON.stringify(v)
    : v === undefined
      ? 'nothing'
      : typeof v === 'number' && !Number.isFinite(v)
        ? String(v) // NaN and the infinities, which JSON would print as null
        : toJson(v, 0); // 1.0 as 1.0, a big int with all its digits

/** What each scalar schema expects, so that `nullable()` can say it too. */
const EXPECTED = new WeakMap<z.ZodType, string>();

function scalar<T>(what: string, test: (v: unknown) => boolean) {
  const schema = z.custom<T>(test, { error: (issue) => `expected ${what}, got ${show(issue.input)}` });
  EXPECTED.set(schema, what);
  return schema;
}

// Safe integers only: 99999999999999999999 is no count a run can make (it is not even exact).
const positiveInt = scalar<number>('a positive integer', (v) => Number.isSafeInteger(v) && (v as number) > 0);
const nonNegativeInt = scalar<number>('an integer >= 0', (v) => Number.isSafeInteger(v) && (v as number) >= 0);
const integer = scalar<number>('an integer', (v) => Number.isSafeInteger(v));
const positiveNumber = scalar<number>('a positive number', (v) => typeof v === 'number' && Number.isFinite(v) && v > 0);
const nonNegativeNumber = scalar<number>('a number >= 0', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0);
/** launcher.malloc's choices (launcher/malloc.ts preloads them). */
export const MALLOCS = ['glibc', 'jemalloc', 'tcmalloc'] as const;

const text = scalar<string>('a non-empty string', (v) => typeof v === 'string' && v.length > 0);
const bool = scalar<boolean>('true or false', (v) => typeof v === 'boolean');
const oneOf = <const T extends readonly string[]>(values: T) =>
  scalar<T[number]>(`one of ${values.join(', ')}`, (v) => typeof v === 'string' && values.includes(v));
const nullable = <T extends z.ZodType>(s: T, what = EXPECTED.get(s) ?? 'a value') =>
  z.union([z.null(), s], { error: (issue) => `expected null or ${what}, got ${show(issue.input)}` });

const QUANTIZABLE_OPS = ['MatMul', 'Gemm', 'Attention', 'Gather'] as const;

/** Dynamic int8 quantization (src/models/quantize.ts), applied when `dtype` is int8. */
const QuantizationSchema = z.strictObject({
  weight_type: oneOf(['int8', 'uint8'] as const),
  per_channel: bool,
  reduce_range: bool,
  op_types: z.custom<(typeof QUANTIZABLE_OPS)[number][]>(
    (v) => Array.isArray(v) && v.every((x) => (QUANTIZABLE_OPS as readonly unknown[]).includes(x)),
    {
      error: (issue) => `expected a list of op types from ${QUANTIZABLE_OPS.join(', ')}, got ${show(issue.input)}`,
    },
  ),
  exclude_nodes: z.custom<string[]>((v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), {
    error: (issue) => `expected a list of node names, got ${show(issue.input)}`,
  }),
  operators: oneOf(['com.microsoft', 'onnx'] as const),
  preoptimize: bool,
});

export const ModelSchema = z.strictObject({
  name: text,
  /** `synthetic`: built from the architecture below with seeded weights; `file`: `path`; `hub`: `id`. */
  source: oneOf(['synthetic', 'file', 'hub'] as const),
  path: nullable(text),
  id: nullable(text),
  /**
   * hub: the branch, tag or commit of `id` (results record the commit it resolved to). Defaulted,
   * so model configs (and tune's winner.yaml) written before it existed still validate.
   */
  revision: text.default('main'),
  /** The ONNX file inside the hub repository or the `path` folder; null: onnx/model.onnx, else model.onnx. */
  file: nullable(text).default(null),
  opset: scalar<number>(
    'an integer opset between 11 and 18',
    (v) => Number.isInteger(v) && (v as number) >= 11 && (v as number) <= 18,
  ),
  dtype: oneOf(['fp32', 'int8'] as const),
  /** Optional so that model configs written before int8 existed still validate; the presets carry it. */
  quantization: QuantizationSchema.optional(),
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
  /** Coefficient of variation of a per-repetition factor on every latency (run-to-run variation); optional: 0. */
  run_cv: nonNegativeNumber.optional(),
  /** Amdahl: the share of a forward that does not speed up with threads. */
  serial_fraction: scalar<number>('a number in [0, 1]', (v) => typeof v === 'number' && v >= 0 && v <= 1),
  /** Each other instance running beside this one slows it by this fraction (shared caches, memory). */
  contention: nonNegativeNumber,
  /** Fixed cost of one call in ms, whatever its batch (so bigger batches amortize it). */
  call_overhead_ms: nonNegativeNumber,
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
  /** Optimize each model once per ORT version, level and CPU; later sessions load the saved graph. */
  cache_optimized_graph: bool,
  /** ORT's profiler on for the timed window (its first profile_calls calls); defaulted for older configs. */
  profile: bool.default(false),
  profile_calls: positiveInt.default(100),
});

const PyTorchBackendSchema = z.strictObject({
  name: z.literal('pytorch'),
  num_threads: nullable(positiveInt),
  num_interop_threads: positiveInt,
  /** eager: the module as it is; torchscript: traced, frozen and (optimize_for_inference) optimized. */
  mode: oneOf(['eager', 'torchscript'] as const),
  grad: oneOf(['inference_mode', 'no_grad'] as const),
  optimize_for_inference: bool,
  /** The interpreter with torch; null: python3 on PATH, then /usr/bin/python3. */
  python: nullable(text),
});

const BackendSchema = z.discriminatedUnion(
  'name',
  [MockBackendSchema, OnnxRuntimeBackendSchema, PyTorchBackendSchema],
  {
    error: (issue) =>
      `expected backend.name to be one of mock, onnxruntime, pytorch, got ${show((issue.input as { name?: unknown } | undefined)?.name)}`,
  },
);

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
  cpu_list: z.union(
    [
      z.null(),
      z.string(),
      z.number().int().nonnegative().transform(String),
      z
        .array(z.number().int().nonnegative())
        .min(1)
        .transform((ids) => ids.join(',')),
    ],
    {
      error: (issue) => `expected null or a CPU list such as "0-3,8" (or [0,1,2,3]), got ${show(issue.input)}`,
    },
  ),
  binding: oneOf(['auto', 'numactl', 'taskset', 'none'] as const),
  /** Children's malloc asks for transparent huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1). */
  thp: bool,
  /** Defaulted, so configs written before it existed (tune's winner.yaml) still validate. */
  malloc: oneOf(MALLOCS).default('glibc'),
  /** Split batch_size across the instances (the study's batch-size scaling). */
  split_batch: bool,
  allow_uneven_split: bool,
  /** Seconds a child may take to load and warm up before it is declared hung. */
  start_timeout_s: positiveNumber,
  /** Seconds a child may take to measure and report; null: 3 x benchmark_duration + 120. */
  run_timeout_s: nullable(positiveNumber),
  /** Fault injection for tests: make one instance crash, exit, hang, send garbage or corrupt bytes. */
  fault: nullable(
    z.strictObject({
      instance: nonNegativeInt,
      kind: oneOf(['crash', 'exit', 'hang', 'garbage', 'corrupt'] as const),
      phase: oneOf(['load', 'measure', 'report'] as const),
    }),
  ),
});

const TopologySchema = z.strictObject({
  /** A recorded lscpu output (any form) to plan for instead of this machine. */
  file: nullable(text),
});

/** Real text instead of seeded random token ids (src/inputs/). */
const InputsSchema = z.strictObject({
  /** A file of texts: .txt (one per line), .jsonl (one object per line) or .parquet; null: random ids. */
  text: nullable(text),
  /** The field of a .jsonl or .parquet file that holds the text. */
  column: text,
  /** A tokenizer.json, a folder holding one (or a vocab.txt), or a vocab.txt; null: the model's own. */
  tokenizer: nullable(text),
  /** The first this many texts of the file are read. */
  max_texts: positiveInt,
});

const LatencyScenarioSchema = z.strictObject({
  name: z.literal('latency'),
  /** The timed loop runs until both `benchmark_duration` and this many calls are reached. */
  min_iterations: positiveInt,
  /**
   * The share of every sequence, at its end, fed as padding (attention mask 0, the pad token), as
   * in a batch padded to its longest text; at least one token stays real. Optional: absent is 0.
   */
  padding: scalar<number>('a fraction in [0, 1)', (v) => typeof v === 'number' && v >= 0 && v < 1).optional(),
});

/** `[tokens, weight]` pairs; weights need not sum to 1 (they are normalized). */
const lengthMix = z.custom<[number, number][]>(
  (v) =>
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (p) =>
        Array.isArray(p) &&
        p.length === 2 &&
        Number.isInteger(p[0]) &&
        p[0] > 0 &&
        typeof p[1] === 'number' &&
        Number.isFinite(p[1]) &&
        p[1] >= 0,
    ) &&
    v.some((p) => (p as number[])[1]! > 0),
  {
    error: (issue) =>
      `expected a list of [tokens, weight] pairs with a positive total weight, e.g. [[32, 0.6], [128, 0.4]], got ${show(issue.input)}`,
  },
);

const PoolSchema = z.strictObject({
  name: text,
  /** Requests of up to this many tokens (and more than the next smaller pool's) go here; null: all longer ones. */
  max_length: nullable(positiveInt),
  /** Instances; null (only with cores_per_instance: null): one per NUMA node the leftover cores fall in. */
  instances: nullable(positiveInt),
  /** Physical cores per instance; null (one pool at most): the cores the other pools leave, shared evenly. */
  cores_per_instance: nullable(positiveInt),
});

/** Smart dispatching (src/scenarios/dispatch/): requests of mixed lengths routed to pools by length. */
const DispatchScenarioSchema = z
  .strictObject({
    name: z.literal('dispatch'),
    /** Requests per setup; null: `benchmark_duration` seconds of arrivals. */
    requests: nullable(positiveInt),
    /**
     * Open loop with requests: null: more arrivals than rate x duration, until every length class
     * has this many requests (at most 10 x as many arrivals). Optional: absent (older configs) is 0.
     */
    min_requests_per_class: nonNegativeInt.optional(),
    arrival: z.strictObject({
      mode: oneOf(['open', 'closed'] as const),
      rate_per_s: positiveNumber,
      clients: positiveInt,
    }),
    lengths: z.strictObject({
      distribution: oneOf(['mix', 'lognormal', 'file', 'dataset'] as const),
      mix: lengthMix,
      lognormal: z.strictObject({
        median: positiveNumber,
        sigma: nonNegativeNumber,
        min: positiveInt,
        max: positiveInt,
      }),
      file: nullable(text),
    }),
    pools: z
      .array(PoolSchema, { error: (issue) => `expected a list of pools, got ${show(issue.input)}` })
      .min(1, { error: 'list at least one pool' }),
    baseline: z.strictObject({
      enabled: bool,
      /** Instances of the homogeneous pool; null: as many as all pools together, the same cores split evenly. */
      instances: nullable(positiveInt),
    }),
    /** Distinct request lengths each instance is warmed up on (`warmup_runs` calls each). */
    warmup_lengths: positiveInt,
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string): void => ctx.addIssue({ code: 'custom', path, message });
    if (s.lengths.lognormal.min > s.lengths.lognormal.max)
      issue(
        ['lengths', 'lognormal', 'min'],
        `${s.lengths.lognormal.min} is above lengths.lognormal.max ${s.lengths.lognormal.max}`,
      );
    if (s.lengths.distribution === 'file' && s.lengths.file === null)
      issue(['lengths', 'file'], 'distribution=file needs a file of lengths: set scenario.lengths.file=PATH');
    const seen = new Set<string>();
    const limits = new Set<number | null>();
    s.pools.forEach((p, i) => {
      if (seen.has(p.name))
        issue(
          ['pools', i, 'name'],
          `two pools are named ${JSON.stringify(p.name)}; pool names name the length classes and must differ`,
        );
      if (limits.has(p.max_length))
        issue(
          ['pools', i, 'max_length'],
          `two pools have max_length ${String(p.max_length)}; each pool takes its own length range`,
        );
      seen.add(p.name);
      limits.add(p.max_length);
    });
    s.pools.forEach((p, i) => {
      if (p.instances === null && p.cores_per_instance !== null) {
        issue(
          ['pools', i, 'instances'],
          'null (one instance per NUMA node) only goes with cores_per_instance: null; give a number of instances',
        );
      }
    });
    if (s.pools.filter((p) => p.cores_per_instance === null).length > 1) {
      issue(['pools'], 'at most one pool may have cores_per_instance: null (it gets the cores the others leave)');
    }
  });

const ScenarioSchema = z.discriminatedUnion('name', [LatencyScenarioSchema, DispatchScenarioSchema], {
  error: (issue) =>
    `expected scenario.name to be one of latency, dispatch, got ${show((issue.input as { name?: unknown } | undefined)?.name)}`,
});

const overrideValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const optionalList = <T extends z.ZodType>(item: T, what: string) =>
  z.union([z.null(), z.array(item).min(1)], {
    error: (issue) => `expected null (every option) or a non-empty list of ${what}, got ${show(issue.input)}`,
  });

/** `bench tune` (src/tune/): the objective, the search space and the successive-halving budget. */
export const TuneSchema = z
  .strictObject({
    objective: oneOf(['latency', 'throughput'] as const),
    /** Throughput only: setups whose `latency_stat` is above this are ruled out. */
    max_latency_ms: nullable(positiveNumber, 'a positive number of ms'),
    latency_stat: oneOf(['mean', 'p50', 'p90', 'p99'] as const),
    /** halving: successive halving; grid: every candidate at max_duration_s (the brute force). */
    strategy: oneOf(['halving', 'grid'] as const),
    min_duration_s: positiveNumber,
    max_duration_s: positiveNumber,
    /** Repetitions of each finalist in the last rung, interleaved; optional: 3. */
    final_repetitions: positiveInt.optional(),
    /** Each rung keeps the best 1/eta of its candidates (at least 2) and runs them eta x longer. */
    eta: scalar<number>('a number >= 2', (v) => typeof v === 'number' && Number.isFinite(v) && v >= 2),
    /** Candidates this much worse than the rung's best (0.1 = 10%) are dropped whatever their rank. */
    prune_margin: nonNegativeNumber,
    /**
     * Warm-up calls and minimum calls of the screening rungs (the last rung uses warmup_runs and
     * scenario.min_iterations).
     */
    screen_warmup_runs: nonNegativeInt,
    screen_min_iterations: positiveInt,
    space: z.strictObject({
      instances: optionalList(positiveInt, 'instance counts'),
      cores_per_instance: optionalList(positiveInt, 'core counts'),
      /** Only setups that give every usable core to some instance. */
      use_all_cores: bool,
      use_smt: optionalList(bool, 'true/false'),
      split_batch: optionalList(bool, 'true/false'),
      /** Intra-op threads per instance: one per CPU it is given, or one per physical core. */
      threads: z.array(oneOf(['cpus', 'cores'] as const)).min(1, { error: 'list at least one of cpus, cores' }),
      /**
       * Any other config key and the values to try, e.g. backend.execution_mode: [sequential, parallel];
       * keys may be dotted or nested (+tune.space.params.backend.cv=[0,0.1] nests); null: none.
       */
      params: nullable(z.record(z.string(), z.unknown())),
    }),
  })
  .superRefine((t, ctx) => {
    for (const [key, values] of Object.entries(leaves(t.space.params ?? {}))) {
      if (!Array.isArray(values) || values.length === 0 || !values.every((v) => overrideValue.safeParse(v).success)) {
        ctx.addIssue({
          code: 'custom',
          path: ['space', 'params', key],
          message: `expected a non-empty list of values to try, e.g. [a, b], got ${show(values)}`,
        });
      }
    }
  });

export const RunConfigSchema = z
  .strictObject({
    experiment_name: text,
    model: ModelSchema,
    backend: BackendSchema,
    launcher: LauncherSchema,
    scenario: ScenarioSchema,
    topology: TopologySchema,
    /** Optional so that users' primary configs need not carry it (absent: random ids). */
    inputs: InputsSchema.optional(),
    batch_size: positiveInt,
    sequence_length: positiveInt,
    warmup_runs: nonNegativeInt,
    /** Seconds of timed calls (fractions allowed). */
    benchmark_duration: positiveNumber,
    /**
     * Fresh measurements of this config (new child processes, session and warm-up each), the unit
     * of evidence of bench compare and tune. Optional so that users' primary configs need not carry it.
     */
    repetitions: positiveInt.optional(),
    seed: integer,
    /** Read by `bench tune` only; optional so that primary configs of users need not carry it. */
    tune: TuneSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    const m = cfg.model;
    if (m.source === 'hub' && m.id === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'id'],
        message: 'required with model.source=hub, e.g. model.id=Xenova/bert-base-cased',
      });
    }
    if (m.source === 'file' && m.path === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'path'],
        message: 'required with model.source=file: an .onnx file or a Hugging Face folder',
      });
    }
    const textFile = cfg.inputs?.text ?? null;
    const s = cfg.scenario;
    if (s.name === 'dispatch' && s.lengths.distribution === 'dataset' && textFile === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['scenario', 'lengths', 'distribution'],
        message: 'dataset takes the token lengths of real texts: set inputs.text=FILE (.txt, .jsonl or .parquet)',
      });
    }
    if (s.name === 'dispatch' && s.lengths.distribution !== 'dataset' && textFile !== null) {
      ctx.addIssue({
        code: 'custom',
        path: ['inputs', 'text'],
        message: `scenario=dispatch takes only the lengths of the texts, with scenario.lengths.distribution=dataset (it is ${s.lengths.distribution}): set it, or remove inputs.text`,
      });
    }
    if (s.name === 'latency' && textFile !== null && (s.padding ?? 0) > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['scenario', 'padding'],
        message:
          'pads random ids; with inputs.text each text is padded to sequence_length as its tokenizer pads it: use scenario.padding=0',
      });
    }
    if (m.hidden_size % m.num_attention_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'num_attention_heads'],
        message: `hidden_size ${m.hidden_size} is not divisible by num_attention_heads ${m.num_attention_heads}`,
      });
    }
    // A user or hub model's positions are known once its file is read (run/launch.ts checks them there).
    if (userModel(m)) return;
    // RoBERTa numbers positions from pad_token_id + 1, so two of its slots are never used.
    const maxSequence =
      m.model_type === 'roberta' ? m.max_position_embeddings - m.pad_token_id - 1 : m.max_position_embeddings;
    for (const { length, key } of sequenceLengths(cfg)) {
      if (length <= maxSequence) continue;
      ctx.addIssue(
        key === 'sequence_length'
          ? {
              code: 'custom',
              path: ['sequence_length'],
              message: `${length} is longer than ${m.name} allows (${maxSequence} positions): use sequence_length<=${maxSequence}`,
            }
          : {
              code: 'custom',
              path: key.split('.'),
              message: `${length} tokens is longer than ${m.name} allows (${maxSequence} positions)`,
            },
      );
    }
  });

/**
 * Whether the model is a user's file or a hub model (its architecture is read from it, not from the preset's fields).
 */
export function userModel(m: Pick<z.infer<typeof ModelSchema>, 'path' | 'source'>): boolean {
  return m.path !== null || m.source === 'hub';
}

/**
 * The sequence lengths a run feeds, each with the key that sets it: sequence_length, and for the
 * dispatch scenario (whose requests carry their own lengths) its longest one; a length file's are
 * checked when it is read.
 */
export function sequenceLengths(
  cfg: Pick<z.infer<typeof RunConfigSchema>, 'sequence_length' | 'scenario'>,
): { length: number; key: string }[] {
  const s = cfg.scenario;
  const lengths = [{ length: cfg.sequence_length, key: 'sequence_length' }];
  if (s.name === 'dispatch') {
    if (s.lengths.distribution === 'mix')
      lengths.push({
        length: Math.max(...s.lengths.mix.filter(([, w]) => w > 0).map(([l]) => l)),
        key: 'scenario.lengths.mix',
      });
    else if (s.lengths.distribution === 'lognormal')
      lengths.push({ length: s.lengths.lognormal.max, key: 'scenario.lengths.lognormal.max' });
  }
  return lengths;
}

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type ModelConfig = z.infer<typeof ModelSchema>;
export type BackendConfig = z.infer<typeof BackendSchema>;
export type TuneConfig = z.infer<typeof TuneSchema>;
export type DispatchScenarioConfig = z.infer<typeof DispatchScenarioSchema>;

/** Validates the task config (the composed config without `hydra`); throws one error listing every problem. */
/**
 * `unresolved`: the same config before interpolation, so that a key that only copies another
 * (`tune.max_duration_s: ${benchmark_duration}`) is not reported again when that key is wrong.
 */
export function validateRunConfig(task: unknown, unresolved?: unknown): RunConfig {
  // bench's own keys take plain numbers: `batch_size: 2.0` is 2, as Hydra's users expect.
  const result = RunConfigSchema.safeParse(plainNumbers(task));
  if (result.success) return result.data;
  const paths = new Set(result.error.issues.map((issue) => issue.path.map(String).join('.')));
  const copiesABadKey = (path: string): boolean => {
    const raw = path
      .split('.')
      .reduce<unknown>(
        (node, k) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[k] : undefined),
        unresolved,
      );
    const source = typeof raw === 'string' ? /^\$\{([\w.]+)\}$/.exec(raw)?.[1] : undefined;
    return source !== undefined && paths.has(source);
  };
  const lines = result.error.issues
    .filter((issue) => !copiesABadKey(issue.path.map(String).join('.')))
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const own = path === '' ? ' (bench takes its own keys only; a label of yours goes in experiment_name=...)' : '';
        return issue.keys
          .map((k) => `${path === '' ? k : `${path}.${k}`}: unknown key; remove it or check its spelling${own}`)
          .join('\n');
      }
      if (issue.code === 'invalid_type' && issue.input === undefined) {
        return `${path}: missing; set it with ${path}=VALUE`;
      }
      // The value as it was given (1.0, a big int's digits), not as the schema saw it.
      const given = issue.path.reduce<unknown>(
        (node, k) => (node as Record<string, unknown> | undefined)?.[String(k)],
        task,
      );
      let message = issue.message.replace(`got ${show(plainNumbers(given))}`, `got ${show(given)}`);
      if (/\bstring\b/.test(message) && (isNumber(given) || typeof given === 'boolean'))
        message += `; quote it to keep it text: ${path}='${typeof given === 'boolean' ? String(given) : numberText(given)}'`;
      return `${path}: ${message}`;
    });
  throw new ConfigError(`Invalid config:\n${lines.map((l) => `  ${l.replaceAll('\n', '\n  ')}`).join('\n')}`);
}
