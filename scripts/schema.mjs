#!/usr/bin/env node
// The JSON Schema of results.json, generated from the types bench writes it from
// (src/results/types.ts, RunResult), into schema/results.schema.json:   npm run schema
// JSON has no NaN or Infinity: JSON.stringify writes a figure that could not be measured (the mean
// of no calls, a worker that never reported) as null, so every number of the schema admits null.
// test/results/schema.test.ts checks that the committed file is what this gives.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { createGenerator } from 'ts-json-schema-generator';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_FILE = join(ROOT, 'schema', 'results.schema.json');

/** Every `type: number` (alone or in a list) also admits null. */
function numbersMayBeNull(node) {
  if (Array.isArray(node)) return node.map(numbersMayBeNull);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = numbersMayBeNull(v);
  if (out.type === 'number') out.type = ['number', 'null'];
  else if (Array.isArray(out.type) && out.type.includes('number') && !out.type.includes('null'))
    out.type = [...out.type, 'null'];
  return out;
}

export function resultsSchema() {
  const schema = createGenerator({
    path: join(ROOT, 'src', 'results', 'types.ts'),
    tsconfig: join(ROOT, 'tsconfig.json'),
    type: 'RunResult',
    topRef: false,
    // tsc type-checks the sources; the schema is the same without doing it again here.
    skipTypeCheck: true,
  }).createSchema('RunResult');
  return {
    ...numbersMayBeNull(schema),
    title: 'bench results.json',
    description:
      'One run of bench (bert-cpu-bench): config, environment, plan, every instance of every repetition with its raw latencies, and the figures across them. Generated from src/results/types.ts (npm run schema); a number that could not be measured is null.',
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const options = (await prettier.resolveConfig(SCHEMA_FILE)) ?? {};
  const text = await prettier.format(JSON.stringify(resultsSchema()), { ...options, filepath: SCHEMA_FILE });
  writeFileSync(SCHEMA_FILE, text);
  console.log(`wrote ${SCHEMA_FILE}`);
}
