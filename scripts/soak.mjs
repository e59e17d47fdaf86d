#!/usr/bin/env node
// Soak test: a 30-job sweep of two pinned instances (mock backend, bert-tiny, 0.3 s windows) with
// faults injected into the children: every kind (crash, exit, hang, garbage = a malformed IPC
// message, corrupt = raw non-message bytes on stdout and the IPC descriptor) at every phase (load,
// measure, report) at least once, the rest drawn at random, on a random instance, shuffled among
// clean jobs. Then `bench --resume` with the faults off (BENCH_DISABLE_FAULTS=1). Checks:
//   - every job is in summary.json and summary.csv (one row each, same status, dir and error), its
//     results.json agrees, and a faulted job is errored with the faulted instance and the message
//     its fault kind must produce; a clean job is ok; the sweep exits 1 (0 with no fault);
//   - no child is left running after the sweep and after the resume: the process table is scanned
//     (/proc/*/cmdline of bench's child entry point, numactl/taskset wrappers and bench itself,
//     kept where the process runs under the soak's directory or carries its marker variable), the
//     scan is shown to see the children while the sweep runs, and the pids in results.json are
//     checked too; leftovers are reported, then killed;
//   - the resume re-runs exactly the jobs that were not ok (their results.json rewritten, now ok)
//     and keeps the ok ones untouched (results.json bytes and mtime unchanged), then both summaries
//     say 30/30 ok;
//   - bench itself finishes: each run gets a generous time limit (SOAK_TIMEOUT_S, default 20 s a
//     job), after which it gets SIGTERM, then SIGKILL, and the soak fails saying so.
// Exit status 0 when every check passes, 1 otherwise.
//   node scripts/soak.mjs [JOBS] [SEED]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'bench.js');
const CHILD_ENTRY = join(ROOT, 'dist', 'run', 'child.js');
const JOBS = Number(process.argv[2] ?? 30);
const SEED = Number(process.argv[3] ?? 7);
const LIMIT_S = Number(process.env.SOAK_TIMEOUT_S ?? 20 * JOBS);
const KINDS = ['crash', 'exit', 'hang', 'garbage', 'corrupt'];
const PHASES = ['load', 'measure', 'report'];
/** What the parent must say about the faulted instance, by fault kind. */
const EXPECTED_MESSAGE = {
  crash: /^exited on signal SIGKILL /,
  exit: /^exited with code 3 /,
  hang: /^timed out /,
  garbage: /^sent a message that is not part of the protocol: /,
  corrupt: /^sent bytes on the IPC channel that are not a protocol message \(/,
};

if (!Number.isInteger(JOBS) || JOBS < 1 || !Number.isFinite(SEED) || !(LIMIT_S > 0)) {
  process.stderr.write(
    'usage: node scripts/soak.mjs [JOBS >= 1] [SEED]   (env SOAK_TIMEOUT_S: seconds each bench run may take)\n',
  );
  process.exit(2);
}
if (!existsSync(CHILD_ENTRY)) {
  process.stderr.write(`soak: ${CHILD_ENTRY} is missing: run \`npm run build\` first\n`);
  process.exit(2);
}

let seed = SEED;
const random = () => {
  // mulberry32: a repeatable fault pattern for a given seed.
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (xs) => xs[Math.floor(random() * xs.length)];
const shuffle = (xs) => {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
};

// 40% clean jobs; the faulted ones cover every kind x phase before any repeats.
const faultCount = JOBS - Math.round(JOBS * 0.4);
const combos = shuffle(KINDS.flatMap((kind) => PHASES.map((phase) => ({ kind, phase }))));
const faults = shuffle([
  ...Array.from({ length: faultCount }, (_, i) => ({
    instance: pick([0, 1]),
    ...(i < combos.length ? combos[i] : { kind: pick(KINDS), phase: pick(PHASES) }),
  })),
  ...Array.from({ length: JOBS - faultCount }, () => null),
]);
const text = (f) => (f === null ? 'null' : `{instance:${f.instance},kind:${f.kind},phase:${f.phase}}`);
const label = (f) => (f === null ? 'none' : `${f.kind}@${f.phase}`);

const cwd = mkdtempSync(join(tmpdir(), 'bench-soak-'));
const MARKER = `BENCH_SOAK_ID=${randomBytes(6).toString('hex')}`;
const env = { ...process.env, [MARKER.split('=')[0]]: MARKER.split('=')[1] };
const common = [
  'backend=mock',
  'model=bert-tiny',
  'benchmark_duration=0.3',
  'warmup_runs=1',
  'launcher.num_instances=2',
  'launcher.start_timeout_s=5',
  'launcher.run_timeout_s=3',
];
const problems = [];
const fail = (msg) => problems.push(msg);
/** The last lines bench wrote to stderr, on one line. */
const tail = (stderr) => stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ').slice(-600);

/** The soak's own processes in the process table: bench children, their wrappers, bench itself. */
function soakProcesses() {
  const found = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let argv;
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      continue; // gone already
    }
    if (argv.length === 0) continue; // a zombie or a kernel thread: not running anything
    const kind =
      argv.includes(CHILD_ENTRY) || argv.some((a) => a.endsWith('/run/child.js'))
        ? 'child'
        : ['numactl', 'taskset'].includes(basename(argv[0]))
          ? 'wrapper'
          : argv.includes(BIN)
            ? 'bench'
            : null;
    if (kind === null) continue;
    let dir = '';
    let environ = [];
    try {
      dir = readlinkSync(`/proc/${name}/cwd`);
      environ = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0');
    } catch {
      // another user's process, or gone: not ours to judge.
    }
    if (dir === cwd || dir.startsWith(`${cwd}/`) || environ.includes(MARKER))
      found.push({ pid: Number(name), kind, argv: argv.join(' ') });
  }
  return found;
}

