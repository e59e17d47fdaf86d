/**
 * A differential test against the real OmegaConf (Debian's python3-omegaconf, installed by
 * .ci/run): each config of the corpus is loaded and resolved by both, and the results compared
 * with their types (an int is not a float, a string not a bool). Differences bench still has are
 * listed in KNOWN, each with its class (issue #20); the test fails when a listed one starts to agree
 * (take it off the list) and when any other case differs. Skipped, saying why, where OmegaConf is
 * not installed.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pythonStr, resolveAll } from '../../src/config/interpolate.js';
import { mergeConfig } from '../../src/config/compose.js';
import { parseYaml, toYaml } from '../../src/config/yaml.js';
import { isFloat, isInt, numberValue } from '../../src/util/numbers.js';
import { isTree, type Tree } from '../../src/util/tree.js';

const PYTHON = '/usr/bin/python3';
const probe = spawnSync(PYTHON, ['-c', 'import omegaconf; print(omegaconf.__version__)'], { encoding: 'utf8' });
const version = probe.status === 0 ? probe.stdout.trim() : null;
const why =
  version === null
    ? `python3-omegaconf is not installed (${PYTHON}: ${probe.stderr?.trim().split('\n').at(-1) ?? probe.error?.message})`
    : null;
if (why) console.warn(`OmegaConf differential test skipped: ${why}`);

const ENV = { BENCH_OC_N: '8', BENCH_OC_NAME: 'tiny' };

/**
 * [name, YAML]: YAML typing, interpolation, resolvers and the typing of the values they produce;
 * [name, [YAML, ...]]: configs merged in order (OmegaConf.merge), as composition merges them.
 */
