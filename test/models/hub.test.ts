/**
 * Hub downloads against a small HTTP server on 127.0.0.1 that serves the hub's URL layout
 * (paths-info API and resolve/ URLs with byte ranges); no real network is used.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
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
const TAGGED = 'd'.repeat(40);
const TINY: ModelConfig = miniModelConfig({ source: 'hub', id: 'org/tiny-bert' });

const CONFIG = {
  model_type: 'bert',
  vocab_size: 1000,
  hidden_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  hidden_act: 'gelu',
  max_position_embeddings: 64,
};
const REPOS: Record<string, Record<string, Buffer>> = {
  'org/tiny-bert': {
    'config.json': Buffer.from(
      JSON.stringify({ ...CONFIG, num_attention_heads: undefined, intermediate_size: undefined }),
    ),
    // A feed-forward size other than the config's (TINY's 64): the file's own must be reported.
    'onnx/model.onnx': Buffer.from(
      synthesizeModel({ ...architectureOf(TINY), intermediate_size: 48 }, { seed: 3, opset: 12 }),
    ),
    'onnx/model_small.onnx': Buffer.from(
      synthesizeModel({ ...architectureOf(TINY), intermediate_size: 40 }, { seed: 4, opset: 12 }),
    ),
  },
  // The ONNX file at the root, as some exports have it.
  'org/root-onnx': {
    'config.json': Buffer.from(JSON.stringify(CONFIG)),
    'model.onnx': Buffer.from(synthesizeModel(architectureOf(TINY), { seed: 5, opset: 12 })),
  },
  // PyTorch weights only: no ONNX file to run.
  'org/pt-only': {
    'config.json': Buffer.from(JSON.stringify(CONFIG)),
    'model.safetensors': Buffer.from('not read'),
  },
};
const PULL = 'e'.repeat(40);
const REVISIONS: Record<string, string> = { main: COMMIT, v1: TAGGED, 'refs/pr/1': PULL };

/** What the hub says of a file: a small one by its git blob sha1, a large (LFS) one by its sha256 too. */
const gitOid = (b: Buffer): string =>
  createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
    .digest('hex');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
/** Each file's last commit differs from the revision's, as on the real hub: the snapshot is still the revision's. */
const lastCommit = (path: string): string => createHash('sha1').update(path).digest('hex');

