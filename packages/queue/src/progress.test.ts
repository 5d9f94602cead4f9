import { describe, expect, it } from 'vitest';
import { ClusterMeter, formatClusterProgress } from './progress.js';

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
    expect(formatClusterProgress(p)).toBe('3/10 images, 7/20 jobs, 1.50 jobs/s, ETA 9s; a 1.00 jobs/s (2), b 2.0 s/job (1)');
  });
});
