/**
 * Bytes on a child's IPC channel that are no message at all (not a malformed message, which the
 * protocol check already catches): the parent reports the child as failed, with what it saw, and
 * neither throws nor waits for a message that never completes. Also through the CLI, with
 * launcher.fault kind corrupt.
 */
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHILD_PROCESS_OPTIONS, MAX_IPC_MESSAGE_BYTES, ProcessEndpoint as Child } from '../../src/launcher/process.js';
import { BIN, isAlive } from '../helpers.js';

const started: Child[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop()));
});

/** A child running `body` (an ES module) with the launcher's IPC options; `fd` is its channel's descriptor. */
function child(body: string): Child {
  const script = `import { writeSync } from 'node:fs'; const fd = process.channel.fd; ${body}`;
  const proc = execa(process.execPath, ['--input-type=module', '-e', script], CHILD_PROCESS_OPTIONS);
  const c = new Child(0, proc as unknown as ConstructorParameters<typeof Child>[1], () => false);
  started.push(c);
  return c;
}

const soon = (): number => Date.now() + 10_000;
// Keeps the child alive, so that only the bytes can end the wait.
const stay = 'setInterval(() => {}, 1000);';

describe('corrupt bytes on the IPC channel', () => {
  it('bytes that do not deserialize: the parent does not throw; the child is failed; later messages are not believed', async () => {
    let uncaught: unknown = null;
    const onUncaught = (err: unknown): void => {
      uncaught = err;
    };
    process.on('uncaughtException', onUncaught);
    try {
      const c = child(
        `writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x41, 0x42])); ` +
          `setTimeout(() => process.send({ type: 'ready', pid: process.pid }), 200); ${stay}`,
      );
      const t0 = Date.now();
      expect(await c.next('ready', soon())).toBeNull();
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(c.exited).toBe(false);
      const f = c.failure('before it was ready');
      expect(f.message).toMatch(/^sent bytes on the IPC channel that are not a protocol message \(.*deserialize/);
      // The well-formed message that followed is not trusted either.
      await new Promise((r) => setTimeout(r, 400));
      expect(await c.next('ready', soon())).toBeNull();
      expect(uncaught).toBeNull();
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('text where a message should be: its first bytes announce a huge message; reported at once, not after a timeout', async () => {
    const c = child(`writeSync(fd, 'not a message at all {{{\\n'); ${stay}`);
    const t0 = Date.now();
    expect(await c.next('ready', soon())).toBeNull();
    expect(Date.now() - t0).toBeLessThan(5000);
    const f = c.failure('before it was ready');
    const announced = Buffer.from('not ').readUInt32BE(0);
    expect(announced).toBeGreaterThan(MAX_IPC_MESSAGE_BYTES);
    expect(f.message).toBe(
      `sent bytes on the IPC channel that are not a protocol message (they announce a ${announced}-byte message; starting 6e 6f 74 20 61 20 6d 65 73 73 61 67 65 20 61 74 ...)`,
    );
  });

  it('a message cut short, then exit: the exit is reported with the bytes left over', async () => {
    const c = child(`writeSync(fd, Buffer.from([0, 0, 1, 0, 1, 2, 3])); setTimeout(() => process.exit(0), 300);`);
    expect(await c.next('ready', soon())).toBeNull();
    expect(c.exited).toBe(true);
    expect(c.failure('before it was ready').message).toBe(
      'exited with code 0 before it was ready, leaving 7 bytes on the IPC channel that are not a complete message',
    );
  });

  it('junk on stdout is drained and ignored: the protocol goes on', async () => {
    const c = child(
      `writeSync(1, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a])); process.send({ type: 'ready', pid: process.pid }); ${stay}`,
    );
    const m = await c.next('ready', soon());
    expect(m?.type).toBe('ready');
    expect(c.garbage).toBeNull();
  });
});

describe('launcher.fault kind corrupt through the CLI (backend=mock, model=bert-tiny)', () => {
  it.each(['load', 'measure', 'report'])(
    'phase %s: instance 1 is reported, the parent exits 1 with results on disk, no child left',
    (phase) => {
      const cwd = mkdtempSync(join(tmpdir(), 'bench-corrupt-'));
      const r = spawnSync(
        process.execPath,
        [
          BIN,
          'backend=mock',
          'model=bert-tiny',
          'benchmark_duration=0.3',
          'warmup_runs=1',
          'launcher.num_instances=2',
          `launcher.fault={instance:1,kind:corrupt,phase:${phase}}`,
          'launcher.start_timeout_s=10',
          'launcher.run_timeout_s=10',
        ],
        { cwd, encoding: 'utf8', timeout: 50_000 },
      );
      expect(r.signal, r.stderr).toBeNull();
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).not.toContain(
        'Unable to deserialize cloned data due to invalid or unsupported version.\n    at',
      );
      expect(r.stderr).toContain('instance 1: sent bytes on the IPC channel that are not a protocol message');
      const day = join(cwd, 'outputs', readdirSync(join(cwd, 'outputs'))[0]!);
      const res = JSON.parse(readFileSync(join(day, readdirSync(day)[0]!, 'results.json'), 'utf8')) as {
        status: string;
        failures: { index: number; message: string }[];
        instances: { index: number }[];
        process_ids: number[];
      };
      expect(res.status).toBe('errored');
      expect(res.failures[0]!.index).toBe(1);
      expect(res.failures[0]!.message).toMatch(/^sent bytes on the IPC channel that are not a protocol message/);
      // At load nobody measures; later, the neighbour that started with it finishes in the grace.
      expect(res.instances.map((i) => i.index)).toEqual(phase === 'load' ? [] : [0]);
      expect(res.process_ids).toHaveLength(2);
      expect(res.process_ids.filter(isAlive)).toEqual([]);
    },
  );
});
