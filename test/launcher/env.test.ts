import { describe, expect, it } from 'vitest';
import { childEnv } from '../../src/run/launch.js';

const thp = (on: boolean) => ({ launcher: { thp: on } }) as Parameters<typeof childEnv>[0];

describe('launcher.thp: the children ask glibc for transparent huge pages', () => {
  it('adds glibc.malloc.hugetlb=1 when on, nothing when off', () => {
    expect(childEnv(thp(true), {})).toEqual({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' });
    expect(childEnv(thp(false), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toEqual({});
  });

  it("keeps the user's other tunables and never overrides their own hugetlb choice", () => {
    expect(childEnv(thp(true), { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' })).toEqual({
      GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1',
    });
    expect(childEnv(thp(true), { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' })).toEqual({
      GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0',
    });
  });
});