/** Runs bench with a time limit: SIGTERM when it is up (bench stops its children and exits 143), SIGKILL 10 s later. */
function runBench(args, extraEnv, onTick) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const tick = onTick ? setInterval(onTick, 250) : undefined;
    let kill;
    const limit = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    }, LIMIT_S * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      clearTimeout(kill);
      clearInterval(tick);
      resolve({ code, signal, stdout, stderr, timedOut, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

/** Leftovers (soakProcesses() right after bench exited) are reported, then killed so the soak leaves nothing behind. */
async function reportLeftovers(left, when) {
  if (left.length === 0) return 0;
  await new Promise((r) => setTimeout(r, 1000));
  const still = soakProcesses();
  fail(
    `${left.length} process(es) left running ${when} (${still.length} still 1 s later): ${left.map((p) => `${p.pid} [${p.kind}] ${p.argv.slice(0, 160)}`).join('; ')}`,
  );
  for (const p of still) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  return left.length;
}

const readJson = (file, what) => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`${what}: cannot read ${file}: ${err.message}`);
    return null;
  }
};
const fingerprint = (file) => {
  try {
    return { sha: createHash('sha256').update(readFileSync(file)).digest('hex'), mtimeMs: statSync(file).mtimeMs };
  } catch {
    return null;
  }
};
/** Running, that is: not gone and not a zombie waiting for a parent that does not reap it. */
const isAlive = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
};

/** Both summaries: one row per job 0..JOBS-1, the same status, dir and error in each. */
function readSummaries(dir, when) {
  const problemsBefore = problems.length;
  const rows = readSummaryFiles(dir, when);
  const csv = rows === null ? '-' : `${rows.csv.length} rows`;
  return {
    json: rows?.json ?? null,
    text: `summary.json ${rows?.json.length ?? '-'} rows, summary.csv ${csv}${problems.length === problemsBefore ? ', all in agreement' : ' (see the problems)'}`,
  };
}