const CORPUS: readonly (readonly [string, string | readonly string[]])[] = [
  ['oc.decode of an unset variable default', 'workers: ${oc.decode:${oc.env:BENCH_OC_UNSET,4}}'],
  ['oc.decode of a set variable', 'workers: ${oc.decode:${oc.env:BENCH_OC_N}}'],
  ['oc.decode of a quoted float', 'x: ${oc.decode:"3.5"}'],
  ['oc.decode of a quoted list', 'l: ${oc.decode:"[1, 2, 3]"}'],
  ['oc.decode of a quoted dict', 'd: ${oc.decode:"{a: 1, b: x}"}'],
  ['oc.decode of null', 'v: ${oc.decode:null}'],
  ['oc.decode of a plain word', 'v: ${oc.decode:abc}'],
  ['oc.decode of a string with an interpolation', 'a: 5\nb: ${oc.decode:"${a}"}'],
  ['oc.decode of a bool is refused', 'v: ${oc.decode:true}'],
  ['oc.decode of an int is refused', 'v: ${oc.decode:3}'],
  ['oc.dict.keys', 'workers: {alpha: 1, beta: 2}\nk: ${oc.dict.keys:workers}'],
  ['oc.dict.values', 'workers: {alpha: 1, beta: 2}\nv: ${oc.dict.values:workers}'],
  ['oc.dict.values resolves what it lists', 'a: 1\nd: {x: "${a}", z: 3}\nv: ${oc.dict.values:d}'],
  ['oc.dict.keys of a nested node', 'cfg:\n  pools: {small: 1, large: 2}\nk: ${oc.dict.keys:cfg.pools}'],
  ['oc.dict.keys of a list is refused', 'l: [1, 2]\nk: ${oc.dict.keys:l}'],
  ['oc.dict.keys of a missing key is refused', 'k: ${oc.dict.keys:nothing}'],
  ['oc.env set', 'v: ${oc.env:BENCH_OC_NAME}'],
  ['oc.env default null', 'v: ${oc.env:BENCH_OC_UNSET,null}'],
  ['oc.env default string', 'v: ${oc.env:BENCH_OC_UNSET,fallback}'],
  ['oc.env unset without default is refused', 'v: ${oc.env:BENCH_OC_UNSET}'],
  ['oc.select present', 'a: {b: 2}\nv: ${oc.select:a.b,7}'],
  ['oc.select default', 'v: ${oc.select:a.b,7}'],
  ['a node reference keeps its type', 'a: 3\nb: ${a}\nc: [1, 2]\nd: ${c}'],
  ['nested interpolation in a key', 'which: small\npools: {small: 1, large: 2}\nv: ${pools.${which}}'],
  ['relative interpolation', 'x:\n  a: 1\n  b: ${.a}\n  c: {d: ${..a}}'],
  ['an int in a string', 'count: 4\nname: run_${count}'],
  ['a float in a string', 'lr: 0.25\nname: lr_${lr}'],
  ['null in a string', 'v: null\nname: v_${v}'],
  ['escaped interpolation', 'v: \\${not.a.key}'],
  ['a missing key is refused', 'v: ${nothing.here}'],
  ['an unknown resolver is refused', 'v: ${no_such_resolver:1}'],
  ['a bool in a string', 'debug: true\nname: run_${debug}'],
  ['an integral float', 'lr: 1.0'],
  ['an exponent without a dot', 'x: 1e3'],
  ['a float in a string, exponent', 'lr: 1.0e-5\nname: lr_${lr}'],
  ['y as a key', 'point: {x: 1, y: 2}'],
  ['n, y, Y and N as values', 'a: n\nb: y\nc: Y\nd: N\ne: yes\nf: Off\ng: ON'],
  [
    'numbers PyYAML leaves strings',
    'a: 08\nb: 09:30\nc: -.5\nd: 0o17\ne: 1_000\nf: 0x1f\ng: 017\nh: 1:30\ni: .5\nj: +12',
  ],
  ['nulls', 'a: ~\nb: Null\nc: NULL\nd:\ne: nil'],
  ['floats OmegaConf reads', 'a: 1.5\nb: 2.5e-3\nc: -.inf\nd: 6.02e-23\ne: 1_000.5'],
  ['false, inf and a negative float in strings', 'a: false\nb: .inf\nc: -2.5\ns: ${a}_${b}_${c}'],
  ['small and large floats in strings', 'a: 0.0001\nb: 0.00012\nc: 1.5e-07\nd: 123456.789\ns: ${a} ${b} ${c} ${d}'],
  ['oc.dict.keys relative to its node', 'cfg:\n  pools: {small: 1, large: 2}\n  k: ${oc.dict.keys:.pools}'],
  ['oc.decode of a dict with an interpolation', 'size: 3\nd: ${oc.decode:"{s: ${size}}"}'],
  // YAML typing as PyYAML's SafeLoader (OmegaConf's) reads it.
  ['ints in every base', 'a: 0b101\nb: 0x_1F\nc: 017\nd: -0x10\ne: +0\nf: -0\ng: 0o17'],
  ['big ints stay exact', 'a: 12345678901234567890\nb: -9223372036854775809\nc: 9007199254740993'],
  ['integral floats stay floats', 'a: 1.0\nb: 1.\nc: -2.0\nd: 1.0e+3\ne: 0.0\nf: -0.0'],
  ['exponents OmegaConf reads as floats', 'a: 1e3\nb: 1E3\nc: 2e-3\nd: 6.02E23\ne: 1e+3'],
  ['infinities and nan', 'a: .inf\nb: -.Inf\nc: +.INF\nd: .NaN\ne: inf\nf: nan\ng: -inf'],
  ['sexagesimal floats', 'a: 1:30.5\nb: -1:00:00'],
  ['underscores in numbers', 'a: 1_000\nb: 1_000.000_1\nc: 0b1_0\nd: _1'],
  ['booleans in every spelling', 'a: True\nb: TRUE\nc: tRue\nd: yes\ne: NO\nf: on\ng: OFF\nh: Yes'],
  ['quoted scalars stay strings', "a: '1.0'\nb: \"yes\"\nc: '08'\nd: 'null'\ne: \"1e3\"\nf: '~'"],
  ['dates stay strings', 'a: 2024-01-01\nb: 2024-01-01 10:00:00\nc: 2001-12-14t21:59:43.10-05:00'],
  ['an equals sign as a value', "a: '='\nb: '<<'\nc: =="],
  ['block scalars', 'a: |\n  line one\n  line two\nb: >\n  folded\n  text\nc: |-\n  kept'],
  ['anchors and aliases', 'base: &b {x: 1, y: [1, 2]}\ncopy: *b'],
  ['merge keys', 'base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3'],
  ['strings with colons and hashes', 'a: "http://x:80/y"\nb: a#b\nc: "a # b"\nd: key: value'],
  ['unicode and escapes', 'a: "caf\\u00e9"\nb: "tab\\there"\nc: ünïcödé\nd: "new\\nline"'],
  ['empty collections and values', 'a: {}\nb: []\nc: \nd: ""\ne: [[], {}]'],
  ['nested lists of dicts', 'l:\n  - {a: 1, b: [x, y]}\n  - - 1\n    - 2.0\n  - null'],
  ['int and float keys', '1: a\n2.5: b'],
  ['a bool key', 'true: c\nfalse: d'],
  ['keys with dashes, spaces and unicode', 'a-b: 1\n"c d": 2\nclé: 3\n_x: 4'],
  ['times as base-60 ints', 'a: 12:30:45\nb: 1:2:3.5\nc: 190:20:30'],
  ['ints around 2^53', 'a: 9007199254740991\nb: 9007199254740992\nc: -9007199254740993'],
  [
    'floats with many digits',
    'a: 0.1\nb: 3.141592653589793238\nc: 1.7976931348623157e+308\nd: 5e-324\ne: 123456789.123456789',
  ],
  [
    'floats in strings with many digits',
    'a: 0.1\nb: 2.675\nc: 1.0e-7\nd: 100000000000000000.0\ns: ${a}|${b}|${c}|${d}',
  ],
  ['strings like numbers with suffixes', 'a: 1.0f\nb: 1e\nc: 0x\nd: 1_\ne: 1__0\nf: 0b2'],
  ['a null key is refused', 'null: d'],
  ['version-like strings', 'a: 1.2.3\nb: v1.0\nc: 1.0a\nd: 10abc\ne: 0.1.0'],
  ['signs and dots', 'a: +1\nb: -1\nc: +1.5\nd: +.5\ne: 1.5.\nf: .'],
  ['MISSING values stay ???', 'a: ???\nb:\n  c: ???'],
  ['??? in a flow mapping', 'b: {c: ???}'],
  // Interpolation.
  ['interpolation to an interpolation', 'a: 1\nb: ${a}\nc: ${b}\nd: x_${c}'],
  ['interpolation of a list item', 'l: [10, 20]\na: ${l[1]}\nb: ${l.0}'],
  ['interpolation inside list items', 'n: 3\nl: [${n}, x_${n}, "${n}"]'],
  ['interpolation of a dict item by bracket', 'd: {k: v}\na: ${d[k]}'],
  ['interpolation through a list of dicts', 'l: [{a: 1}, {a: 2}]\nv: ${l[1].a}'],
  ['an integral float into a string', 'lr: 1.0\nname: lr_${lr}'],
  ['an exponent float into a string', 'x: 1e3\nname: x_${x}'],
  ['a big int into a string', 'n: 12345678901234567890\nname: n_${n}'],
  ['a huge float into a string', 'x: 1.0e+20\ny: 1.5e16\nz: 1.0e15\nname: ${x} ${y} ${z}'],
  ['an integral float by reference', 'lr: 1.0\nb: ${lr}\nl: [${lr}]'],
  ['a dict into a string', 'd: {a: 1}\ns: x_${d}'],
  ['a list into a string', 'l: [1]\ns: x_${l}'],
  ['a dict with an interpolation into a string', 'b: 2\nd: {a: "${b}", s: "it\'s"}\nm:\n  k: ???\ns: v_${d}_${m}'],
  ['an interpolation to itself is refused', 'a: ${a}'],
  ['a cycle is refused', 'a: ${b}\nb: ${a}'],
  ['an interpolation to ??? is refused', 'a: ???\nb: ${a}'],
  ['a dollar alone', 'a: $100\nb: a$b\nc: ${a}$'],
  ['an escaped interpolation in text', 'a: x\\${y}z'],
  ['an unclosed interpolation is refused', 'a: ${b\nb: 1'],
  ['whitespace inside an interpolation', 'a: 1\nb: ${ a }'],
  ['two levels up', 'a:\n  b:\n    c: ${..d}\n    e: ${...f}\n  d: 1\nf: 2'],
  ['relative into a list item', 'a:\n  l: [1, 2]\n  v: ${.l[0]}'],
  ['nested interpolation picking a list index', 'i: 1\nl: [a, b]\nv: ${l[${i}]}'],
  ['interpolation of a null', 'a: null\nb: ${a}'],
  ['interpolation of a bool and a float in text', 'a: false\nb: 0.5\nc: ${a}-${b}'],
  ['a string that is only a number by interpolation', 'a: "5"\nb: ${a}'],
  ['interpolation keeps a string a string', 'a: "1.0"\nb: ${a}\nc: ${a}x'],
  ['interpolation of a missing nested key', 'a: {b: 1}\nc: ${a.x}'],
  ['interpolation of an int key', 'd: {1: one}\nv: ${d.1}'],
  // Resolvers.
  ['oc.env with a quoted default', "v: ${oc.env:BENCH_OC_UNSET,'a,b'}"],
  ['oc.env with an int default is a string', 'v: ${oc.env:BENCH_OC_UNSET,5}'],
  ['oc.env with a float default', 'v: ${oc.env:BENCH_OC_UNSET,1.0}'],
  ['oc.env set in a string', 'v: n_${oc.env:BENCH_OC_N}'],
  ['oc.env with an interpolated default', 'd: fallback\nv: ${oc.env:BENCH_OC_UNSET,${d}}'],
  ['oc.decode of a set variable in a string', 'v: w${oc.decode:${oc.env:BENCH_OC_N}}'],
  ['oc.decode of an integral float', 'v: ${oc.decode:"1.0"}'],
  ['oc.decode of an exponent', 'v: ${oc.decode:"1e3"}'],
  ['oc.decode of a big int', 'v: ${oc.decode:"12345678901234567890"}'],
  ['oc.decode of booleans', 'a: ${oc.decode:"true"}\nb: ${oc.decode:"False"}'],
  ['oc.decode of a quoted string', 'v: ${oc.decode:"\'hello\'"}'],
  ['oc.decode of a string with spaces', 'v: ${oc.decode:"  a b  "}'],
  ['oc.decode of nested containers', 'v: ${oc.decode:"{a: [1, 2.0], b: {c: null}}"}'],
  ['oc.decode of an empty string', 'v: ${oc.decode:""}'],
  ['oc.decode of inf and nan', 'a: ${oc.decode:"inf"}\nb: ${oc.decode:"-inf"}'],
  ['oc.select of a relative key', 'a:\n  b: 1\n  c: ${oc.select:.b,0}'],
  ['oc.select of a missing value takes the default', 'a: ???\nb: ${oc.select:a,def}'],
  ['oc.select default null', 'b: ${oc.select:a,null}'],
  ['oc.select without a default', 'b: ${oc.select:nothing}'],
  ['oc.select of a node', 'a: {x: 1}\nb: ${oc.select:a}'],
  ['oc.dict.keys of an empty dict', 'd: {}\nk: ${oc.dict.keys:d}'],
  ['oc.dict.values of floats', 'd: {a: 1.0, b: 2.5}\nv: ${oc.dict.values:d}'],
  ['oc.dict.keys of an interpolated node', 'd: {a: 1}\ne: ${d}\nk: ${oc.dict.keys:e}'],
  ['a resolver with a quoted argument', 'v: ${oc.env:BENCH_OC_UNSET,"x y"}'],
  ['a resolver with spaces around arguments', 'v: ${oc.env: BENCH_OC_UNSET , fb }'],
  // Merges, as composition merges configs (OmegaConf.merge).
  ['merge: dicts merge deeply', ['a: {b: {c: 1, d: 2}}', 'a: {b: {d: 3, e: 4}}']],
  ['merge: lists are replaced', ['a: [1, 2, 3]', 'a: [4]']],
  ['merge: a scalar replaces a dict', ['a: {x: 1}', 'a: 5']],
  ['merge: a dict replaces a scalar', ['a: 5', 'a: {x: 1}']],
  ['merge: null replaces a dict', ['a: {x: 1}', 'a: null']],
  ['merge: a dict replaces null', ['a: null', 'a: {x: 1}']],
  ['merge: ??? keeps the value', ['a: {x: 1}\nb: [1]\nc: 3', 'a: ???\nb: ???\nc: ???']],
  ['merge: a value replaces ???', ['a: ???', 'a: 1']],
  ['merge: a dict onto a list is refused', ['a: [1, 2]', 'a: {x: 1}']],
  ['merge: a list onto a dict is refused', ['a: {x: 1}', 'a: [1, 2]']],
  ['merge: a nested dict onto a list is refused', ['c: {a: [1]}', 'c: {a: {x: 1}}']],
  ['merge: a dict onto an interpolation merges into its target', ['b: {y: 2}\na: ${b}', 'a: {x: 1}']],
  ['merge: a scalar onto an interpolation replaces it', ['b: {y: 2}\na: ${b}', 'a: 5']],
  ['merge: an interpolation replaces a value', ['a: 1', 'a: ${b}\nb: 2']],
  ['merge: a float stays a float', ['a: 2', 'a: 1.0']],
  ['merge: an int replaces a float', ['a: 1.0', 'a: 2']],
  ['merge: an empty dict changes nothing', ['a: {x: 1}', 'a: {}']],
  ['merge: an empty dict gains keys', ['a: {}', 'a: {x: 1}']],
  ['merge: three configs', ['a: ${b}\nb: {y: 1}', 'a: {z: 2}', 'b: {y: 3}']],
  ['merge: new keys keep their order', ['a: 1\nb: 2', 'c: 3\na: 4']],
  ['merge: interpolations resolve after the merge', ['a: 1\nb: ${a}', 'a: 2']],
  ['merge: a relative interpolation target', ['x:\n  t: {k: 1}\n  a: ${.t}', 'x: {a: {j: 2}}']],
  ['merge: big ints and floats survive', ['a: 1', 'a: 12345678901234567890\nb: 1e3']],
  ['merge: a list of dicts is replaced whole', ['l: [{a: 1}, {b: 2}]', 'l: [{c: 3}]']],
  ['merge: a dict onto an interpolation of a scalar', ['b: 1\na: ${b}', 'a: {x: 1}']],
  ['merge: a dict onto an interpolation sees earlier keys of the file', ['b: {x: 1}\na: ${b}', 'b: {x: 2}\na: {y: 1}']],
  ['merge: a dict onto a chain of interpolations', ['c: {k: 1}\nb: ${c}\na: ${b}', 'a: {j: 2}']],
  ['merge: a dict onto an interpolation of a missing key', ['a: ${nothing}', 'a: {x: 1}']],
  ['merge: a list onto an interpolation', ['b: [1]\na: ${b}', 'a: [2, 3]']],
  ['merge: a dict onto a string with text around an interpolation', ['b: {y: 1}\na: x${b}', 'a: {x: 1}']],
  ['merge: lists of interpolations are replaced', ['n: 1\nl: [${n}, 2]', 'l: [${n}, ${n}]\nn: 5']],
  ['merge: a nested ??? keeps the nested value', ['a: {b: {c: 1}}', 'a:\n  b:\n    c: ???']],
  ['merge: a key deleted by null stays null', ['a: {b: 1}', 'a: {b: null}']],
];

