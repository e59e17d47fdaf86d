/**
 * Hugging Face Hub downloads through @huggingface/hub, into the standard cache layout
 * (`$HF_HUB_CACHE` or `$HF_HOME/hub`: models--org--name/{blobs,snapshots,refs}), so files already
 * fetched by Python tools are reused, and ours are reused by them. `HF_ENDPOINT` picks the server.
 * A file already in the cache for the revision is used without any network access.
 */
import { downloadFileToCacheDir, modelInfo, pathsInfo } from '@huggingface/hub';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { joinInside } from '../util/paths.js';
import { cacheRoot } from './cache.js';
import { ModelError } from './errors.js';

export interface HubOptions {
  readonly revision: string;
  readonly files: readonly HubFile[];
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

const COMMIT = /^[0-9a-f]{40}$/;

export interface HubFile {
  readonly path: string;
  /** A file the repository may lack (the caller has a way round); its absence is remembered. */
  readonly optional?: boolean;
}

export interface HubDownload {
  /** Each file's path in the cache; null for an optional file the repository does not have. */
  readonly files: Record<string, string | null>;
  readonly cached: boolean;
  /** The commit the revision resolved to: every file comes from this one snapshot. */
  readonly commit: string;
  /** How each file present was checked: its content hash against the hub's (the blob's name). */
  readonly verified: Record<string, CheckKind>;
}

const repoFolder = (cacheDir: string, id: string): string => join(cacheDir, `models--${id.replaceAll('/', '--')}`);

/** The commit a revision names, from the cache: itself when it is one, else what refs/<revision> says. */
function cachedCommit(repoDir: string, revision: string): string | null {
  if (COMMIT.test(revision)) return revision;
  // A ref file is not ours: a revision such as ../x must not read outside refs/.
  const ref = joinInside(repoDir, `the Hugging Face cache's refs`, 'refs', revision);
  if (!existsSync(ref)) return null;
  const commit = readFileSync(ref, 'utf8').trim();
  return COMMIT.test(commit) ? commit : null;
}

/** A file of the snapshot: its path, 'absent' when the cache knows the repository lacks it, or null. */
function inSnapshot(repoDir: string, id: string, commit: string, path: string): string | 'absent' | null {
  // The repo's file list is not ours either: no path may lead out of the repo's folder.
  const file = joinInside(repoDir, `the Hugging Face cache of ${id}`, 'snapshots', commit, path);
  if (existsSync(file)) return file;
  // Python's huggingface_hub remembers a file a commit lacks in .no_exist/<commit>/<path>.
  if (existsSync(joinInside(repoDir, `the Hugging Face cache of ${id}`, '.no_exist', commit, path))) return 'absent';
  return null;
}

/**
 * The files of `revision` (a branch, tag or commit), from the Hugging Face cache when it holds
 * them all (no network), else from the hub. The revision is resolved to its commit first, and
 * every file lands in that commit's snapshot (as Python's huggingface_hub lays it out; the JS
 * library would use each file's last commit, scattering one revision over several snapshots),
 * with refs/<revision> naming it. Each file is checked against the hash the hub gave it (the blob's
 * name); a cached file that does not match is fetched again, or refused offline.
 */
export async function downloadHubModel(id: string, opts: HubOptions): Promise<HubDownload> {
  const cacheDir = hubCacheDir(opts.env);
  const repoDir = repoFolder(cacheDir, id);
  const offline = opts.env.HF_HUB_OFFLINE === '1';
  const presets = opts.presets ?? packagePresets();
  const known = cachedCommit(repoDir, opts.revision);
  if (known !== null) {
    const hits = opts.files.map((f) => inSnapshot(repoDir, id, known, f.path));
    if (hits.every((h, i) => h !== null && (h !== 'absent' || opts.files[i]!.optional))) {
      const files: Record<string, string | null> = {};
      const verified: HubDownload['verified'] = {};
      for (const [i, f] of opts.files.entries()) {
        const hit = hits[i]!;
        files[f.path] = hit === 'absent' ? null : hit;
        if (hit === 'absent') continue;
        const check = verifyBlob(hit, opts.env, null);
        if (check.ok) verified[f.path] = check.kind;
        else if (offline)
          throw new ModelError(
            `model.id=${id}: ${hit} in the Hugging Face cache is damaged (${check.why}) and HF_HUB_OFFLINE=1 forbids fetching it again: delete ${check.blob} and run online`,
          );
        else return fetchRevision(id, opts, cacheDir, repoDir, presets);
      }
      return { files, cached: true, commit: known, verified };
    }
  }
  if (offline) {
    const missing = opts.files.find((f) => known === null || inSnapshot(repoDir, id, known, f.path) === null);
    throw new ModelError(
      `model.id=${id}: ${missing?.path ?? 'the model'} (revision ${opts.revision}) is not in the Hugging Face cache (${cacheDir}) and HF_HUB_OFFLINE=1 forbids downloading it. ${offlineAdvice(id, presets)}`,
    );
  }
  return fetchRevision(id, opts, cacheDir, repoDir, presets);
}

async function fetchRevision(
  id: string,
  opts: HubOptions,
  cacheDir: string,
  repoDir: string,
  presets: readonly string[],
): Promise<HubDownload> {
  const hubUrl = (opts.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
  const accessToken = opts.env.HF_TOKEN ?? opts.env.HUGGING_FACE_HUB_TOKEN;
  const o = { cacheDir, hubUrl, accessToken, presets };
  const commit = COMMIT.test(opts.revision) ? opts.revision : await resolveRevision(id, opts.revision, o);
  // A revision may hold slashes (refs/pr/1, feature/x): its ref file sits in subfolders, as in Python.
  if (commit !== opts.revision)
    writeCacheFile(joinInside(repoDir, `the Hugging Face cache's refs`, 'refs', opts.revision), commit, id);
  const files: Record<string, string | null> = {};
  const verified: HubDownload['verified'] = {};
  for (const f of opts.files) {
    // The hub's listing says whether the file exists and what it must hash to.
    const expected = await expectedOf(id, f.path, commit, o);
    if (expected === null) {
      if (!f.optional)
        throw new ModelError(
          `model.id=${id}: the repository has no ${f.path} at revision ${opts.revision} (commit ${commit.slice(0, 12)})`,
        );
      writeCacheFile(joinInside(repoDir, `the Hugging Face cache of ${id}`, '.no_exist', commit, f.path), '', id);
      files[f.path] = null;
      continue;
    }
    let file = await fetchOne(id, f.path, commit, o);
    let check = verifyBlob(file, opts.env, expected);
    if (!check.ok) {
      // A damaged copy in the cache (or a download cut short): fetched once more, from scratch.
      rmSync(check.blob, { force: true });
      rmSync(file, { force: true });
      file = await fetchOne(id, f.path, commit, o);
      check = verifyBlob(file, opts.env, expected);
      if (!check.ok)
        throw new ModelError(
          `model.id=${id}: ${f.path} from ${hubUrl} does not match the hub's own hash for it (${check.why}); try again, or check HF_ENDPOINT and any proxy between`,
        );
    }
    files[f.path] = file;
    verified[f.path] = check.kind;
  }
  return { files, cached: false, commit, verified };
}

/** A small file of the cache's bookkeeping (a ref, an absence marker); a cache bench cannot write is said plainly. */
function writeCacheFile(file: string, content: string, id: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  } catch (err) {
    throw new ModelError(
      `model.id=${id}: cannot write ${file} in the Hugging Face cache (${(err as Error).message}); set HF_HOME (or HF_HUB_CACHE) to a writable folder`,
    );
  }
}

/** The commit a branch or tag points to now, asked of the hub. */
async function resolveRevision(
  id: string,
  revision: string,
  o: { hubUrl: string; accessToken: string | undefined; presets: readonly string[] },
): Promise<string> {
  const info = await hubCall(id, revision, o, () =>
    modelInfo({
      name: id,
      revision,
      hubUrl: o.hubUrl,
      additionalFields: ['sha'],
      ...(o.accessToken ? { accessToken: o.accessToken } : {}),
    }),
  );
  const sha = (info as { sha?: unknown }).sha;
  if (typeof sha !== 'string' || !COMMIT.test(sha))
    throw new ModelError(`model.revision=${revision}: ${o.hubUrl} did not say which commit it is (model.id=${id})`);
  return sha;
}

type CheckKind = 'sha256' | 'git-sha1' | 'size' | 'not checked';

type BlobCheck =
  { readonly ok: true; readonly kind: CheckKind } | { readonly ok: false; readonly why: string; readonly blob: string };

/** What the hub says a file is: an LFS file's sha256, a small file's git blob sha1, else (Xet only) its size. */
interface Expected {
  readonly kind: 'sha256' | 'git-sha1' | 'size';
  readonly hash: string | null;
  readonly size: number;
}

/**
 * A cached file against what the hub says it is: from the hub's own listing when bench fetched it
 * (`expected`), else from the blob's name, by which the cache names it (an LFS file's sha256, a
 * small file's git blob sha1, in Python's cache as in ours). Hashing a large model takes a while,
 * so a blob that passed is remembered (with its size and modification time) in bench's cache.
 */
function verifyBlob(file: string, env: NodeJS.ProcessEnv, expected: Expected | null): BlobCheck {
  const blob = realpathSync(file);
  const name = basename(blob);
  const st = statSync(blob);
  const marker = join(cacheRoot(env), 'hub-verified', createHash('sha1').update(blob).digest('hex'));
  const stamp = (kind: CheckKind): string => JSON.stringify({ kind, size: st.size, mtimeMs: st.mtimeMs });
  try {
    const text = readFileSync(marker, 'utf8');
    const seen = JSON.parse(text) as { kind: CheckKind };
    if (text === stamp(seen.kind) && (expected === null || expected.kind === seen.kind))
      return { ok: true, kind: seen.kind };
  } catch {
    // Not checked before (or the marker is unreadable): checked now.
  }
  const exp: Expected | null =
    expected ??
    (/^[0-9a-f]{64}$/.test(name)
      ? { kind: 'sha256', hash: name, size: st.size }
      : /^[0-9a-f]{40}$/.test(name)
        ? { kind: 'git-sha1', hash: name, size: st.size }
        : null);
  if (exp === null) return { ok: true, kind: 'not checked' };
  if (st.size !== exp.size) return { ok: false, why: `${st.size} bytes, the hub says ${exp.size}`, blob };
  if (exp.kind !== 'size') {
    const hash = createHash(exp.kind === 'sha256' ? 'sha256' : 'sha1');
    if (exp.kind === 'git-sha1') hash.update(`blob ${st.size}\0`);
    const fd = openSync(blob, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 22);
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    const got = hash.digest('hex');
    if (got !== exp.hash)
      return {
        ok: false,
        why: `its ${exp.kind} is ${got.slice(0, 12)}..., the hub's ${exp.hash!.slice(0, 12)}...`,
        blob,
      };
  }
  try {
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, stamp(exp.kind));
  } catch {
    // Only a shortcut: without it the file is checked again next time.
  }
  return { ok: true, kind: exp.kind };
}

