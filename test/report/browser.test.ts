/**
 * The report opened in a real headless browser (Debian's chromium through playwright-core): no
 * console errors, no script run (a dialog would mean an escaping bug), nothing fetched from the
 * network, every chart with rendered marks; a screenshot of each report lands in test-output/.
 * Without chromium (`apt-get install chromium`; .ci/run installs it) the test is skipped and says so.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReport } from '../../src/report/report.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'results');
const OUTPUT = join(import.meta.dirname, '..', '..', 'test-output', 'report');

const executable = [
  process.env.BENCH_CHROMIUM,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
].find((p): p is string => p !== undefined && p !== '' && existsSync(p));
if (!executable) {
  console.warn(
    'browser test skipped: no chromium found (apt-get install chromium, or set BENCH_CHROMIUM=/path/to/chrome)',
  );
}

describe.skipIf(!executable)('the report in headless chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(OUTPUT, { recursive: true });
    browser = await chromium.launch({ executablePath: executable! });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each(['D', 'A', 'F'])('fixture %s renders every chart, with no console error, script or request', async (name) => {
    const report = await writeReport(join(FIXTURES, name), { out: join(OUTPUT, `report-${name}.html`) });
    const drawn = report.charts.filter((c) => c.file !== null).map((c) => c.id);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) problems.push(`request: ${r.url()}`);
    });
    await page.goto(pathToFileURL(report.html).href, { waitUntil: 'load' });
    const charts = await page.evaluate(() => {
      // Runs in the page; the project compiles without the DOM library, so the little it uses is typed here.
      interface Node {
        querySelectorAll(selector: string): ArrayLike<Node>;
        getBoundingClientRect(): { width: number; height: number };
        getAttribute(name: string): string | null;
      }
      const doc = (globalThis as unknown as { document: Node }).document;
      return Array.from(doc.querySelectorAll('figure.chart')).map((f) => {
        // Data marks only (vega gives them the role-mark class; axes, grids and legends have others),
        // and only those with an area on screen.
        const marks = Array.from(
          f.querySelectorAll('svg g.role-mark > path, svg g.role-mark > line, svg g.role-mark > rect'),
        );
        const visible = marks.filter((m) => {
          const box = m.getBoundingClientRect();
          return box.width > 0 || box.height > 0;
        });
        return { id: f.getAttribute('data-chart') ?? '', marks: marks.length, visible: visible.length };
      });
    });
    await page.screenshot({ path: join(OUTPUT, `report-${name}.png`), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
    expect(charts.map((c) => c.id)).toEqual(drawn);
    for (const c of charts) {
      expect(c.marks, c.id).toBeGreaterThan(0);
      expect(c.visible, c.id).toBeGreaterThan(0);
    }
    expect(existsSync(join(OUTPUT, `report-${name}.png`))).toBe(true);
  });
});
