// concurrently: images in flight at once, rows in index order, and honest times: each row's time is its image's
// share of the wall time, so the times add up to what the run took (not once per image in flight).
import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import type { CertifyRow } from './tsv.js';
import { type SchedulerContext, concurrently } from './schedule.js';

const row = (idx: number, seconds: number): CertifyRow => ({ idx, label: 0, predict: 0, radius: 0.5, correct: 1, seconds });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('concurrently', () => {
  it('emits in index order, and the rows\' times add up to the wall time however many images overlap', async () => {
    const emitted: CertifyRow[] = [];
    const pending = Array.from({ length: 8 }, (_, idx) => ({ idx, wanted: [0] }));
    const context = { pending, emit: (_idx: number, rows: readonly CertifyRow[]) => emitted.push(...rows) } as unknown as SchedulerContext;
    const started = performance.now();
    // Each image reports its own start-to-stop time, as a mode measures it: 4 in flight, ~200 ms each.
    const r = await concurrently(context, 4, async ({ idx }) => {
      const t = performance.now();
      await sleep(200 - idx * 10);
      return E.right({ rows: [row(idx, (performance.now() - t) / 1000)], costs: [] });
    });
    const wall = (performance.now() - started) / 1000;
    expect(E.isRight(r)).toBe(true);
    expect(emitted.map((x) => x.idx)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const total = emitted.reduce((s, x) => s + x.seconds, 0);
    // Start-to-stop times would add up to ~4x the wall time here.
    expect(total).toBeLessThanOrEqual(wall + 1e-3);
    expect(total).toBeGreaterThan(wall * 0.8);
    for (const x of emitted) expect(x.seconds).toBeLessThan(0.1);
  });
});
