/**
 * Hugging Face Hub downloads through @huggingface/hub, into the standard cache layout
 * (`$HF_HUB_CACHE` or `$HF_HOME/hub`: models--org--name/{blobs,snapshots,refs}), so files already
 * fetched by Python tools are reused, and ours are reused by them. `HF_ENDPOINT` picks the server.
 * A file already in the cache for the revision is used without any network access.
 */
import { downloadFileToCacheDir } from '@huggingface/hub';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinInside } from '../util/paths.js';
import { ModelError } from './errors.js';

export interface HubDownload {
  readonly files: Record<string, string>;
  readonly cached: boolean;
}

export interface HubOptions {
  readonly revision: string;
  readonly files: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The synthesized presets to suggest from when the hub cannot be reached (default: bench's own, configs/model). */
  readonly presets?: readonly string[];
}

/** The model presets bench ships (configs/model/*.yaml). */
export function packagePresets(): string[] {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'configs', 'model');
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -'.yaml'.length))
      .sort();
  } catch {
    return [];
  }
}

/**
 * The preset named like the hub model: the longest preset name the id's last part holds, bounded
 * by the ends or by a '-', '_' or '.' (Xenova/roberta-base -> roberta-base,
 * Xenova/distilbert-base-uncased-finetuned-sst-2-english -> distilbert-base-uncased, not
 * bert-base-uncased); null when none is.
 */
export function presetFor(id: string, presets: readonly string[]): string | null {
  const name = (id.split('/').at(-1) ?? id).toLowerCase();
  const boundary = (i: number): boolean => i < 0 || i >= name.length || /[-_.]/.test(name[i]!);
  const held = presets.filter((p) => {
    const q = p.toLowerCase();
    for (let at = name.indexOf(q); at >= 0; at = name.indexOf(q, at + 1)) {
      if (boundary(at - 1) && boundary(at + q.length)) return true;
    }
    return false;
  });
  return held.sort((a, b) => b.length - a.length)[0] ?? null;
}

/**
 * What to run instead when `id` cannot be had: the preset of its name with synthesized weights, or the list of presets.
 */
export function offlineAdvice(id: string, presets: readonly string[]): string {
  const preset = presetFor(id, presets);
  return preset !== null
    ? `Offline, benchmark the preset of that name with synthesized weights instead: model=${preset} (or point model.path at a local copy)`
    : `No synthesized preset is named like ${id}; the presets are ${presets.join(', ')} (model=NAME), or point model.path at a local copy`;
}

export function hubCacheDir(env: NodeJS.ProcessEnv): string {
  return (
    env.HF_HUB_CACHE ??
    env.HUGGINGFACE_HUB_CACHE ??
    join(env.HF_HOME ?? join(env.XDG_CACHE_HOME ?? join(os.homedir(), '.cache'), 'huggingface'), 'hub')
  );
}

function cachedFile(cacheDir: string, id: string, revision: string, path: string): string | null {
  const repoDir = join(cacheDir, `models--${id.replaceAll('/', '--')}`);
  const ref = join(repoDir, 'refs', revision);
  const commit = existsSync(ref) ? readFileSync(ref, 'utf8').trim() : /^[0-9a-f]{40}$/.test(revision) ? revision : null;
  if (commit === null) return null;
  // The ref file and the repo's file list are not ours: neither may lead out of the repo's folder.
  const file = joinInside(repoDir, `the Hugging Face cache of ${id}`, 'snapshots', commit, path);
  return existsSync(file) ? file : null;
}

export async function downloadHubModel(id: string, opts: HubOptions): Promise<HubDownload> {
  const cacheDir = hubCacheDir(opts.env);
  const hubUrl = (opts.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const accessToken = opts.env.HF_TOKEN ?? opts.env.HUGGING_FACE_HUB_TOKEN;
  const files: Record<string, string> = {};
  let cached = true;
  for (const path of opts.files) {
    const hit = cachedFile(cacheDir, id, opts.revision, path);
    if (hit) {
      files[path] = hit;
      continue;
    }
    const presets = opts.presets ?? packagePresets();
    if (opts.env.HF_HUB_OFFLINE === '1') {
      throw new ModelError(
        `model.id=${id}: ${path} is not in the Hugging Face cache (${cacheDir}) and HF_HUB_OFFLINE=1 forbids downloading it. ${offlineAdvice(id, presets)}`,
      );
    }
    cached = false;
    files[path] = await fetchOne(id, path, { cacheDir, hubUrl, accessToken, revision: opts.revision, presets });
    writeRef(cacheDir, id, opts.revision, files[path]);
  }
  return { files, cached };
}

/**
 * Python's huggingface_hub records which snapshot a branch points to in refs/<revision>; the JS
 * library does not, so bench writes it, which lets later runs (and Python tools) find the files
 * offline.
 */
function writeRef(cacheDir: string, id: string, revision: string, file: string): void {
  const snapshot = /[\\/]snapshots[\\/]([^\\/]+)[\\/]/.exec(file)?.[1];
  if (!snapshot || snapshot === revision) return;
  const refs = join(cacheDir, `models--${id.replaceAll('/', '--')}`, 'refs');
  mkdirSync(refs, { recursive: true });
  writeFileSync(join(refs, revision), snapshot);
}

async function fetchOne(
  id: string,
  path: string,
  o: {
    cacheDir: string;
    hubUrl: string;
    accessToken: string | undefined;
    revision: string;
    presets: readonly string[];
  },
): Promise<string> {
  // The library announces each download with console.debug; bench's core does not print.
  const debug = console.debug;
  console.debug = () => {};
  try {
    return await downloadFileToCacheDir({
      repo: { type: 'model', name: id },
      path,
      revision: o.revision,
      hubUrl: o.hubUrl,
      cacheDir: o.cacheDir,
      ...(o.accessToken ? { accessToken: o.accessToken } : {}),
    });
  } catch (err) {
    const cause =
      err instanceof Error
        ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}`
        : String(err);
    if (/fetch failed|ENOTFOUND|ECONNREFUSED|EAI_AGAIN|ETIMEDOUT|network/i.test(cause)) {
      throw new ModelError(
        `model.id=${id}: cannot reach the Hugging Face hub at ${o.hubUrl} (${cause}). ${offlineAdvice(id, o.presets)}`,
      );
    }
    throw new ModelError(`model.id=${id}: cannot download ${path} from ${o.hubUrl}: ${cause}`);
  } finally {
    console.debug = debug;
  }
}
