/**
 * Numbers as OmegaConf keeps them: an int is not a float. A JavaScript number cannot tell `1.0`
 * from `1`, nor hold an int above 2^53, so config trees carry three kinds of number:
 *
 * - a JS `number`: an int when its value is integral, else a float (`0.5`, `inf`, `nan`);
 * - a {@link Float}: a float whose value is integral (`1.0`, `1e3`, `5.`), so that it prints,
 *   saves and interpolates as `1.0` (`lr_${lr}` is `lr_1.0`, as in OmegaConf);
 * - a `bigint`: an int beyond JavaScript's exact range, kept digit for digit.
 *
 * YAML files and command-line overrides produce them; the schema sees plain numbers
 * ({@link plainNumbers}); `.hydra/*.yaml`, results.json and the CSVs write them back as Python
 * would, so PyYAML and OmegaConf read the same types bench used.
 */

/** A float whose value is integral (`1.0`): a number that must not turn into an int. */
export class Float {
  constructor(readonly value: number) {}

  valueOf(): number {
    return this.value;
  }

  toString(): string {
    return floatRepr(this.value);
  }

  /** `JSON.stringify` gets the number (use {@link toJson} to write `1.0`). */
  toJSON(): number {
    return this.value;
  }
}

/** A float as bench stores it: a `Float` when integral, else the number itself. */
export function float(value: number): number | Float {
  return Number.isInteger(value) ? new Float(value) : value;
}

/** An int as bench stores it: a number when exact, else a bigint. */
export function int(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

export function isFloat(v: unknown): v is number | Float {
  return v instanceof Float || (typeof v === 'number' && !Number.isInteger(v));
}

/** Any of the three kinds of number. */
export function isNumber(v: unknown): v is number | bigint | Float {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof Float;
}

export function isInt(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** The value of any kind of number as a JS number (a bigint rounded), or undefined for a non-number. */
export function numberValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v instanceof Float) return v.value;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

/** Python's `repr(float)`: `1.0`, `0.5`, `1e-05`, `1e+16`, `inf`, `nan`. */
export function floatRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0.0';
  // toExponential() without an argument gives the shortest digits that round-trip, as Python does.
  const [mantissa, exp] = v.toExponential().split('e') as [string, string];
  const e = Number(exp);
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = v < 0 ? '-' : '';
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, '0');
  const frac = digits.slice(e + 1);
  return `${sign}${whole}.${frac === '' ? '0' : frac}`;
}

/** A number's text as Python's `str()` writes it (`1.0`, `1e-05`, `12345678901234567890`), else undefined. */
export function numberText(v: unknown): string | undefined {
  if (typeof v === 'bigint') return String(v);
  if (v instanceof Float) return floatRepr(v.value);
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : floatRepr(v);
  return undefined;
}

/**
 * A float as PyYAML writes it, so that PyYAML reads a float back: `1.0`, `1.0e-05` (PyYAML's float
 * needs a dot), `.inf`, `.nan`.
 */
export function yamlFloat(v: number): string {
  if (Number.isNaN(v)) return '.nan';
  if (!Number.isFinite(v)) return v > 0 ? '.inf' : '-.inf';
  const repr = floatRepr(v);
  return repr.includes('.') || !repr.includes('e') ? repr : repr.replace('e', '.0e');
}

/** The tree with every `Float` a number and every bigint rounded: what the schema validates. */
export function plainNumbers(v: unknown): unknown {
  if (v instanceof Float) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plainNumbers);
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainNumbers(x)]));
  }
  return v;
}

/**
 * JSON of data that may hold a `Float` (written `1.0`) or a bigint (its digits), indented as
 * `JSON.stringify(value, null, indent)` would; JSON readers in Python see the same types.
 */
export function toJson(value: unknown, indent = 2): string {
  const pad = (depth: number): string => (indent > 0 ? `\n${' '.repeat(indent * depth)}` : '');
  const sep = indent > 0 ? ': ' : ':';
  const write = (v: unknown, depth: number): string | undefined => {
    if (v instanceof Float) return Number.isFinite(v.value) ? floatRepr(v.value) : 'null';
    if (typeof v === 'bigint') return String(v);
    if (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof (v as { toJSON?: unknown }).toJSON === 'function'
    ) {
      return write((v as { toJSON: () => unknown }).toJSON(), depth);
    }
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((x) => write(x, depth + 1) ?? 'null');
      return `[${items.map((x) => `${pad(depth + 1)}${x}`).join(',')}${pad(depth)}]`;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v).flatMap(([k, x]) => {
        const text = write(x, depth + 1);
        return text === undefined ? [] : [`${pad(depth + 1)}${JSON.stringify(k)}${sep}${text}`];
      });
      return entries.length === 0 ? '{}' : `{${entries.join(',')}${pad(depth)}}`;
    }
    return JSON.stringify(v);
  };
  return write(value, 0) ?? 'null';
}
