/**
 * Files are written to a temporary sibling and renamed into place, so a reader (or a crash) never
 * sees half a results.json or summary.csv.
 */
import { closeSync, openSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

let counter = 0;
// Unique across machines too: shards of a sweep on several hosts (whose pids may be equal, e.g. in
// containers) write the same folder on a shared filesystem.
const unique = `${hostname().replace(/[^\w.-]/g, '_')}.${process.pid}.${randomBytes(4).toString('hex')}`;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${unique}.${counter++}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Like writeFileAtomic, for content written piece by piece into the open temporary file by `write`. */
export function writeFileAtomicWith<T>(path: string, write: (fd: number) => T): T {
  const tmp = join(dirname(path), `.${basename(path)}.${unique}.${counter++}.tmp`);
  try {
    const fd = openSync(tmp, 'w');
    let result: T;
    try {
      result = write(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    return result;
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
