/**
 * `bench report` on the recorded result sets (test/fixtures/results): files written, charts drawn
 * or skipped with a note, and every string from configs and file names escaped (fixture D was run
 * with experiment_name='<script>alert(1)</script>').
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { escapeHtml, escapeMarkdownCell } from '../../src/report/escape.js';
import { writeReport } from '../../src/report/report.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'bench.js');
const tmp = (): string => mkdtempSync(join(tmpdir(), 'bench-report-'));

describe('escaping', () => {
  it('escapes HTML and Markdown specials', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;');
    expect(escapeMarkdownCell('a|b <i>`c`</i> *d* [x](http://e)')).toBe('a\\|b &lt;i&gt;\\`c\\`&lt;/i&gt; \\*d\\* [x]\\(http://e)');
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
    expect(readdirSync(r.chartsDir).sort()).toEqual(['latency-distribution.svg', 'latency-vs-instances.svg', 'throughput-vs-instances.svg']);
    const html = readFileSync(r.html, 'utf8');
    const md = readFileSync(r.markdown, 'utf8');
    expect(r.markdown).toBe(out.replace(/\.html$/, '.md'));
    // Self-contained: the SVGs inline, no script at all, nothing fetched, a CSP that forbids it anyway.
    expect(html.match(/<figure class="chart"/g)).toHaveLength(3);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'`);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\s(src|href)=["']?(https?:)?\/\//i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toMatch(/data-skipped="latency-vs-cores"[^>]*><strong>Latency vs cores<\/strong>: not drawn: every single-instance run used the same number of cores/);
    for (const file of readdirSync(r.chartsDir)) expect(readFileSync(join(r.chartsDir, file), 'utf8')).not.toMatch(/<script/i);
    expect(md).not.toMatch(/<script/i);
    expect(md).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(md).toContain('![Max latency vs instances](report-charts/latency-vs-instances.svg)');
    expect(md).toMatch(/- \*\*Latency vs cores\*\*: not drawn/);
    // The best setup per (batch, sequence) and the runs.
    expect(md).toMatch(/## Best setup per \(batch, sequence\)\n\n\| batch \| sequence \|/);
    expect(md).toMatch(/\| 2 \| 32 \| /);
    expect(html).toContain('<section id="environment">');
    expect(html).toContain('AMD EPYC');
  });

  it('a core-count sweep draws latency vs cores; a run dir with markup in its name is escaped', async () => {
    const a = await writeReport(join(FIXTURES, 'A'), { out: join(tmp(), 'a.html') });
    expect(a.charts.filter((c) => c.file !== null).map((c) => c.id)).toEqual(['latency-vs-cores', 'latency-distribution']);
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
    expect(c.charts.filter((x) => x.file === null).map((x) => x.id)).toEqual(['latency-vs-cores', 'latency-vs-instances', 'throughput-vs-instances']);
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
});
