/**
 * A secret-looking environment variable read by the config is never written resolved.
 */
import { describe, expect, it } from 'vitest';
import { redactSecrets, secretVariables } from '../../src/config/secrets.js';

describe('secret-looking environment variables', () => {
  it('are recognised by name', () => {
    expect(secretVariables('${oc.env:HF_TOKEN}')).toEqual(['HF_TOKEN']);
    expect(secretVariables('Bearer ${oc.env:API_KEY,none}')).toEqual(['API_KEY']);
    expect(secretVariables('${oc.env:DB_PASSWORD}')).toEqual(['DB_PASSWORD']);
    expect(secretVariables('${oc.env:HOME}')).toEqual([]);
    expect(secretVariables('${oc.env:KEYBOARD_LAYOUT}')).toEqual([]);
    expect(secretVariables(3)).toEqual([]);
  });

  it('their values are replaced by the interpolation, at any depth; others stay resolved', () => {
    const raw = {
      model: { id: '${oc.env:MODEL_ID}', token: '${oc.env:HF_TOKEN}' },
      list: ['${oc.env:SECRET_A}', 'plain'],
      batch_size: 1,
    };
    const resolved = { model: { id: 'org/bert', token: 'hf_abc123' }, list: ['s3cr3t', 'plain'], batch_size: 1 };
    const out = JSON.stringify(redactSecrets(raw, resolved));
    expect(out).not.toContain('hf_abc123');
    expect(out).not.toContain('s3cr3t');
    expect(redactSecrets(raw, resolved)).toEqual({
      model: { id: 'org/bert', token: '<redacted: ${oc.env:HF_TOKEN}>' },
      list: ['<redacted: ${oc.env:SECRET_A}>', 'plain'],
      batch_size: 1,
    });
  });
});
