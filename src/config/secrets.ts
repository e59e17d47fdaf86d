/**
 * Environment variables whose names look like secrets (`HF_TOKEN`, `API_KEY`, `DB_PASSWORD`) are
 * never written resolved: a value interpolated from one (`${oc.env:HF_TOKEN}`) is recorded in
 * results.json and the CSVs as the interpolation itself. Other `${oc.env:...}` values are recorded
 * as resolved (what the run used), as docs/configuration.md says.
 */
import { isTree, type Tree } from '../util/tree.js';

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|(^|_)KEY($|_)|APIKEY|AUTH/i;
const ENV_REFERENCE = /\$\{oc\.env:([^,}]+)/g;

/** The secret-looking variables a raw (unresolved) value reads, or none. */
export function secretVariables(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  return [...raw.matchAll(ENV_REFERENCE)].map((m) => m[1]!.trim()).filter((name) => SECRET_NAME.test(name));
}

/**
 * `resolved` with every value whose raw form reads a secret-looking variable replaced by that raw
 * form (`<redacted: ${oc.env:HF_TOKEN}>`); walks both trees together, keys of `resolved` only.
 */
export function redactSecrets(raw: unknown, resolved: unknown): unknown {
  if (secretVariables(raw).length > 0) return `<redacted: ${String(raw)}>`;
  if (Array.isArray(resolved)) return resolved.map((v, i) => redactSecrets(Array.isArray(raw) ? raw[i] : undefined, v));
  if (isTree(resolved)) {
    const rawTree: Tree = isTree(raw) ? raw : {};
    return Object.fromEntries(Object.entries(resolved).map(([k, v]) => [k, redactSecrets(rawTree[k], v)]));
  }
  return resolved;
}