function readSummaryFiles(dir, when) {
  const json = readJson(join(dir, 'summary.json'), `summary.json ${when}`);
  let csv = null;
  try {
    csv = parseCsv(readFileSync(join(dir, 'summary.csv'), 'utf8'), { columns: true, skip_empty_lines: true });
  } catch (err) {
    fail(`summary.csv ${when}: ${err.message}`);
  }
  if (json === null || csv === null) return null;
  if (json.length !== JOBS) fail(`summary.json ${when} has ${json.length} rows, expected ${JOBS}`);
  if (csv.length !== JOBS) fail(`summary.csv ${when} has ${csv.length} rows, expected ${JOBS}`);
  const jobs = json.map((r) => r.job).sort((a, b) => a - b);
  if (jobs.join() !== Array.from({ length: JOBS }, (_, k) => k).join())
    fail(`summary.json ${when} lists jobs ${jobs.join(',')}, expected 0..${JOBS - 1} once each`);
  json.forEach((row, i) => {
    const c = csv[i];
    if (!c) return;
    for (const key of ['job', 'status', 'dir', 'error']) {
      if (String(c[key] ?? '') !== String(row[key] ?? ''))
        fail(
          `${when}: summary.csv row ${i} has ${key}=${JSON.stringify(c[key])}, summary.json ${JSON.stringify(row[key])}`,
        );
    }
  });
  return { json, csv };
}

const t0 = Date.now();

// The sweep, with the process table watched while it runs.
const seen = new Map();
const sweep = await runBench(['-m', `launcher.fault=${faults.map(text).join(',')}`, ...common], {}, () => {
  for (const p of soakProcesses()) if (p.kind !== 'bench') seen.set(p.pid, p.kind);
});
if (sweep.timedOut)
  fail(
    `the sweep did not finish within SOAK_TIMEOUT_S=${LIMIT_S} s: bench hung; it got SIGTERM${sweep.signal === 'SIGKILL' ? ' and then SIGKILL' : ''}`,
  );
const leftoversAfterSweep = soakProcesses();
const seenChildren = [...seen.values()].filter((k) => k === 'child').length;
if (seenChildren === 0)
  fail('the process scan never saw a child while the sweep ran: it cannot vouch that none is left');
const expectedExit = faults.some((f) => f !== null) ? 1 : 0;
if (sweep.code !== expectedExit)
  fail(`the sweep exited ${sweep.code ?? sweep.signal}, expected ${expectedExit}: ${tail(sweep.stderr)}`);

let dir = null;
try {
  const day = join(cwd, 'multirun', readdirSync(join(cwd, 'multirun'))[0]);
  dir = join(day, readdirSync(day)[0]);
} catch (err) {
  fail(`no sweep directory under ${cwd}/multirun: ${err.message}`);
}

const before = new Map();
let okBefore = 0;
let recordedAlive = 0;
const faultedAsExpected = {};
const sweepSummaries = dir ? readSummaries(dir, 'after the sweep') : { json: null, text: 'no summaries' };
const summary = sweepSummaries.json;
for (const row of summary ?? []) {
  const f = faults[row.job];
  const expected = f === null ? 'ok' : 'errored';
  if (row.status !== expected) fail(`job ${row.job} (${text(f)}) is ${row.status}, expected ${expected}: ${row.error}`);
  const file = join(dir, row.dir, 'results.json');
  const result = readJson(file, `job ${row.job}`);
  before.set(row.job, { status: row.status, dir: row.dir, file, print: fingerprint(file) });
  if (row.status === 'ok') okBefore++;
  if (result === null) continue;
  if (result.status !== row.status)
    fail(`job ${row.job}: results.json says ${result.status}, the summary ${row.status}`);
  recordedAlive += (result.process_ids ?? []).filter(isAlive).length;
  if (f !== null) {
    const first = result.failures?.[0];
    const good =
      first?.index === f.instance &&
      EXPECTED_MESSAGE[f.kind].test(first.message) &&
      String(row.error ?? '').startsWith(`instance ${f.instance}: `);
    if (good) faultedAsExpected[label(f)] = (faultedAsExpected[label(f)] ?? 0) + 1;
    else
      fail(
        `job ${row.job} (${text(f)}): expected instance ${f.instance} to fail with ${EXPECTED_MESSAGE[f.kind]}, got ${JSON.stringify(first ?? null)}`,
      );
  }
}
if (recordedAlive > 0) fail(`${recordedAlive} pid(s) recorded in results.json still alive after the sweep`);
const leftAfterSweep = await reportLeftovers(leftoversAfterSweep, 'after the sweep');