/** What the hub's listing says of a file of a commit (null when it does not list it). */
async function expectedOf(
  id: string,
  path: string,
  commit: string,
  o: { hubUrl: string; accessToken: string | undefined; presets: readonly string[] },
): Promise<Expected | null> {
  const [info] = await hubCall(id, commit, o, () =>
    pathsInfo({
      repo: { type: 'model', name: id },
      paths: [path],
      revision: commit,
      hubUrl: o.hubUrl,
      ...(o.accessToken ? { accessToken: o.accessToken } : {}),
    }),
  );
  if (!info) return null;
  if (info.lfs) return { kind: 'sha256', hash: info.lfs.oid, size: info.lfs.size };
  // A file stored with Xet only: its hash is not one of its content's, so its size is checked.
  if (info.xetHash || !info.oid) return { kind: 'size', hash: null, size: info.size };
  return { kind: 'git-sha1', hash: info.oid, size: info.size };
}

/** One file of a commit (the hub listed it) into the cache. */
async function fetchOne(
  id: string,
  path: string,
  commit: string,
  o: { cacheDir: string; hubUrl: string; accessToken: string | undefined; presets: readonly string[] },
): Promise<string> {
  return hubCall(id, commit, o, () =>
    downloadFileToCacheDir({
      repo: { type: 'model', name: id },
      path,
      revision: commit,
      hubUrl: o.hubUrl,
      cacheDir: o.cacheDir,
      ...(o.accessToken ? { accessToken: o.accessToken } : {}),
    }),
  );
}

/** A hub call, its failures said in bench's words (an unreachable hub names the offline way). */
async function hubCall<T>(
  id: string,
  revision: string,
  o: { hubUrl: string; presets: readonly string[] },
  call: () => Promise<T>,
): Promise<T> {
  // The library announces each download with console.debug; bench's core does not print.
  const debug = console.debug;
  console.debug = () => {};
  try {
    return await call();
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
    if (/revision|not found|404/i.test(cause) && !/path info/.test(cause))
      throw new ModelError(
        `model.id=${id}: the hub at ${o.hubUrl} has no revision ${revision} of it, or no such repository (${cause})`,
      );
    throw new ModelError(`model.id=${id}: ${o.hubUrl}: ${cause}`);
  } finally {
    console.debug = debug;
  }
}
