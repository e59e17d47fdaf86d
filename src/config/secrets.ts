/**
 * Environment variables whose names look like secrets (`HF_TOKEN`, `API_KEY`, `DB_PASSWORD`) are
 * never written resolved: a value interpolated from one (`${oc.env:HF_TOKEN}`) is recorded in
 * results.json and the CSVs as the interpolation itself, and so is that value wherever else it
 * shows up resolved (a key that copies it, `other: ${tok}`, or a string that embeds it). Other
 * `${oc.env:...}` values are recorded as resolved (what the run used), as docs/configuration.md says.
 */
import { isTree, type Tree } from '../util/tree.js';

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|AUTH|APIKEY|(^|_)KEY($|_)/i;
// The variable's name, quoted or not: ${oc.env:HF_TOKEN}, ${oc.env:'API_KEY',default}.
const ENV_REFERENCE = /\$\{oc\.env:\s*['"]?([^,'"}\s]+)/g;

/** The secret-looking variables a raw (unresolved) value reads, or none. */
export function secretVariables(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  return [...raw.matchAll(ENV_REFERENCE)].map((m) => m[1]!).filter((name) => SECRET_NAME.test(name));
}

/** Every secret-looking variable a raw config reads, anywhere, with its value (when set). */
function secretsRead(raw: unknown, env: NodeJS.ProcessEnv, out = new Map<string, string>()): Map<string, string> {
  if (typeof raw === 'string') {
    for (const name of secretVariables(raw)) {
      const value = env[name];
      if (value !== undefined && value !== '') out.set(name, value);
    }
  } else if (Array.isArray(raw)) raw.forEach((v) => secretsRead(v, env, out));
  else if (isTree(raw)) Object.values(raw).forEach((v) => secretsRead(v, env, out));
  return out;
}

/**
 * `resolved` with every value whose raw form reads a secret-looking variable replaced by that raw
 * form (`<redacted: ${oc.env:HF_TOKEN}>`), and every other string that contains such a variable's
 * value with that value replaced the same way.
 */
export function redactSecrets(raw: unknown, resolved: unknown, env: NodeJS.ProcessEnv = process.env): unknown {
  const secrets = [...secretsRead(raw, env)];
  const walk = (r: unknown, v: unknown): unknown => {
    if (secretVariables(r).length > 0) return `<redacted: ${String(r)}>`;
    if (typeof v === 'string')
      return secrets.reduce((s, [name, value]) => s.split(value).join(`<redacted: \${oc.env:${name}}>`), v);
    if (Array.isArray(v)) return v.map((x, i) => walk(Array.isArray(r) ? r[i] : undefined, x));
    if (isTree(v)) {
      const rawTree: Tree = isTree(r) ? r : {};
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(rawTree[k], x)]));
    }
    return v;
  };
  return walk(raw, resolved);
}
