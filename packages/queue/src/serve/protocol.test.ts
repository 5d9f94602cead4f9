import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { type DrawsPart, type ServeRunSpec, checkDrawsPart, parseDrawsAnswer } from './protocol.js';

const spec: ServeRunSpec = {
  purpose: 'serve',
  shape: [1, 4, 4],
  numClasses: 10,
  batch: 8,
  backend: 'onnx',
  limits: { maxDraws: 1000, maxDrawsPerJob: 100, maxVotes: 4, maxSigma: 1 },
};
const good: DrawsPart = { image: new Array<number>(16).fill(0.5), method: 'dds', sigma: 0.5, seed: 3, index: 7, first: 900, count: 100 };
const problem = (change: Record<string, unknown>, hasDenoiser = true): string => {
  const checked = checkDrawsPart({ ...good, ...change }, spec, hasDenoiser);
  return E.isLeft(checked) ? checked.left : 'fits';
};

describe('a worker checks each draws job of a serve run before computing it', () => {
  it('takes a job within the run: the image as float32, the method from the table', () => {
    const checked = checkDrawsPart(good, spec, true);
    expect(E.isRight(checked) && { pixels: checked.right.image.length, kind: checked.right.method.kind, first: checked.right.first }).toEqual({ pixels: 16, kind: 'dds', first: 900 });
  });

  it.each([
    [{ image: new Array<number>(15).fill(0.5) }, /its image is not 16 numbers \(1x4x4\), it has 15/],
    [{ image: 'x' }, /its image is not 16 numbers .* it has none/],
    [{ image: [...good.image.slice(0, 3), Number.NaN, ...good.image.slice(4)] }, /its pixel 3 is null, not a finite number in \[0, 1\]/],
    [{ image: [...good.image.slice(0, 5), 1.5, ...good.image.slice(6)] }, /its pixel 5 is 1.5, not a finite number in \[0, 1\]/],
    [{ image: [...good.image.slice(0, 1), '0.5', ...good.image.slice(2)] }, /its pixel 1 is "0.5"/],
    [{ method: 'densepure-K9-b5' }, /9 votes per draw, above the run's cap of 4/],
    [{ method: 'bogus' }, /its method: 'bogus' names no method/],
    [{ method: 7 }, /names no method/],
    [{ sigma: 1.5 }, /its sigma 1.5 is not in \(0, 1\]/],
    [{ sigma: 0 }, /its sigma 0 is not in/],
    [{ seed: -1 }, /its seed -1 is not a whole number/],
    [{ index: 0.5 }, /its index 0.5 is not a whole number/],
    [{ count: 101 }, /its draw count 101 is not in \[1, 100\]/],
    [{ count: 0 }, /its draw count 0 is not in/],
    [{ first: 901 }, /its draws 901 \+ 100 reach beyond the run's cap of 1000 draws/],
    [{ first: -1 }, /reach beyond/],
  ])('refuses %j', (change, reason) => {
    expect(problem(change)).toMatch(reason);
  });

  it('refuses a method that needs a denoiser on a run without one', () => {
    expect(problem({}, false)).toMatch(/its method dds needs a denoiser and the run has none/);
    expect(problem({ method: 'smoothing' }, false)).toBe('fits');
  });

  it('takes only answers that are vote counts of the job', () => {
    const counts = [0, 60, 40, 0, 0, 0, 0, 0, 0, 0];
    expect(parseDrawsAnswer({ counts, evaluations: { denoiser: 100, classifier: 100 } }, 100, 10)).toEqual({ counts, evaluations: { denoiser: 100, classifier: 100 } });
    expect(parseDrawsAnswer({ counts, evaluations: { denoiser: 100, classifier: 100 } }, 99, 10)).toBeNull();
    expect(parseDrawsAnswer({ counts: counts.slice(1), evaluations: { denoiser: 1, classifier: 1 } }, 100, 10)).toBeNull();
    expect(parseDrawsAnswer({ counts }, 100, 10)).toBeNull();
    expect(parseDrawsAnswer('x', 100, 10)).toBeNull();
  });
});