/** Deliberate differences with their reasons (listed in docs/configuration.md); the test checks they still differ. */
const KNOWN: Readonly<Record<string, string>> = {
  'interpolation of an int key':
    "bench's keys are strings (`1:` is the key '1'), so ${d.1} finds it; OmegaConf 2.2 keeps an int key that d.1 does not reach",
  'a bool key':
    "bench's keys are strings: `true:` is the key 'true' (OmegaConf keeps the bool True, which Python equates with the key 1)",
  '??? in a flow mapping':
    'PyYAML refuses `{c: ???}` (in flow context `?` starts a complex key); the yaml library bench parses with reads the string ???',
};

type Typed = readonly unknown[];

/** bench's value with its type, in the shape the Python side writes. */
function typed(v: unknown): Typed {
  if (v === null) return ['null'];
  if (typeof v === 'boolean') return ['bool', v];
  // Ints as their digits (Python's json writes big ones exactly), floats as numbers or repr.
  if (isInt(v)) return ['int', String(v)];
  if (isFloat(v)) {
    const x = numberValue(v)!;
    return ['float', Number.isFinite(x) ? x : x > 0 ? 'inf' : x < 0 ? '-inf' : 'nan'];
  }
  if (typeof v === 'string') return ['str', v];
  if (Array.isArray(v)) return ['list', v.map(typed)];
  if (isTree(v)) return ['dict', Object.entries(v).map(([k, x]) => [String(k), typed(x)])];
  return ['other', String(v)];
}

