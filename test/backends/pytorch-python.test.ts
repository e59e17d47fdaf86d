/**
 * The interpreter check's pure parts: which interpreters are tried, and what the libraries torch
 * loaded say about the speed to expect. No torch needed.
 */
import { describe, expect, it } from 'vitest';
import { blasWarnings, candidates, type TorchFacts } from '../../src/backends/pytorch/python.js';

const facts = (libs: string[]): TorchFacts => ({
  python: '/usr/bin/python3',
  python_version: '3.11.2',
  torch_version: '1.13.0',
  parallel_backend: 'OpenMP',
  blas_info: 'generic',
  blas_libraries: libs,
  mkldnn: true,
  quantized_engines: ['onednn'],
  build: '',
});

describe('the PyTorch interpreter check', () => {
  it('tries backend.python alone when set, else python3 on PATH and then /usr/bin/python3', () => {
    expect(candidates('/opt/py/bin/python')).toEqual(['/opt/py/bin/python']);
    expect(candidates(null)).toEqual(['python3', '/usr/bin/python3']);
  });

  it("warns about OpenBLAS's pthread build and about the reference BLAS, not about the OpenMP build", () => {
    const dir = '/usr/lib/x86_64-linux-gnu';
    expect(blasWarnings(facts([`${dir}/openblas-openmp/libblas.so.3`, `${dir}/libgomp.so.1`]))).toEqual([]);
    const pthread = blasWarnings(facts([`${dir}/openblas-pthread/libopenblasp-r0.3.21.so`]));
    expect(pthread).toHaveLength(1);
    expect(pthread[0]).toContain('update-alternatives --set libopenblas.so.0-x86_64-linux-gnu');
    const reference = blasWarnings(facts([`${dir}/blas/libblas.so.3`]));
    expect(reference).toHaveLength(1);
    expect(reference[0]).toContain('reference BLAS');
  });
});