let server: Server;
let endpoint = '';
const requests: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const json = (body: unknown, status = 200): void => {
      res.statusCode = status;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(body));
    };
    const revision = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(url);
    if (req.method === 'GET' && revision) {
      const sha = REVISIONS[revision[2]!];
      if (!REPOS[revision[1]!] || !sha) return json({ error: 'Revision Not Found' }, 404);
      return json({
        _id: 'x',
        id: revision[1],
        sha,
        private: false,
        downloads: 0,
        likes: 0,
        lastModified: '2026-01-01T00:00:00Z',
      });
    }
    const info = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/([0-9a-f]{40})$/.exec(url);
    if (req.method === 'POST' && info) {
      const files = REPOS[info[1]!] ?? {};
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        const paths = (JSON.parse(body) as { paths: string[] }).paths.filter((p) => files[p]);
        json(
          paths.map((p) => ({
            path: p,
            type: 'file',
            oid: gitOid(files[p]!),
            size: files[p]!.length,
            ...(p.endsWith('.onnx')
              ? { lfs: { oid: sha256(files[p]!), size: files[p]!.length, pointerSize: 130 } }
              : {}),
            lastCommit: { id: lastCommit(p), date: '2026-01-01T00:00:00Z', title: 'edit' },
          })),
        );
      });
      return;
    }
    const file = /^\/([^/]+\/[^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(url);
    const data = file ? REPOS[file[1]!]?.[file[3]!] : undefined;
    if (!data) {
      res.statusCode = 404;
      res.setHeader('X-Error-Code', 'EntryNotFound');
      res.end('not found');
      return;
    }
    res.setHeader('ETag', `"${file![3]!.endsWith('.onnx') ? sha256(data) : gitOid(data)}"`);
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
    expect(first).toMatchObject({
      source: 'hub',
      cached: false,
      weights: 'from the hub (org/tiny-bert, onnx/model.onnx)',
    });
    // Both files in the revision's snapshot, though their last commits differ (and differ from it).
    const snapshot = join(hfHome, 'hub', 'models--org--tiny-bert', 'snapshots', COMMIT);
    expect(first.file).toBe(join(snapshot, 'onnx', 'model.onnx'));
    expect(existsSync(join(snapshot, 'config.json'))).toBe(true);
    expect(readFileSync(first.file).equals(REPOS['org/tiny-bert']!['onnx/model.onnx']!)).toBe(true);
    expect(first.hub).toEqual({
      id: 'org/tiny-bert',
      revision: 'main',
      commit: COMMIT,
      verified: { 'config.json': 'git-sha1', 'onnx/model.onnx': 'sha256' },
    });
    // config.json's fields, the rest (the feed-forward size) from the graph, none from the preset.
    expect(first).toMatchObject({ arch_source: 'config.json + graph', arch_note: null });
    expect(first.arch).toMatchObject({
      vocab_size: 1000,
      hidden_size: 32,
      num_hidden_layers: 1,
      intermediate_size: 48,
      max_position_embeddings: 64,
    });
    expect(requests.some((r) => r.startsWith(`POST /api/models/org/tiny-bert/paths-info/${COMMIT}`))).toBe(true);

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

  it('says so when the repository, the revision or a named file is missing', async () => {
    const env = { HF_HOME: mkdtempSync(join(tmpdir(), 'hf-home-')), HF_ENDPOINT: endpoint };
    await expect(resolveModel({ ...TINY, id: 'org/other' }, 1, env)).rejects.toThrow(
      /model\.id=org\/other: the hub at .* has no revision main of it, or no such repository/,
    );
    await expect(resolveModel({ ...TINY, revision: 'v9' }, 1, env)).rejects.toThrow('has no revision v9');
    await expect(resolveModel({ ...TINY, file: 'onnx/nope.onnx' }, 1, env)).rejects.toThrow(
      `model.id=org/tiny-bert: the repository has no onnx/nope.onnx at revision main (commit ${COMMIT.slice(0, 12)})`,
    );
  });

  it('model.revision picks a tag (its own snapshot and ref), model.file another ONNX file of the repository', async () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'hf-home-'));
    const env = { HF_HOME: hfHome, HF_ENDPOINT: endpoint };
    const tagged = await resolveModel({ ...TINY, revision: 'v1', file: 'onnx/model_small.onnx' }, 1, env);
    const repo = join(hfHome, 'hub', 'models--org--tiny-bert');
    expect(tagged.file).toBe(join(repo, 'snapshots', TAGGED, 'onnx', 'model_small.onnx'));
    expect(tagged.arch.intermediate_size).toBe(40);
    expect(tagged.hub).toMatchObject({ revision: 'v1', commit: TAGGED });
    expect(tagged.weights).toBe('from the hub (org/tiny-bert@v1, onnx/model_small.onnx)');
    expect(readFileSync(join(repo, 'refs', 'v1'), 'utf8')).toBe(TAGGED);
    // Offline afterwards: the ref and the snapshot are enough.
    const again = await resolveModel({ ...TINY, revision: 'v1', file: 'onnx/model_small.onnx' }, 1, {
      ...env,
      HF_HUB_OFFLINE: '1',
    });
    expect(again).toMatchObject({ cached: true, file: tagged.file });
    // A revision with slashes (a pull request's ref) gets its ref file in subfolders, as in Python.
    const pull = await resolveModel({ ...TINY, revision: 'refs/pr/1' }, 1, env);
    expect(pull.hub?.commit).toBe(PULL);
    expect(readFileSync(join(repo, 'refs', 'refs', 'pr', '1'), 'utf8')).toBe(PULL);
  });

  it('a damaged file in the cache is fetched again online, and refused offline with the way out', async () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'hf-home-'));
    const cache = mkdtempSync(join(tmpdir(), 'bench-cache-'));
    const env = { HF_HOME: hfHome, HF_ENDPOINT: endpoint, BENCH_CACHE_DIR: cache };
    const first = await resolveModel(TINY, 1, env);
    const blob = realpathSync(first.file);
    const good = readFileSync(blob);
    const damaged = Buffer.from(good);
    damaged.writeUInt8(damaged.readUInt8(damaged.length - 1) ^ 0xff, damaged.length - 1);
    writeFileSync(blob, damaged);
    await expect(resolveModel(TINY, 1, { ...env, HF_HUB_OFFLINE: '1' })).rejects.toThrow(
      /onnx\/model\.onnx in the Hugging Face cache is damaged \(its sha256 is [0-9a-f]{12}\.\.\., the hub's [0-9a-f]{12}\.\.\.\) and HF_HUB_OFFLINE=1 forbids fetching it again: delete .*blobs\/[0-9a-f]{64} and run online/,
    );
    requests.length = 0;
    const fixed = await resolveModel(TINY, 1, env);
    expect(fixed.file).toBe(first.file);
    expect(readFileSync(fixed.file).equals(good)).toBe(true);
    expect(requests.some((r) => r.startsWith(`GET /org/tiny-bert/resolve/${COMMIT}/onnx/model.onnx`))).toBe(true);
  });

  it('without model.file, a model.onnx at the root of the repository is found too', async () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'hf-home-'));
    const m = await resolveModel({ ...TINY, id: 'org/root-onnx' }, 1, { HF_HOME: hfHome, HF_ENDPOINT: endpoint });
    expect(m).toMatchObject({ source: 'hub', weights: 'from the hub (org/root-onnx, model.onnx)' });
    expect(m.file).toBe(join(hfHome, 'hub', 'models--org--root-onnx', 'snapshots', COMMIT, 'model.onnx'));
    expect(m.hub?.verified).toEqual({ 'config.json': 'git-sha1', 'model.onnx': 'sha256' });
  });

  it('a repository with PyTorch weights only is measured on its config.json, synthesized, and says so', async () => {
    const hfHome = mkdtempSync(join(tmpdir(), 'hf-home-'));
    const env = {
      HF_HOME: hfHome,
      HF_ENDPOINT: endpoint,
      BENCH_CACHE_DIR: mkdtempSync(join(tmpdir(), 'bench-cache-')),
    };
    const m = await resolveModel({ ...TINY, id: 'org/pt-only' }, 1, env);
    expect(m).toMatchObject({ source: 'hub', arch_source: 'config.json' });
    expect(m.arch).toMatchObject({ hidden_size: 32, intermediate_size: 64, num_attention_heads: 2, vocab_size: 1000 });
    expect(m.weights).toContain("synthesized from org/pt-only's config.json");
    expect(m.warnings?.[0]).toContain('the repository has no onnx/model.onnx or model.onnx; measured its architecture');
    expect(m.hub).toMatchObject({ id: 'org/pt-only', commit: COMMIT });
    // Its absence is remembered as Python's huggingface_hub does: offline, the same answer.
    const repo = join(hfHome, 'hub', 'models--org--pt-only');
    expect(existsSync(join(repo, '.no_exist', COMMIT, 'onnx', 'model.onnx'))).toBe(true);
    expect(existsSync(join(repo, '.no_exist', COMMIT, 'model.onnx'))).toBe(true);
    const offline = await resolveModel({ ...TINY, id: 'org/pt-only' }, 1, { ...env, HF_HUB_OFFLINE: '1' });
    expect(offline.file).toBe(m.file);
  });
});