// The resume, with the faults off: only the jobs that were not ok run again.
let resume = null;
let rerun = 0;
let kept = 0;
let leftAfterResume = 0;
let after = null;
let resumeSummaries = { text: '' };
if (dir) {
  resume = await runBench(['--resume', dir], { BENCH_DISABLE_FAULTS: '1' });
  if (resume.timedOut) fail(`the resume did not finish within SOAK_TIMEOUT_S=${LIMIT_S} s: bench hung`);
  leftAfterResume = await reportLeftovers(soakProcesses(), 'after the resume');
  if (resume.code !== 0) fail(`the resume exited ${resume.code ?? resume.signal}: ${tail(resume.stderr)}`);
  resumeSummaries = readSummaries(dir, 'after the resume');
  after = resumeSummaries.json;
  for (const row of after ?? []) {
    const was = before.get(row.job);
    if (row.status !== 'ok') fail(`after the resume job ${row.job} is ${row.status}: ${row.error}`);
    if (!was) continue;
    if (row.dir !== was.dir) fail(`job ${row.job} moved from ${was.dir} to ${row.dir} in the resume`);
    const now = fingerprint(was.file);
    const same = now !== null && was.print !== null && now.sha === was.print.sha && now.mtimeMs === was.print.mtimeMs;
    if (was.status === 'ok') {
      if (same) kept++;
      else fail(`job ${row.job} was ok but the resume touched its results.json`);
    } else if (same) fail(`job ${row.job} was ${was.status} but the resume did not re-run it`);
    else {
      rerun++;
      if (readJson(was.file, `job ${row.job} after the resume`)?.status !== 'ok')
        fail(`job ${row.job}: its re-run results.json is not ok`);
    }
  }
  const keptLines = (resume.stdout.match(/\(kept from the earlier run\)/g) ?? []).length;
  if (keptLines !== okBefore) fail(`the resume said ${keptLines} jobs were kept, ${okBefore} were ok before`);
  if (rerun !== JOBS - okBefore)
    fail(`the resume re-ran ${rerun} jobs, expected the ${JOBS - okBefore} that were not ok`);
}

const okAfter = (after ?? []).filter((r) => r.status === 'ok').length;
const list = (counts) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
const tally = (key) => {
  const out = {};
  for (const f of faults) if (f) out[f[key]] = (out[f[key]] ?? 0) + 1;
  return list(out);
};
process.stdout.write(
  [
    `soak: ${JOBS} jobs (seed ${SEED}), 2 instances each, backend=mock model=bert-tiny: ${faults.filter((f) => f === null).length} clean, ${faults.filter(Boolean).length} with a fault`,
    `  faults by kind: ${tally('kind')}; by phase: ${tally('phase')}`,
    `  reported as expected (kind@phase): ${list(faultedAsExpected)}`,
    `sweep: ${sweep.seconds.toFixed(1)} s, exit ${sweep.code ?? sweep.signal}; ${okBefore} ok / ${(summary ?? []).filter((r) => r.status === 'errored').length} errored; ${sweepSummaries.text}`,
    `children left: ${leftAfterSweep} after the sweep, ${leftAfterResume} after the resume (the /proc scan saw ${seenChildren} children during the sweep; ${recordedAlive} recorded pids alive)`,
    resume
      ? `resume: ${resume.seconds.toFixed(1)} s, exit ${resume.code ?? resume.signal}; re-ran ${rerun} (the ${JOBS - okBefore} not ok), kept ${kept} untouched (results.json bytes and mtime); final ${okAfter}/${JOBS} ok; ${resumeSummaries.text}`
      : 'resume: not run',
    `sweep directory: ${dir ?? cwd}`,
    problems.length === 0
      ? `soak: PASS in ${((Date.now() - t0) / 1000).toFixed(0)} s`
      : `soak: FAIL (${problems.length} problem(s))\n  ${problems.join('\n  ')}`,
  ].join('\n') + '\n',
);
process.exitCode = problems.length === 0 ? 0 : 1;
