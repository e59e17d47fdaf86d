/**
 * Hub downloads against a small HTTP server on 127.0.0.1 that serves the hub's URL layout
 * (paths-info API and resolve/ URLs with byte ranges); no real network is used.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/config/schema.js';
import { architectureOf } from '../../src/models/resolve.js';
import { packagePresets, presetFor } from '../../src/models/hub.js';
import { resolveModel } from '../../src/models/resolve.js';
import { synthesizeModel } from '../../src/models/synthesize.js';
import { miniModelConfig } from '../fixtures/models.js';

const COMMIT = 'a'.repeat(40);
const TINY: ModelConfig = miniModelConfig({ source: 'hub', id: 'org/tiny-bert' });

const FILES: Record<string, Buffer> = {
  'config.json': Buffer.from(
    JSON.stringify({
      model_type: 'bert',
      vocab_size: 1000,
      hidden_size: 32,
      num_hidden_layers: 1,
      max_position_embeddings: 64,
    }),
  ),
  // A feed-forward size other than the config's (TINY's 64): the file's own must be reported.
  'onnx/model.onnx': Buffer.from(
    synthesizeModel({ ...architectureOf(TINY), intermediate_size: 48 }, { seed: 3, opset: 12 }),
  ),
};

const oid = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

let server: Server;
let endpoint = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const infoMatch = /^\/api\/models\/org\/tiny-bert\/paths-info\/main$/.exec(req.url ?? '');
    if (req.method === 'POST' && infoMatch) {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const paths = (JSON.parse(body) as { paths: string[] }).paths.filter((p) => FILES[p]);
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify(
            paths.map((p) => ({
              path: p,
              type: 'file',
              oid: oid(FILES[p]!),
              size: FILES[p]!.length,
              lastCommit: { id: COMMIT, date: '2026-01-01T00:00:00Z', title: 'init' },
            })),
          ),
        );
      });
      return;
    }
    const fileMatch = /^\/org\/tiny-bert\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    const data = fileMatch ? FILES[fileMatch[1]!] : undefined;
    if (!data) {
      res.statusCode = 404;
      res.setHeader('X-Error-Code', 'EntryNotFound');
      res.end('not found');
      return;
    }
    res.setHeader('ETag', `"${oid(data)}"`);
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      res.statusCode = 206;
      res.setHeader('Content-Range', `bytes ${start}-${end}/${data.length}`);
      res.end(data.subarray(start, end + 1));
      return;
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

describe('hub models', () => {
  it('downloads config.json and onnx/model.onnx into the Hugging Face cache layout, then reuses them offline', async () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'hf-home-'));
    const env = { HF_HOME: hfHome, HF_ENDPOINT: endpoint };
    requests.length = 0;
    const first = await resolveModel(TINY, 1, env);
    expect(first).toMatchObject({ source: 'hub', cached: false, weights: 'from the hub (org/tiny-bert)' });
    expect(first.file).toBe(join(hfHome, 'hub', 'models--org--tiny-bert', 'snapshots', COMMIT, 'onnx', 'model.onnx'));
    expect(readFileSync(first.file).equals(FILES['onnx/model.onnx']!)).toBe(true);
    // config.json's fields, the rest (the feed-forward size) from the graph, none from the preset.
    expect(first).toMatchObject({ arch_source: 'config.json + graph', arch_note: null });
    expect(first.arch).toMatchObject({
      vocab_size: 1000,
      hidden_size: 32,
      num_hidden_layers: 1,
      intermediate_size: 48,
      max_position_embeddings: 64,
    });
    expect(requests.some((r) => r.startsWith('POST /api/models/org/tiny-bert/paths-info/main'))).toBe(true);

    // The layout Python tools use: refs/main names the snapshot.
    expect(readFileSync(join(hfHome, 'hub', 'models--org--tiny-bert', 'refs', 'main'), 'utf8').trim()).toBe(COMMIT);
    requests.length = 0;
    const second = await resolveModel(TINY, 1, {
      HF_HOME: hfHome,
      HF_ENDPOINT: 'http://127.0.0.1:1',
      HF_HUB_OFFLINE: '1',
    });
    expect(second).toMatchObject({ cached: true, file: first.file });
    expect(requests).toEqual([]);
  });

  it('fails fast offline and names the synthesized preset named like model.id (not the selected one)', async () => {
    const env = { HF_HOME: mkdtempSync(join(tmpdir(), 'hf-home-')), HF_ENDPOINT: 'http://127.0.0.1:1' };
    // The config still holds bert-tiny's fields (miniModelConfig): the hint follows the id.
    await expect(resolveModel({ ...TINY, id: 'Xenova/roberta-base' }, 1, env)).rejects.toThrow(
      /model\.id=Xenova\/roberta-base: cannot reach the Hugging Face hub at http:\/\/127\.0\.0\.1:1.*synthesized weights instead: model=roberta-base /s,
    );
    await expect(resolveModel({ ...TINY, id: 'sentence-transformers/all-MiniLM-L6-v2' }, 1, env)).rejects.toThrow(
      'model=all-MiniLM-L6-v2 ',
    );
    // No preset of that name: the presets are listed, none is pretended to match.
    const none = await resolveModel(TINY, 1, env).then(
      () => null,
      (err: unknown) => (err as Error).message,
    );
    expect(none).toContain(
      'No synthesized preset is named like org/tiny-bert; the presets are all-MiniLM-L6-v2, bert-base-cased, bert-base-uncased',
    );
    expect(none).not.toContain('model=bert-tiny');
  });

  it('with HF_HUB_OFFLINE=1 and nothing cached, names the preset too', async () => {
    const env = { HF_HOME: mkdtempSync(join(tmpdir(), 'hf-home-')), HF_ENDPOINT: endpoint, HF_HUB_OFFLINE: '1' };
    requests.length = 0;
    await expect(resolveModel({ ...TINY, id: 'Xenova/bert-base-cased' }, 1, env)).rejects.toThrow(
      /HF_HUB_OFFLINE=1 forbids downloading it\. Offline, benchmark the preset of that name with synthesized weights instead: model=bert-base-cased /,
    );
    expect(requests).toEqual([]);
  });

  it.each<[string, string | null]>([
    ['Xenova/roberta-base', 'roberta-base'],
    ['google-bert/bert-base-cased', 'bert-base-cased'],
    ['Xenova/bert-base-uncased', 'bert-base-uncased'],
    ['sentence-transformers/all-MiniLM-L6-v2', 'all-MiniLM-L6-v2'],
    ['Xenova/distilbert-base-uncased-finetuned-sst-2-english', 'distilbert-base-uncased'],
    ['Xenova/BERT-Large-Cased', 'bert-large-cased'],
    ['org/tiny-bert', null],
    ['org/roberta-base2', null],
    ['org/xbert-base-cased', null],
  ])('the preset for %s is %s', (id, preset) => {
    expect(presetFor(id, packagePresets())).toBe(preset);
  });

  it('says so when a file is missing from the repository', async () => {
    const env = { HF_HOME: mkdtempSync(join(tmpdir(), 'hf-home-')), HF_ENDPOINT: endpoint };
    await expect(resolveModel({ ...TINY, id: 'org/other' }, 1, env)).rejects.toThrow(
      'model.id=org/other: cannot download config.json',
    );
  });
});
