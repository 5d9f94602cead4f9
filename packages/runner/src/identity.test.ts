import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, describe, expect, it } from 'vitest';
import { identityDifferences, inspectPriorRun, specIdentity } from './identity.js';
import { COHEN_HEADER } from './tsv.js';

const work = mkdtempSync(join(tmpdir(), 'densepure-identity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const spec = { sigma: 0.5, n0: 10, n: 40, alpha: 0.001, seed: 0, dataset: { spec: 'default', skip: 400 }, models: {} };

describe('run identity and the resume check', () => {
  it('a spec identity names the method by its slug and leaves out what needs the models', () => {
    expect(specIdentity(spec, { kind: 'densepure', votes: 2, steps: 2, spacing: 'densepure' })).toEqual({
      method: 'densepure-K2-b2-dp', sigma: 0.5, N0: 10, N: 40, alpha: 0.001, skip: 400, max: null, K: 2, steps: 2, seed: 0, variance: 'auto',
    });
    expect(specIdentity({ ...spec, models: { backend: 'tfjs' } }, { kind: 'dds' })).toMatchObject({ method: 'dds', K: 1, steps: null, backend: 'tfjs' });
  });

  it("DiffSmooth's settings are in its slug: runs with another m, sigma_l or purification never resume each other", () => {
    const ds = { kind: 'diffsmooth', purification: 'one-shot', m: 5, sigmaL: 0.25 } as const;
    expect(specIdentity(spec, ds)).toMatchObject({ method: 'diffsmooth-one-shot-m5-sl0.25', K: 5, steps: null });
    expect(specIdentity(spec, { ...ds, purification: 2, spacing: 'densepure' })).toMatchObject({ method: 'diffsmooth-b2-dp-m5-sl0.25', K: 5, steps: 2 });
    const before = specIdentity(spec, ds);
    expect(identityDifferences(before, specIdentity(spec, { ...ds, sigmaL: 0.12 }))).toEqual([{ key: 'method', before: 'diffsmooth-one-shot-m5-sl0.25', after: 'diffsmooth-one-shot-m5-sl0.12' }]);
    expect(identityDifferences(before, specIdentity(spec, { ...ds, m: 7 })).map((d) => d.key)).toEqual(['method', 'K']);
    expect(identityDifferences(before, specIdentity(spec, { ...ds, localVote: 'soft' })).map((d) => d.key)).toEqual(['method']);
  });

  it("records a t* rule other than the default, so a resume with another rule is refused and old runs keep their identity", () => {
    expect(specIdentity({ ...spec, timestepRule: 'nearest' }, { kind: 'dds' })).toEqual(specIdentity(spec, { kind: 'dds' }));
    expect(specIdentity({ ...spec, timestepRule: 'densepure' }, { kind: 'dds' })).toMatchObject({ tStarRule: 'densepure' });
    const before = specIdentity(spec, { kind: 'dds' });
    const after = specIdentity({ ...spec, timestepRule: 'dds' }, { kind: 'dds' });
    expect(identityDifferences(before, after)).toEqual([{ key: 'tStarRule', before: undefined, after: 'dds' }]);
  });

  it('compares all keys, or only the wanted ones when partial', () => {
    expect(identityDifferences({ a: 1, b: 2 }, { a: 1 })).toEqual([{ key: 'b', before: 2, after: undefined }]);
    expect(identityDifferences({ a: 1, b: 2 }, { a: 1 }, true)).toEqual([]);
    expect(identityDifferences({ a: 1 }, { a: 2 }, true)).toEqual([{ key: 'a', before: 1, after: 2 }]);
  });

  it('reads what an earlier run left: nothing, a foreign file, another configuration, a complete run', () => {
    const want = specIdentity(spec, { kind: 'dds' });
    expect(inspectPriorRun(join(work, 'none.tsv'), want)).toEqual(E.right({ kind: 'none' }));
    const foreign = join(work, 'foreign.tsv');
    writeFileSync(foreign, `${COHEN_HEADER}\n`);
    expect(E.isLeft(inspectPriorRun(foreign, want)) && inspectPriorRun(foreign, want)).toMatchObject({ left: { kind: 'not-a-run' } });
    const done = join(work, 'done.tsv');
    writeFileSync(done, `${COHEN_HEADER}\n0\t1\t1\t0.5\t1\t0:00:01\n`);
    writeFileSync(`${done}.json`, JSON.stringify({ status: 'complete', identity: { ...want, backend: 'onnx' }, rows: 1, of: 1 }));
    const complete = inspectPriorRun(done, want, true);
    expect(E.isRight(complete) && complete.right.kind).toBe('complete');
    const changed = inspectPriorRun(done, { ...want, N: 50 }, true);
    expect(E.isLeft(changed) && changed.left.message).toMatch(/another configuration \(N: 40 -> 50\)/);
    // Full: a stored key the new identity lacks is a difference too.
    expect(E.isLeft(inspectPriorRun(done, want))).toBe(true);
  });
});