/** The corpus entry composed (merged in order) and resolved by bench; null when bench refuses it. */
function benchConfig(yaml: string | readonly string[]): unknown {
  try {
    const texts = typeof yaml === 'string' ? [yaml] : yaml;
    const root = texts.reduce<Tree>((into, text) => mergeConfig(into, parseYaml(text, 'corpus.yaml').content), {});
    return resolveAll(root, { env: ENV });
  } catch {
    return undefined;
  }
}

function benchResolve(yaml: string | readonly string[]): Typed {
  const resolved = benchConfig(yaml);
  return resolved === undefined ? ['error'] : typed(resolved);
}

/** A Python value with its type, in the shape `typed()` above gives bench's. */
const PY_TYPED = String.raw`
import json, math, sys, yaml
from omegaconf import OmegaConf
def typed(v):
    if v is None: return ['null']
    if isinstance(v, bool): return ['bool', v]
    if isinstance(v, int): return ['int', str(v)]
    if isinstance(v, float): return ['float', v if math.isfinite(v) else repr(v)]
    if isinstance(v, str): return ['str', v]
    if isinstance(v, list): return ['list', [typed(x) for x in v]]
    if isinstance(v, dict): return ['dict', [[str(k), typed(x)] for k, x in v.items()]]
    return ['other', str(v)]
`;

