/**
 * Texts from a file (inputs.text): plain text (one text per line, blank lines skipped), JSON Lines
 * (one object per line, the text in inputs.column) or Parquet (the text in column inputs.column,
 * read with hyparquet). The first `maxTexts` texts are kept.
 */
import { readFileSync, statSync } from 'node:fs';
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

export function formatOf(path: string): TextFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet' || ext === '.pq') return 'parquet';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return 'text';
}

function readText(path: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${KEY}=${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** Reads the texts of `path`; every problem names inputs.text (or inputs.column) and the fix. */
export async function readTexts(path: string, column: string, maxTexts: number): Promise<TextFile> {
  const file = resolve(path);
  const st = statSync(file, { throwIfNoEntry: false });
  if (!st) throw new ConfigError(`${KEY}=${path}: no such file`);
  if (!st.isFile()) throw new ConfigError(`${KEY}=${path}: not a file (a .txt, .jsonl or .parquet file of texts)`);
  const format = formatOf(file);
  let texts: string[];
  let more = false;
  if (format === 'parquet') ({ texts, more } = await readParquet(path, file, column, maxTexts));
  else {
    const lines = readText(path, file).split(/\r?\n/);
    texts = [];
    for (const [i, line] of lines.entries()) {
      if (line.trim() === '') continue;
      if (texts.length === maxTexts) {
        more = true;
        break;
      }
      texts.push(format === 'jsonl' ? jsonlText(path, line, i + 1, column) : line);
    }
  }
  if (texts.length === 0)
    throw new ConfigError(
      `${KEY}=${path}: the file holds no texts${format === 'text' ? ' (every line is blank)' : ''}`,
    );
  return { file, format, column: format === 'text' ? null : column, texts, more };
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
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({
      file: buffer,
      metadata: meta,
      columns: [column],
      rowEnd: Math.min(total, maxTexts),
    });
  } catch (err) {
    throw new ConfigError(`${KEY}=${path}: cannot read column ${column} (${(err as Error).message})`);
  }
  const texts: string[] = [];
  for (const [i, row] of rows.entries()) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string')
      throw new ConfigError(
        `inputs.column=${column}: row ${i} of ${path} holds a ${typeof value}, not a string; set inputs.column to a text column`,
      );
    if (value.trim() !== '') texts.push(value);
  }
  return { texts, more: total > maxTexts };
}
