/**
 * Which Python runs PyTorch, checked once per bench process before any run directory is claimed:
 * `backend.python`, or (null) the first of `python3` on PATH and /usr/bin/python3 that imports
 * torch. The second matters where `python3` on PATH is a pyenv or virtualenv interpreter and torch
 * came from the distribution (Debian's python3-torch imports only in /usr/bin/python3). The probe
 * reports what a result must record: the interpreter, torch's version and build, its thread
 * settings and the BLAS library it actually loaded.
 */
import { execFileSync } from 'node:child_process';
import { UserError } from '../../util/errors.js';

export class BackendError extends UserError {
  override readonly name = 'BackendError';
}

/** What the probe found, for the environment block of every result. */
export interface TorchFacts {
  readonly python: string;
  readonly python_version: string;
  readonly torch_version: string;
  /** ATen's parallel backend (OpenMP, native thread pool, TBB). */
  readonly parallel_backend: string | null;
  /** The BLAS torch was built for (BLAS_INFO of its build settings: mkl, open, generic, ...). */
  readonly blas_info: string | null;
  /** The BLAS and LAPACK libraries mapped once torch has multiplied two matrices. */
  readonly blas_libraries: readonly string[];
  readonly mkldnn: boolean;
  readonly quantized_engines: readonly string[];
  /** The build's own summary, as `torch.__config__.show()` prints it. */
  readonly build: string;
}

const PROBE = `
import json, re, sys
try:
    import torch
except Exception as e:
    print(json.dumps({"error": type(e).__name__ + ": " + str(e), "python": sys.executable})); sys.exit(0)
a = torch.ones(64, 64); (a @ a).sum()
show = torch.__config__.show()
parallel = torch.__config__.parallel_info()
def field(text, key):
    found = re.search(r"\\b" + key + r"=([^,\\s]+)", text)
    return found.group(1) if found else None
backend = next((l.split(":", 1)[1].strip() for l in parallel.splitlines() if "parallel backend" in l), None)
libs = []
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    if any(k in path for k in ("blas", "mkl_rt", "libmkl", "lapack", "gomp", "iomp")) and path not in libs:
        libs.append(path)
print(json.dumps({
    "python": sys.executable,
    "python_version": sys.version.split()[0],
    "torch_version": torch.__version__,
    "parallel_backend": backend,
    "blas_info": field(show, "BLAS_INFO"),
    "blas_libraries": libs,
    "mkldnn": torch.backends.mkldnn.is_available(),
    "quantized_engines": [e for e in torch.backends.quantized.supported_engines if e != "none"],
    "build": show.strip(),
}))
`;

const INSTALL = 'install torch (Debian: apt-get install python3-torch; elsewhere: pip install torch)';

const cache = new Map<string, TorchFacts>();

/** The interpreters tried, in order, for `backend.python` (null: the defaults). */
export function candidates(python: string | null): string[] {
  return python !== null ? [python] : ['python3', '/usr/bin/python3'];
}

type ProbeResult = { readonly facts: TorchFacts } | { readonly missing: string } | { readonly noTorch: string };

function probe(python: string): ProbeResult {
  let out: string;
  try {
    out = execFileSync(python, ['-c', PROBE], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      // The probe's own matmul need not start a pool over every core.
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT' || e.code === 'EACCES')
      return { missing: `${python}: ${e.code === 'ENOENT' ? 'not found' : 'not executable'}` };
    const e2 = e as typeof e & { signal?: string | null };
    const why =
      e.code === 'ETIMEDOUT'
        ? 'no answer in 120 s'
        : e2.signal
          ? `killed by ${e2.signal}`
          : (e.stderr ?? '').trim().split('\n').at(-1) || e.message;
    return { noTorch: `${python} failed to import torch (${why})` };
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, unknown>;
  } catch {
    const said = out.trim() === '' ? 'printed nothing' : `printed ${JSON.stringify(out.trim().slice(0, 120))}`;
    return { noTorch: `${python} is not a Python that runs bench's probe: it ${said}` };
  }
  if (typeof parsed.error === 'string')
    return { noTorch: `${String(parsed.python)} cannot import torch (${parsed.error})` };
  return { facts: parsed as unknown as TorchFacts };
}

/**
 * The interpreter to run and what it has, or a BackendError that names `backend.python`, what each
 * candidate lacked and how to install torch. Cached per bench process.
 */
export function findTorch(python: string | null): TorchFacts {
  const key = python ?? '';
  const hit = cache.get(key);
  if (hit) return hit;
  const problems: string[] = [];
  for (const candidate of candidates(python)) {
    const r = probe(candidate);
    if ('facts' in r) {
      cache.set(key, r.facts);
      return r.facts;
    }
    problems.push('missing' in r ? r.missing : r.noTorch);
  }
  if (python !== null) {
    throw new BackendError(
      `backend.python=${python}: ${problems[0]}; ${INSTALL} for it, set backend.python to an interpreter that has torch, or drop backend.python to try python3 and /usr/bin/python3`,
    );
  }
  throw new BackendError(
    `backend=pytorch needs a Python with torch: ${problems.join('; ')}. ${INSTALL[0]!.toUpperCase()}${INSTALL.slice(1)}, or set backend.python=/path/to/python`,
  );
}

/**
 * What the probe's libraries say about the speed to expect: OpenBLAS's pthread build under torch's
 * OpenMP threads (two spinning thread pools on the same cores: latency spikes of tens of ms, measured
 * in docs/performance.md), or the reference BLAS (an order of magnitude slower GEMMs).
 */
export function blasWarnings(facts: TorchFacts): string[] {
  const libs = facts.blas_libraries;
  const out: string[] = [];
  const pthread = libs.find((l) => l.includes('openblas-pthread'));
  if (pthread) {
    out.push(
      `torch loads OpenBLAS's pthread build (${pthread}), whose thread pool competes with torch's OpenMP threads: ` +
        'expect latency spikes. Select the OpenMP build (Debian: apt-get install libopenblas0-openmp, then ' +
        'update-alternatives --set libopenblas.so.0-x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0, ' +
        'and libblas.so.3 and liblapack.so.3 likewise)',
    );
  }
  const reference = libs.find((l) => /\/blas\/libblas\.so/.test(l));
  if (reference && !libs.some((l) => l.includes('openblas') || l.includes('mkl'))) {
    out.push(
      `torch loads the reference BLAS (${reference}), many times slower than an optimized one: ` +
        'install OpenBLAS (Debian: apt-get install libopenblas0-openmp)',
    );
  }
  return out;
}
