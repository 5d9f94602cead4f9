import { either as E } from 'fp-ts';
import { describe, expect, it } from 'vitest';
import { parseMethodSettings } from '@densepure/runner';
import type { InferInput } from './protocol.js';
import { DEFAULT_LIMITS, type RequestDefaults, checkImage, checkParameters } from './request.js';

const dds = parseMethodSettings('dds', {});
if (E.isLeft(dds)) throw new Error(dds.left.message);
const defaults: RequestDefaults = { method: dds.right, sigma: 0.5, n0: 100, n: 1000, alpha: 0.001 };
const model = { shape: [1, 4, 4] as const, hasDenoiser: true };
const image = (over: Partial<InferInput> = {}): InferInput => ({ name: 'input', shape: [1, 1, 4, 4], datatype: 'FP32', data: new Array<number>(16).fill(0.5), ...over });
const parameters = (raw: Record<string, string | number | boolean>) => checkParameters(raw, defaults, model, DEFAULT_LIMITS, () => 42);
const message = (got: E.Either<{ message: string }, unknown>): string => (E.isLeft(got) ? got.left.message : 'accepted');

describe('the image tensor', () => {
  it('takes one FP32 image of the model shape, with or without the batch of one', () => {
    expect(E.isRight(checkImage([image()], model))).toBe(true);
    expect(E.isRight(checkImage([image({ shape: [1, 4, 4] })], model))).toBe(true);
  });

  it.each([
    [[], 'exactly one input tensor'],
    [[image(), image()], 'exactly one input tensor'],
    [[image({ datatype: 'INT8' })], "datatype must be FP32"],
    [[image({ shape: [2, 1, 4, 4], data: new Array<number>(32).fill(0) })], 'one image per request'],
    [[image({ shape: [1, 3, 4, 4] })], 'shape must be [1, 1, 4, 4]'],
    [[image({ data: new Array<number>(15).fill(0) })], 'must hold 16 numbers'],
    [[image({ data: [...new Array<number>(15).fill(0), 1.5] })], 'pixel 15 is 1.5'],
    [[image({ data: [Number.NaN, ...new Array<number>(15).fill(0)] })], 'pixel 0 is NaN'],
    [[image({ data: [-0.1, ...new Array<number>(15).fill(0)] })], 'in [0, 1]'],
  ])('refuses %#: %s', (inputs, expected) => {
    expect(message(checkImage(inputs as InferInput[], model))).toContain(expected);
  });
});

describe('the parameters', () => {
  it('fill in the defaults: PREDICT without radii, sequential with them, a fresh seed when none is given', () => {
    const plain = parameters({});
    expect(plain).toEqual(E.right(expect.objectContaining({ mode: { kind: 'predict' }, sigma: 0.5, n: 1000, seed: 42, index: 0 })));
    const sequential = parameters({ max_radius: 1, seed: 7, index: 200 });
    expect(sequential).toEqual(E.right(expect.objectContaining({ mode: { kind: 'sequential', radii: [0.25, 0.5, 0.75, 1] }, seed: 7, index: 200 })));
    expect(parameters({ radii: '0.5,1', method: 'densepure', K: 3, steps: 2 })).toEqual(
      E.right(expect.objectContaining({ mode: { kind: 'sequential', radii: [0.5, 1] }, method: expect.objectContaining({ kind: 'densepure', votes: 3, steps: 2 }) })),
    );
  });

  it.each([
    [{ nonsense: 1 }, "unknown parameter 'nonsense'"],
    [{ method: 'magic' }, 'parameter method must be one of'],
    [{ method: 'dds', K: 3 }, "dds takes no setting 'K'"],
    [{ method: 'densepure', K: 0 }, 'densepure: K'],
    [{ method: 'densepure', K: 100 }, "above this server's cap of 32"],
    [{ sigma: -1 }, 'parameter sigma must be a number in'],
    [{ sigma: 'big' }, 'parameter sigma must be a number'],
    [{ alpha: 1e-9 }, 'parameter alpha must be a number in [0.000001'],
    [{ n: 1.5 }, 'parameter n must be a whole number'],
    [{ n0: 200_000 }, 'parameter n0 must be a whole number in [1, 100000]'],
    [{ n0: 60_000, n: 60_000, radii: '0.25' }, "n0 + n = 120000 draws is above this server's cap of 100000"],
    [{ n0: 500, n: 100, mode: 'fixed' }, 'n0 (500) must not exceed n (100)'],
    [{ seed: -1 }, 'parameter seed must be a whole number'],
    [{ index: 2 ** 40 }, 'parameter index must be a whole number'],
    [{ deadline_ms: 10_000_000 }, 'parameter deadline_ms must be a whole number in [1, 600000]'],
    [{ radii: '0.5,,1' }, 'parameter radii must be a comma-separated list'],
    [{ radii: '1,0.5' }, 'radii'],
    [{ radii: '0.25', max_radius: 1 }, 'not both'],
    [{ radii: new Array<string>(17).fill('1').join(',') }, "cap of 16"],
    [{ max_radius: 5, n: 100 }, 'max_radius'],
    [{ mode: 'sequential' }, 'mode sequential needs the radii'],
    [{ mode: 'predict', radii: '0.5' }, 'apply to mode sequential, not predict'],
    [{ mode: 'cascade' }, 'parameter mode must be sequential, fixed or predict'],
  ])('refuses %j: %s', (raw, expected) => {
    expect(message(parameters(raw as Record<string, string | number | boolean>))).toContain(expected);
  });

  it('refuses a method that needs a diffusion model when the server has none', () => {
    expect(message(checkParameters({ method: 'dds' }, defaults, { ...model, hasDenoiser: false }, DEFAULT_LIMITS, () => 0))).toContain('use method smoothing');
  });
});
