import { describe, expect, it } from 'vitest';
import { canonicalJson, describeDifferences, identityDifferences, identitySha, runIdOf } from './identity.js';

describe('run identity', () => {
  it('hashes equal identities equally whatever the key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(identitySha({ a: 1, b: 2 })).toBe(identitySha({ b: 2, a: 1 }));
    expect(runIdOf({ a: 1 })).toMatch(/^[0-9a-f]{16}$/);
  });

  it('names every differing field with both values', () => {
    const run = { classifierSha256: 'aa', seed: 0, sigma: 0.25 };
    const worker = { classifierSha256: 'bb', seed: 0, sigma: 0.25, extra: true };
    const diffs = identityDifferences(run, worker);
    expect(diffs.map((d) => d.field)).toEqual(['classifierSha256', 'extra']);
    expect(describeDifferences(diffs)).toBe('classifierSha256: the run has "aa", this worker has "bb"; extra: the run has null, this worker has true');
  });
});
