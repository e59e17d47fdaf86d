/**
 * `launcher.malloc`: the memory allocator of each child, as the study's launcher offers it.
 * jemalloc and tcmalloc are preloaded (LD_PRELOAD) from Debian's libjemalloc2 and
 * libtcmalloc-minimal4, found by path; glibc is the default. What each gives on this machine is in
 * docs/performance.md ("Memory allocators"). A child says which allocator its process really has
 * mapped (its /proc/self/maps), so a preload that did not take is seen in the results.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import type { MALLOCS } from '../config/schema.js';

export type Malloc = (typeof MALLOCS)[number];

const LIBRARIES: Readonly<Record<Exclude<Malloc, 'glibc'>, { sonames: readonly string[]; pkg: string }>> = {
  jemalloc: { sonames: ['libjemalloc.so.2'], pkg: 'libjemalloc2' },
  tcmalloc: { sonames: ['libtcmalloc_minimal.so.4', 'libtcmalloc.so.4'], pkg: 'libtcmalloc-minimal4' },
};

/** Where Debian (and most distributions) keep shared libraries, this machine's triplet first. */
export const LIBRARY_DIRS: readonly string[] = [
  `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];

/** The library file of an allocator here, or null. */
export function findAllocator(malloc: Exclude<Malloc, 'glibc'>, dirs: readonly string[] = LIBRARY_DIRS): string | null {
  for (const dir of dirs)
    for (const so of LIBRARIES[malloc].sonames) if (existsSync(join(dir, so))) return join(dir, so);
  return null;
}

export class AllocatorMissing extends UserError {}

/**
 * The environment that gives a child the allocator: LD_PRELOAD with the library's path before what
 * was preloaded already. `here`: the children run on this machine, so the library must be found
 * (else the message names the package); a plan for a recorded machine names the library by its
 * soname, which the dynamic loader looks up there.
 */
export function allocatorEnv(
  malloc: Malloc,
  inherited: NodeJS.ProcessEnv,
  here: boolean,
  dirs: readonly string[] = LIBRARY_DIRS,
): Record<string, string> {
  if (malloc === 'glibc') return {};
  const found = findAllocator(malloc, dirs);
  if (found === null && here)
    throw new AllocatorMissing(
      `launcher.malloc=${malloc}: ${LIBRARIES[malloc].sonames[0]} is not installed here (looked in ${dirs.join(', ')}); apt-get install ${LIBRARIES[malloc].pkg}, or use launcher.malloc=glibc`,
    );
  const lib = found ?? LIBRARIES[malloc].sonames[0]!;
  const before = inherited.LD_PRELOAD ?? '';
  return { LD_PRELOAD: before === '' ? lib : `${lib}:${before}` };
}

/** The allocator this process has mapped: a jemalloc or tcmalloc library's path, else 'glibc'. */
export function mappedAllocator(maps?: string): string {
  let text = maps;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return 'unknown';
    }
  }
  const lib = text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).slice(5).join(' '))
    .find((path) => /\/lib(jemalloc|tcmalloc)[^/]*\.so/.test(path));
  return lib ?? 'glibc';
}
