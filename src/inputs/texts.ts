/**
 * Texts from a file (inputs.text): plain text (one text per line, blank lines skipped), JSON Lines
 * (one object per line, the text in inputs.column) or Parquet (the text in column inputs.column,
 * read with hyparquet). The first `maxTexts` texts are kept.
 */
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';

export type TextFormat = 'text' | 'jsonl' | 'parquet';

export interface TextFile {
  /** The file, resolved. */
  readonly file: string;
  readonly format: TextFormat;
  /** The field or column read (null for plain text). */
  readonly column: string | null;
  readonly texts: readonly string[];
  /** Whether the file holds more texts than were read (inputs.max_texts). */
  readonly more: boolean;
}

const KEY = 'inputs.text';

export function formatOf(path: string): TextFormat | null {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '' || ext === '.txt' || ext === '.text') return 'text';
  return null;
}

/** The file's fingerprint (results.json), so a rerun can tell it was fed the same texts. */
export function fileSha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Reads the texts of `path`; every problem names inputs.text (or inputs.column) and the fix. */
export async function readTexts(path: string, column: string, maxTexts: number): Promise<TextFile> {
  const file = resolve(path);
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`${KEY}=${path}: no such file`);
  if (!st.isFile()) throw new ConfigError(`${KEY}=${path}: not a file (a .txt, .jsonl or .parquet file of texts)`);
  const format = formatOf(file);
  if (format === null)
    throw new ConfigError(
      `${KEY}=${path}: bench reads .txt (one text per line), .jsonl (one JSON object per line) and .parquet files; convert it to one of them (e.g. a CSV to .jsonl)`,
    );
  const read =
    format === 'parquet'
      ? await readParquet(path, file, column, maxTexts)
      : await readLines(path, file, format, column, maxTexts);
  if (read.texts.length === 0)
    throw new ConfigError(
      `${KEY}=${path}: the file holds no texts${format === 'parquet' ? ` (column ${column} is empty, null or blank in every row)` : ' (every line is blank)'}`,
    );
  return { file, format, column: format === 'text' ? null : column, ...read };
}

/** Plain text or JSON Lines, streamed: only the first `maxTexts` non-blank lines are read. */
async function readLines(
  path: string,
  file: string,
  format: 'text' | 'jsonl',
  column: string,
  maxTexts: number,
): Promise<{ texts: string[]; more: boolean }> {
  const texts: string[] = [];
  let more = false;
  let lineNo = 0;
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      lineNo++;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (line.trim() === '') continue;
      const text = format === 'jsonl' ? jsonlText(path, line, lineNo, column) : line;
      if (text.trim() === '') continue;
      if (texts.length === maxTexts) {
        more = true;
        break;
      }
      texts.push(text);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(
      `${KEY}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  } finally {
    lines.close();
  }
  return { texts, more };
}

function jsonlText(path: string, line: string, lineNo: number, column: string): string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ConfigError(`${KEY}=${path}: line ${lineNo} is not JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(`${KEY}=${path}: line ${lineNo} is not a JSON object`);
  const text = (value as Record<string, unknown>)[column];
  if (typeof text !== 'string') {
    const keys = Object.keys(value).slice(0, 8).join(', ');
    throw new ConfigError(
      `inputs.column=${column}: line ${lineNo} of ${path} has ${text === undefined ? 'no such field' : `a ${typeof text} there, not a string`} (its fields: ${keys}); set inputs.column to the field that holds the text`,
    );
  }
  return text;
}

async function readParquet(
  path: string,
  file: string,
  column: string,
  maxTexts: number,
): Promise<{ texts: string[]; more: boolean }> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } = await import('hyparquet');
  let meta;
  const buffer = await asyncBufferFromFile(file);
  try {
    meta = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new ConfigError(`${KEY}=${path}: not a readable Parquet file (${(err as Error).message})`);
  }
  const columns = parquetSchema(meta).children.map((c) => c.element.name);
  if (!columns.includes(column))
    throw new ConfigError(
      `inputs.column=${column}: ${path} has no such column (its columns: ${columns.join(', ')}); set inputs.column to the one that holds the text`,
    );
  const total = Number(meta.num_rows);
  const texts: string[] = [];
  // Rows in chunks, until maxTexts texts (null and blank cells are skipped) or the end.
  const chunk = Math.max(1024, maxTexts);
  for (let start = 0; start < total; start += chunk) {
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({
        file: buffer,
        metadata: meta,
        columns: [column],
        rowStart: start,
        rowEnd: Math.min(total, start + chunk),
      });
    } catch (err) {
      const why = (err as Error).message;
      throw new ConfigError(
        `${KEY}=${path}: cannot read column ${column} (${why})${/compression|codec/i.test(why) ? '; bench reads snappy or uncompressed Parquet: write the file again with compression=snappy' : ''}`,
      );
    }
    for (const [i, row] of rows.entries()) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      if (typeof value !== 'string')
        throw new ConfigError(
          `inputs.column=${column}: row ${start + i + 1} of ${path} holds a ${typeof value}, not a string; set inputs.column to a text column`,
        );
      if (value.trim() === '') continue;
      if (texts.length === maxTexts) return { texts, more: true };
      texts.push(value);
    }
  }
  return { texts, more: false };
}
