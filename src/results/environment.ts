/**
 * The machine a result was measured on, read from /proc and /sys (a few small files, well under a
 * millisecond), and bench's own git commit (two `git` calls, once per process), so that two result
 * sets can be told apart and explained.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchVersion, onnxruntimeVersion } from '../util/versions.js';

const FLAGS_OF_NOTE = [
  'avx2',
  'fma',
  'avx512f',
  'avx512_vnni',
  'avx512_bf16',
  'avx_vnni',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'asimd',
  'sve',
];

const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The bracketed choice of a sysfs switch, e.g. `always [madvise] never` -> `madvise`. */
export function bracketed(text: string | null): string | null {
  return text === null ? null : (/\[([^\]]+)\]/.exec(text)?.[1] ?? text.trim());
}

let gitCommitCache: string | null | undefined;

export function gitCommit(): string | null {
  if (gitCommitCache !== undefined) return gitCommitCache;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    });
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: PACKAGE_ROOT,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    });
    gitCommitCache = `${head.toString().trim()}${dirty.toString().trim() === '' ? '' : '-dirty'}`;
  } catch {
    gitCommitCache = null;
  }
  return gitCommitCache;
}

export function cpuFlags(cpuinfo: string | null): string[] {
  const line = cpuinfo?.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  const flags = new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
  return FLAGS_OF_NOTE.filter((f) => flags.has(f));
}

export function collectEnvironment(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const cpuinfo = readText('/proc/cpuinfo');
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpu_model: cpus[0]?.model ?? null,
    cpu_flags: cpuFlags(cpuinfo),
    logical_cpus: cpus.length,
    memory_gib: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    os: `${os.type()} ${os.release()}`,
    os_release: /PRETTY_NAME="([^"]+)"/.exec(readText('/etc/os-release') ?? '')?.[1] ?? null,
    arch: os.arch(),
    node_version: process.versions.node,
    onnxruntime_node_version: onnxruntimeVersion(),
    bench_version: benchVersion(),
    bench_commit: gitCommit(),
    transparent_hugepages: bracketed(readText('/sys/kernel/mm/transparent_hugepage/enabled')),
    // The clock /proc/cpuinfo shows, not the one under load; the efficiency estimate notes that.
    cpu_mhz: Number(/^cpu MHz\s*:\s*([\d.]+)/m.exec(cpuinfo ?? '')?.[1]) || null,
    cpu_governor: readText('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor')?.trim() ?? null,
    ...extra,
  };
}
