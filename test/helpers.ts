/**
 * Running the built `bench` command in a fresh folder, as a user would, and checking on processes.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectTopology } from '../src/topology/detect.js';
import { physicalCores } from '../src/topology/model.js';

export const BIN = join(import.meta.dirname, '..', 'bin', 'bench.js');

/** Physical cores this process may use, as bench's planner counts them (so tests fit any machine). */
export const LIVE_CORES = physicalCores(await detectTopology()).length;

export interface BenchRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly cwd: string;
}

export const freshDir = (prefix = 'bench-test-'): string => mkdtempSync(join(tmpdir(), prefix));

export function bench(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): BenchRun {
  const cwd = opts.cwd ?? freshDir();
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, cwd };
}

/** Starts bench and returns the child, so a test can signal it, plus a promise of its end. */
export function benchStart(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const cwd = opts.cwd ?? freshDir();
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...opts.env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<BenchRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, cwd })),
  );
  return { child, cwd, done, output: () => stdout };
}

/** Signal 0 checks existence only: ESRCH means the process is gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The single entry of a folder (outputs/DATE, DATE/TIME, ...). */
export function onlyEntry(dir: string): string {
  const entries = readdirSync(dir);
  if (entries.length !== 1) throw new Error(`expected one entry in ${dir}, found ${entries.join(', ')}`);
  return join(dir, entries[0]!);
}

export async function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
