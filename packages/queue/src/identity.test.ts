import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { parseQueueUrl } from './connection.js';
import { canonicalJson, describeDifferences, identityDifferences, identitySha, runIdOf } from './identity.js';
import { ClusterMeter, formatClusterProgress } from './progress.js';

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

describe('queue address', () => {
  it('parses redis:// URLs and hides the password', () => {
    const c = parseQueueUrl('redis://user:s3cret@10.0.0.5:6380/2');
    expect(E.isRight(c) && c.right).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2, username: 'user', password: 's3cret', tls: false });
    expect(E.isRight(c) && c.right.url).not.toContain('s3cret');
    expect(E.isRight(parseQueueUrl('rediss://h')) && parseQueueUrl('rediss://h')).toMatchObject({ right: { port: 6379, db: 0, tls: true } });
  });

  it('explains what is wrong with a bad address', () => {
    for (const bad of ['localhost:6379', 'http://h:1/0', 'redis://h:1/x', 'redis://h:1/0?a=1']) {
      const r = parseQueueUrl(bad);
      expect(E.isLeft(r) && r.left).toMatchObject({ kind: 'queue-url-invalid' });
      expect(E.isLeft(r) && r.left.message).toContain('redis://HOST:PORT/DB');
    }
  });
});

describe('cluster progress', () => {
  it('counts jobs and items, per-worker rates and an ETA from this session', () => {
    const m = new ClusterMeter(10, 20, 2, 4, 0);
    expect(m.snapshot(1000).etaSeconds).toBeNull();
    m.jobDone('a', 1, 1000);
    m.jobDone('b', 2, 2000);
    m.jobDone('a', 1, 2000);
    m.itemDone();
    const p = m.snapshot(2000);
    expect(p).toMatchObject({ itemsDone: 3, itemsTotal: 10, jobsDone: 7, jobsTotal: 20, jobsPerSecond: 1.5 });
    expect(p.etaSeconds).toBeCloseTo(13 / 1.5);
    expect(p.workers.map((w) => [w.worker, w.jobs, w.jobsPerSecond])).toEqual([
      ['a', 2, 1],
      ['b', 1, 0.5],
    ]);
    expect(formatClusterProgress(p)).toMatch(/^3\/10 images, 7\/20 jobs, 1\.50 jobs\/s, ETA 9s; a 1\.00\/s \(2\), b 0\.50\/s \(1\)$/);
  });
});
