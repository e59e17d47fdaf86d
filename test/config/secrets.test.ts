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
    // Quoted names resolve like bare ones.
    expect(secretVariables("${oc.env:'API_KEY'}")).toEqual(['API_KEY']);
    expect(secretVariables('${oc.env:"DB_KEY",x}')).toEqual(['DB_KEY']);
  });

  it('a key that copies a secret, or a string that embeds it, is redacted too', () => {
    const env = { HF_TOKEN: 'hf_abc123' };
    const raw = { tok: '${oc.env:HF_TOKEN}', copy: '${tok}', header: 'Bearer ${tok}', creds: { t: '${tok}' } };
    const resolved = { tok: 'hf_abc123', copy: 'hf_abc123', header: 'Bearer hf_abc123', creds: { t: 'hf_abc123' } };
    const out = redactSecrets(raw, resolved, env);
    expect(JSON.stringify(out)).not.toContain('hf_abc123');
    expect(out).toMatchObject({
      copy: '<redacted: ${oc.env:HF_TOKEN}>',
      header: 'Bearer <redacted: ${oc.env:HF_TOKEN}>',
    });
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
