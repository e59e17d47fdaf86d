/**
 * The versions of bench and of the installed onnxruntime-node, read from their package.json files
 * (importing ONNX Runtime itself costs start-up time).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function benchVersion(): string {
  let pkg: string | null;
  try {
    pkg = readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8');
  } catch {
    pkg = null;
  }
  return pkg ? String((JSON.parse(pkg) as { version?: string }).version ?? 'unknown') : 'unknown';
}

/** The installed onnxruntime-node version, read from its package.json (importing ORT costs start-up time). */
export function onnxruntimeVersion(): string | null {
  try {
    return (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  } catch {
    return null;
  }
}
