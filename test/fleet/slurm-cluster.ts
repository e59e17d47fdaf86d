/**
 * A single-host Slurm cluster for tests: munged, slurmctld and slurmd started with a config of their
 * own (a temporary folder, ports of their own, an own munge socket), stopped by `stop()`. Needs
 * Debian's slurm-wlm and munge and root (slurmd runs jobs as their user); where any is missing
 * or the daemons do not come up, `skip` says why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export type Cluster = { readonly env: NodeJS.ProcessEnv; stop(): void } | { readonly skip: string };

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

export function startCluster(): Cluster {
  for (const cmd of ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo'])
    if (!has(cmd)) return { skip: `${cmd} is not installed (apt-get install slurm-wlm munge)` };
  if (process.getuid?.() !== 0) return { skip: 'slurmd must run as root to run jobs, and these tests do not' };
  if (!existsSync('/etc/munge/munge.key')) return { skip: 'no /etc/munge/munge.key (munge is not set up)' };
  const dir = mkdtempSync(join(tmpdir(), 'bench-slurm-'));
  for (const d of ['state', 'spool', 'log', 'munge']) mkdirSync(join(dir, d));
  const host = hostname().split('.')[0]!;
  const port = 20000 + Math.floor(Math.random() * 20000);
  const cpus = Number(execFileSync('nproc', ['--all'], { encoding: 'utf8' }).trim());
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=benchtest',
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${port}`,
      `SlurmdPort=${port + 1}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${join(dir, 'munge', 'munge.socket')}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'ReturnToService=2',
      'MpiDefault=none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      // Jobs leave squeue soon after they end, so a waiting submitter sees the end quickly.
      'MinJobAge=5',
      // Two features, so a sweep can ask for two machine types (both this node).
      `NodeName=${host} CPUs=${cpus} Features=typea,typeb State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const pids: string[] = [];
  const stop = (): void => {
    for (const f of ['slurmd.pid', 'slurmctld.pid', join('munge', 'munged.pid')]) {
      try {
        process.kill(Number(readFileSync(join(dir, f), 'utf8').trim()), 'SIGTERM');
      } catch {
        // not running
      }
    }
    for (const pid of pids) spawnSync('kill', [pid]);
    spawnSync('sleep', ['0.5']);
    rmSync(dir, { recursive: true, force: true });
  };
  const start = (cmd: string, args: string[]): string | null => {
    const r = spawnSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
    return r.status === 0
      ? null
      : `${cmd} did not start: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n')[0]}`;
  };
  const failed =
    start('munged', [
      '--force',
      '-S',
      join(dir, 'munge', 'munge.socket'),
      `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
      `--log-file=${join(dir, 'munge', 'munged.log')}`,
      `--seed-file=${join(dir, 'munge', 'seed')}`,
      '--key-file=/etc/munge/munge.key',
    ]) ??
    start('slurmctld', []) ??
    start('slurmd', []);
  if (failed) {
    stop();
    return { skip: failed };
  }
  // The node is up once sinfo shows it idle.
  for (let i = 0; i < 60; i++) {
    const r = spawnSync('sinfo', ['-h', '-o', '%t'], { env: { ...process.env, ...env }, encoding: 'utf8' });
    if (r.status === 0 && /idle/.test(r.stdout)) return { env, stop };
    spawnSync('sleep', ['0.5']);
  }
  const log = (f: string): string => {
    try {
      return readFileSync(join(dir, 'log', f), 'utf8')
        .trim()
        .split('\n')
        .slice(-2)
        .join(' | ');
    } catch {
      return '';
    }
  };
  stop();
  return {
    skip: `the Slurm node did not come up in 30 s (slurmctld: ${log('slurmctld.log')}; slurmd: ${log('slurmd.log')})`,
  };
}
