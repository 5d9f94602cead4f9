// partProblem: a worker checks each job against its run before computing it (a job edited in Redis, or one whose
// id was recomputed to match, could otherwise ask for any image, any methods or any number of draws).
import { describe, expect, it } from 'vitest';
import { partProblem } from './protocol.js';

const limits = { images: new Set([0, 700, 1400]), draws: 40, methods: 2, splittable: true };

describe('partProblem', () => {
  it('accepts the parts the coordinator makes', () => {
    expect(partProblem(700, { wanted: [0, 1] }, limits)).toBeNull();
    expect(partProblem(0, { wanted: [1], ranges: [{ first: 0, count: 10 }, { first: 10, count: 30 }] }, limits)).toBeNull();
  });

  it('says in words what does not fit, instead of failing inside the compute', () => {
    expect(partProblem(700, {}, limits)).toBe('it names no methods (wanted)');
    expect(partProblem(700, null, limits)).toBe('it has no part');
    expect(partProblem(5, { wanted: [0] }, limits)).toBe("image 5 is not in the run's slice of the dataset");
    expect(partProblem(700, { wanted: [0, 2] }, limits)).toMatch(/not distinct indices below the run's 2/);
    expect(partProblem(700, { wanted: [0, 0] }, limits)).toMatch(/not distinct indices/);
    expect(partProblem(700, { wanted: [0], ranges: [{ first: 0, count: 100_000_000 }] }, limits)).toBe("a draw range is not within the run's N0 + N = 40 draws");
    expect(partProblem(700, { wanted: [0], ranges: [{ first: -1, count: 5 }] }, limits)).toMatch(/not within/);
    expect(partProblem(700, { wanted: [0], ranges: Array.from({ length: 5 }, () => ({ first: 0, count: 40 })) }, limits)).toBe("its draw ranges ask for 200 draws, more than the run's N0 + N = 40");
    expect(partProblem(700, { wanted: [0], ranges: [{ first: 0, count: 10 }] }, { ...limits, splittable: false })).toMatch(/splits an image's draws/);
  });
});