/** Each entry merged and resolved by OmegaConf. */
const PY_RESOLVE = `${PY_TYPED}
out = []
for texts in json.load(sys.stdin):
    try:
        texts = [texts] if isinstance(texts, str) else texts
        cfg = OmegaConf.merge(*[OmegaConf.create(t) for t in texts])
        out.append(typed(OmegaConf.to_container(cfg, resolve=True)))
    except Exception:
        out.append(['error'])
print(json.dumps(out))
`;

/** YAML that bench wrote, read back by PyYAML's safe_load and by OmegaConf. */
const PY_READ = `${PY_TYPED}
out = []
for text in json.load(sys.stdin):
    out.append([typed(yaml.safe_load(text)), typed(OmegaConf.to_container(OmegaConf.create(text)))])
print(json.dumps(out))
`;

function python(script: string, input: unknown): unknown {
  const r = spawnSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    env: { ...process.env, ...ENV, BENCH_OC_UNSET: undefined },
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe.skipIf(why !== null)(`bench against OmegaConf ${version ?? ''}`, () => {
  it('resolves the corpus as OmegaConf does, but for the listed differences', () => {
    const theirs = python(
      PY_RESOLVE,
      CORPUS.map(([, y]) => y),
    ) as Typed[];
    const differ = CORPUS.filter(([, yaml], k) => JSON.stringify(benchResolve(yaml)) !== JSON.stringify(theirs[k]));
    const agree = CORPUS.length - differ.length;
    console.log(
      `OmegaConf ${version}: ${agree} of ${CORPUS.length} configs agree (${((100 * agree) / CORPUS.length).toFixed(1)}%)`,
    );
    const report = differ.map(([name, yaml]) => {
      const k = CORPUS.findIndex(([n]) => n === name);
      return `${name}: ${JSON.stringify(yaml)} bench ${JSON.stringify(benchResolve(yaml))} OmegaConf ${JSON.stringify(theirs[k])}`;
    });
    expect(differ.map(([n]) => n).sort(), report.join('\n')).toEqual(Object.keys(KNOWN).sort());
  });

  it('writes YAML that PyYAML and OmegaConf read back to the same values and types', () => {
    const configs = CORPUS.map(([, yaml]) => benchConfig(yaml)).filter((c) => c !== undefined);
    const back = python(PY_READ, configs.map(toYaml)) as [Typed, Typed][];
    const wrong = configs.flatMap((c, k) => {
      const ours = JSON.stringify(typed(c));
      const [pyyaml, omegaconf] = back[k]!.map((t) => JSON.stringify(t));
      return pyyaml === ours && omegaconf === ours
        ? []
        : [`${toYaml(c)}bench ${ours}\nPyYAML ${pyyaml}\nOmegaConf ${omegaconf}`];
    });
    expect(configs.length).toBeGreaterThan(100);
    expect(wrong, wrong.join('\n\n')).toEqual([]);
  });
});

const pythonRuns = spawnSync(PYTHON, ['-c', 'print(1)'], { encoding: 'utf8' }).status === 0;
if (!pythonRuns) console.warn(`pythonStr check skipped: ${PYTHON} does not run`);

describe.skipIf(!pythonRuns)("pythonStr against Python's own str()", () => {
  it('writes floats, bools, None, inf and nan as Python does', () => {
    // Non-integral floats (an integral one is an int in bench until floats are tagged, issue #20).
    const floats = [
      0.1,
      0.5,
      -2.5,
      1e-5,
      1.5e-7,
      0.0001,
      0.00012,
      123456.789,
      3.141592653589793,
      1e-300,
      2 / 3,
      1234567890123.5,
      -0.000123,
      5e-324,
    ];
    const r = spawnSync(PYTHON, ['-c', 'import json,sys; print(json.dumps([str(x) for x in json.load(sys.stdin)]))'], {
      input: JSON.stringify(floats),
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(floats.map(pythonStr)).toEqual(JSON.parse(r.stdout));
    expect([true, false, null, Infinity, -Infinity, NaN, 7].map(pythonStr)).toEqual([
      'True',
      'False',
      'None',
      'inf',
      '-inf',
      'nan',
      '7',
    ]);
  });
});
