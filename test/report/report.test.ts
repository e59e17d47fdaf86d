/**
 * `bench report` on the recorded result sets (test/fixtures/results): files written, charts drawn
 * or skipped with a note, and every string from configs and file names escaped (fixture D was run
 * with experiment_name='<script>alert(1)</script>'); a dispatch run (fixture F) shown as one.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { linesPhrase, planCharts } from '../../src/report/charts.js';
import { escapeHtml, escapeMarkdownCell, escapeMarkdownText } from '../../src/report/escape.js';
import { loadResultSet } from '../../src/report/load.js';
import { buildModel, writeReport } from '../../src/report/report.js';
import { toCsv } from '../../src/results/write.js';
import type { RunResult } from '../../src/results/types.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'bench-report-'));

describe('escaping', () => {
  it('escapes HTML and Markdown specials', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;',
    );
    expect(escapeMarkdownCell('a|b <i>`c`</i> *d* [x](http://e)')).toBe(
      'a\\|b \\<i>\\`c\\`\\</i> \\*d\\* [x]\\(http://e)',
    );
  });

  it('leaves plain text plain in Markdown: no entities, and < or & escaped only where Markdown would read markup', () => {
    expect(escapeMarkdownText('p < 0.05, <1e-4, a & b, x > y')).toBe('p < 0.05, <1e-4, a & b, x > y');
    expect(escapeMarkdownText('<!-- c --> <?php <http://e> &lt; &#60;')).toBe(
      '\\<!-- c --> \\<?php \\<http://e> \\&lt; \\&#60;',
    );
    expect(escapeMarkdownCell('1 | 2')).toBe('1 \\| 2');
    expect(escapeHtml('p < 0.05 & <1e-4')).toBe('p &lt; 0.05 &amp; &lt;1e-4');
  });
});

describe('bench report', () => {
  it('a batch-size scaling sweep: instance charts drawn, the core chart skipped with a note, all escaped', async () => {
    const out = join(tmp(), 'sub', 'report.html');
    const r = await writeReport(join(FIXTURES, 'D'), { out });
    const byId = Object.fromEntries(r.charts.map((c) => [c.id, c]));
    expect(byId['latency-vs-cores']!.file).toBeNull();
    expect(byId['latency-vs-cores']!.skipped).toMatch(/same number of cores/);
    for (const id of ['latency-vs-instances', 'throughput-vs-instances', 'latency-distribution']) {
      expect(existsSync(byId[id]!.file!)).toBe(true);
      expect(readFileSync(byId[id]!.file!, 'utf8')).toMatch(/^<svg[^>]*class="marks"/);
    }
    expect(readdirSync(r.chartsDir).sort()).toEqual([
      'latency-distribution.svg',
      'latency-vs-instances.svg',
      'throughput-vs-instances.svg',
    ]);
    const html = readFileSync(r.html, 'utf8');
    const md = readFileSync(r.markdown, 'utf8');
    expect(r.markdown).toBe(out.replace(/\.html$/, '.md'));
    // Self-contained: the SVGs inline, no script at all, nothing fetched, a CSP that forbids it anyway.
    expect(html.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(
      /data-skipped="latency-vs-cores"[^>]*><strong>Latency vs cores<\/strong>: not drawn: every single-instance run used the same number of cores/,
    );
    for (const file of readdirSync(r.chartsDir))
      expect(readFileSync(join(r.chartsDir, file), 'utf8')).not.toMatch(/<script/i);
    // Markdown: the markup shown as text (backslash-escaped), never raw HTML, never entities.
    expect(md).not.toMatch(/(^|[^\\])<script/im);
    expect(md).toContain('\\<script>alert(1)\\</script>');
    expect(md).not.toContain('&lt;');
    expect(md).toContain('![Max latency vs instances](report-charts/latency-vs-instances.svg)');
    expect(md).toMatch(/- \*\*Latency vs cores\*\*: not drawn/);
    // The best setup per (batch, sequence) and the runs.
    expect(md).toMatch(/## Best setup per \(batch, sequence\)\n\n\| batch \| sequence \|/);
    expect(md).toMatch(/\| 2 \| 32 \| /);
    expect(html).toContain('<section id="environment">');
    expect(html).toContain(
      (
        JSON.parse(readFileSync(join(FIXTURES, 'D', '0', 'results.json'), 'utf8')) as {
          environment: { cpu_model: string };
        }
      ).environment.cpu_model,
    );
    // The captions name the series the data has: D splits a total batch of 2, one line per sequence length.
    expect(byId['latency-vs-instances']!.file).not.toBeNull();
    const caption = md
      .split('\n')
      .find((l) => l.startsWith('Batch-size scaling (the total batch split over the instances)'));
    expect(caption).toContain('one line per sequence length.');
    expect(md).not.toContain('one line per total batch');
  });

  it('captions follow the data: multi-instance sweeps and the series that vary', () => {
    const model = buildModel(loadResultSet(join(FIXTURES, 'D')));
    const split = planCharts(model.rows);
    expect(split.find((c) => c.id === 'throughput-vs-instances')!.caption).toMatch(
      /^Batch-size scaling .* one line per sequence length\.$/,
    );
    // The same runs as a multi-instance sweep (every instance with its own batch).
    const own = model.rows.map((c) => ({
      ...c,
      row: { ...c.row, config: { ...c.row.config, 'launcher.split_batch': false } },
    }));
    const caption = planCharts(own).find((c) => c.id === 'latency-vs-instances')!.caption;
    expect(caption).toMatch(
      /^Multi-instance scaling \(every instance with its own batch\): .* one line per sequence length\.$/,
    );
    expect(linesPhrase([])).toBe('a single line (no other setting varies)');
    expect(linesPhrase(['sequence_length', 'batch_size'])).toBe('one line per sequence length and batch size');
    const cores = planCharts(buildModel(loadResultSet(join(FIXTURES, 'A'))).rows).find(
      (c) => c.id === 'latency-vs-cores',
    )!;
    expect(cores.caption).toMatch(/one line per sequence length\.$/);
  });

  it('two runtimes in one sweep: one line and one best setup per runtime, named by the runtime alone', () => {
    const model = buildModel(loadResultSet(join(FIXTURES, 'A')));
    // The same runs once more as PyTorch runs: the backend group's own keys differ with the option.
    const torch = model.rows.map((c) => {
      const config = Object.fromEntries(Object.entries(c.row.config).filter(([k]) => !k.startsWith('backend.')));
      const result = c.row.result && {
        ...c.row.result,
        backend: { ...c.row.result.backend, name: 'pytorch', mode: 'torchscript' },
      };
      return {
        ...c,
        row: {
          ...c.row,
          result: result as RunResult | null,
          config: { ...config, 'backend.name': 'pytorch', 'backend.mode': 'torchscript', 'backend.grad': 'no_grad' },
        },
      };
    });
    const mixed = [...model.rows, ...torch];
    const cores = planCharts(mixed).find((c) => c.id === 'latency-vs-cores')!;
    expect(cores.caption).toMatch(/one line per sequence length and backend\.$/);

    const set = { ...model.set, rows: mixed.map((c) => c.row) };
    const both = buildModel(set);
    const runtimes = [...new Set(both.best.map((b) => b.backend))].sort();
    expect(runtimes).toEqual([String(model.rows[0]!.row.result!.backend!.name), 'pytorch (torchscript)']);
    expect(both.best.length).toBe(2 * model.best.length);
  });

  it('a summary.csv: single-instance runs are found, and the note says why a chart is skipped', async () => {
    // D/summary.csv: two single-instance runs, backend.num_threads null (the planner chose): cores from
    // cores_per_instance.
    const d = await writeReport(join(FIXTURES, 'D', 'summary.csv'), { out: join(tmp(), 'd.html') });
    const skipped = Object.fromEntries(d.charts.map((c) => [c.id, c.skipped]));
    expect(skipped['latency-vs-cores']).toMatch(/^every single-instance run used the same number of cores \(2\)/);
    expect(skipped['latency-vs-instances']).toBeNull();
    // A/summary.csv: a core-count sweep, drawn from the CSV alone.
    const a = await writeReport(join(FIXTURES, 'A', 'summary.csv'), { out: join(tmp(), 'a.html') });
    expect(a.charts.find((c) => c.id === 'latency-vs-cores')!.file).not.toBeNull();
    // An older summary.csv without cores_per_instance: the runs are single-instance, their cores unknown.
    const rows = parse(readFileSync(join(FIXTURES, 'A', 'summary.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    const dir = tmp();
    writeFileSync(
      join(dir, 'summary.csv'),
      toCsv(rows.map(({ cores_per_instance: _c, ...rest }) => ({ ...rest, 'config.backend.num_threads': '' }))),
    );
    const old = await writeReport(join(dir, 'summary.csv'));
    expect(old.charts.find((c) => c.id === 'latency-vs-cores')!.skipped).toMatch(
      /^the 6 single-instance runs do not record the cores they used/,
    );
  });

  it('writes atomically: an existing report is replaced, never written through', async () => {
    const dir = tmp();
    const out = join(dir, 'report.html');
    mkdirSync(join(dir, 'report-charts'));
    // Hard links to the files the report will replace: a write in place would change them too.
    const keep = join(dir, 'keep');
    mkdirSync(keep);
    for (const f of ['report.html', 'report.md', join('report-charts', 'latency-vs-instances.svg')]) {
      const k = join(keep, f.replace(/\//g, '_'));
      writeFileSync(k, 'old');
      linkSync(k, join(dir, f));
    }
    const r = await writeReport(join(FIXTURES, 'D'), { out });
    for (const f of readdirSync(keep)) expect(readFileSync(join(keep, f), 'utf8')).toBe('old');
    expect(readFileSync(r.html, 'utf8')).toMatch(/^<!doctype html>/);
    expect(readFileSync(r.charts.find((c) => c.id === 'latency-vs-instances')!.file!, 'utf8')).toMatch(/^<svg/);
    // No temporary files left behind.
    expect([...readdirSync(dir), ...readdirSync(r.chartsDir)].filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a dispatch run: request latency per setup and class with the gain, no batch or sequence, no scaling charts', async () => {
    const result = JSON.parse(readFileSync(join(FIXTURES, 'F', 'results.json'), 'utf8')) as RunResult;
    const d = result.dispatch!;
    const r = await writeReport(join(FIXTURES, 'F'), { out: join(tmp(), 'f.html') });
    expect(r.charts.map((c) => [c.id, c.file !== null])).toEqual([['dispatch-latency', true]]);
    const svg = readFileSync(r.charts[0]!.file!, 'utf8');
    expect(svg).toContain('>request latency (ms)<');
    expect(svg).toContain('>homogeneous<');
    const html = readFileSync(r.html, 'utf8');
    const md = readFileSync(r.markdown, 'utf8');
    expect(html).toContain('<section id="dispatch">');
    expect(html).not.toContain('<section id="best">');
    expect(md).not.toContain('## Best setup');
    expect(md).toContain(
      `workload: open loop, Poisson 200/s, ${d.workload.requests} requests, lengths mix 32:60% 128:30% 384:10%`,
    );
    expect(md).toContain(`dispatched: ${d.dispatched.description}`);
    const table = md.slice(md.indexOf('## Dispatch runs'), md.indexOf('## Runs'));
    const cells = table
      .split('\n')
      .filter((l) => l.startsWith('| ') && !l.startsWith('| class'))
      .map((l) => l.slice(2, -2).split(' | '));
    expect(cells.map((c) => `${c[0]} ${c[1]}`)).toEqual([
      'all dispatched',
      'all homogeneous',
      'all gain',
      'small <=32 dispatched',
      'small <=32 homogeneous',
      'small <=32 gain',
      'large >32 dispatched',
      'large >32 homogeneous',
      'large >32 gain',
    ]);
    const num = (x: string): number => Number(x.replace('×', ''));
    const all = d.dispatched.overall;
    expect(num(cells[0]![2]!)).toBe(all.requests);
    expect(num(cells[0]![3]!)).toBeCloseTo(all.latency.p50_ms, 2 - Math.ceil(Math.log10(all.latency.p50_ms)));
    expect(num(cells[0]![4]!)).toBeCloseTo(all.latency.p90_ms, 2 - Math.ceil(Math.log10(all.latency.p90_ms)));
    expect(num(cells[2]![4]!)).toBeCloseTo(d.gain!.latency_p90, 2);
    // 200 requests (117 and 83 per class) support p90 (36 needed) but not p99 (368): the fixture
    // predates the field, so the count decides; the cell and its gain are empty, and a note says why.
    expect(all.requests).toBeLessThan(368);
    expect([cells[0]![5], cells[1]![5], cells[2]![5], cells[5]![5]]).toEqual(['', '', '', '']);
    expect(md).toContain('An empty percentile: too few samples for its 95% interval (p50 needs 6, p90 36, p99 368');
    expect(num(cells[2]![8]!)).toBeCloseTo(d.gain!.throughput, 2);
    expect(num(cells[5]![3]!)).toBeCloseTo(d.gain!.per_class['small']!.latency_p50, 2);
    // The runs table: no batch or sequence for a dispatch run; its latency is the request latency.
    const run = md
      .split('\n')
      .find((l) => l.startsWith('| F |'))!
      .slice(2, -2)
      .split(' | ');
    expect(run.slice(3, 5)).toEqual(['-', '-']);
    expect(num(run[7]!)).toBeCloseTo(all.latency.p50_ms, 2 - Math.ceil(Math.log10(all.latency.p50_ms)));
    expect(run[10]).toMatch(/^dispatch run: request latency/);
  });

  it('a core-count sweep draws latency vs cores; a run dir with markup in its name is escaped', async () => {
    const a = await writeReport(join(FIXTURES, 'A'), { out: join(tmp(), 'a.html') });
    expect(a.charts.filter((c) => c.file !== null).map((c) => c.id)).toEqual([
      'latency-vs-cores',
      'latency-distribution',
    ]);
    const svg = readFileSync(a.charts[0]!.file!, 'utf8');
    expect(svg).toContain('>sequence length<');
    expect(svg).toContain('>256<');
    expect(a.chartsDir.endsWith('a-charts')).toBe(true);

    const dir = join(tmp(), 'run <img src=x onerror=alert(2)>');
    cpSync(join(FIXTURES, 'C'), dir, { recursive: true });
    const c = await writeReport(dir);
    expect(c.html).toBe(join(dir, 'report.html'));
    const html = readFileSync(c.html, 'utf8');
    expect(html).not.toContain('<img');
    expect(html).toContain('run &lt;img src=x onerror=alert(2)&gt;');
    expect(c.charts.filter((x) => x.file === null).map((x) => x.id)).toEqual([
      'latency-vs-cores',
      'latency-vs-instances',
      'throughput-vs-instances',
    ]);
  });

  it('the command writes the report and says where; a missing directory exits 1', () => {
    const out = join(tmp(), 'r.html');
    const ok = spawnSync(process.execPath, [BIN, 'report', join(FIXTURES, 'D'), '--out', out], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/bench report: .*r\.html \(4 runs\)/);
    expect(ok.stdout).toMatch(/skipped Latency vs cores: every single-instance run used the same number of cores/);
    expect(ok.stderr).toBe('');
    expect(existsSync(out)).toBe(true);
    const bad = spawnSync(process.execPath, [BIN, 'report', join(FIXTURES, 'nope')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/nope: no such file or directory/);
  });

  it('an --out where no report can go is refused before anything is written, in one line', () => {
    const dir = tmp();
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const cases: [string, RegExp][] = [
      ['/proc/x.html', /\/proc is a kernel pseudo-filesystem/],
      ['/sys/x.html', /\/sys is a kernel pseudo-filesystem/],
      [dir, /is a folder; give a file name, e\.g\. --out .*report\.html/],
      [join(file, 'r.html'), /a-file is a file, not a folder/],
    ];
    for (const [out, message] of cases) {
      // Under /proc, mkdir once looped forever: a timeout makes that a failure, not a hang.
      const r = spawnSync(process.execPath, [BIN, 'report', join(FIXTURES, 'D'), '--out', out], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status, `${out}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(readdirSync(dir)).toEqual(['a-file']);
  });
});
