import { either as E } from 'fp-ts';
import { type BackendError, nonFiniteInput, shapeMismatch } from './errors.js';
import type { ModelMetadata } from './types.js';

const shapeText = (shape: readonly (number | string)[]): string => `[${shape.join(',')}]`;

/** The first non-finite value's index, or -1. A plain loop: this runs on every batch. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (!Number.isFinite(v)) return i;
  }
  return -1;
}

/**
 * Checks an image batch against a model's [C,H,W] input: length divisible into `batch` images of the right size,
 * finite values. Returns the batch size.
 */
export function checkImageBatch(
  tensor: string,
  x: Float32Array,
  batch: number,
  meta: Pick<ModelMetadata, 'inputShape'>,
): E.Either<BackendError, number> {
  const [c, h, w] = meta.inputShape;
  const per = c * h * w;
  if (!Number.isInteger(batch) || batch < 1) {
    return E.left(shapeMismatch(tensor, 'a batch size >= 1', String(batch)));
  }
  if (x.length !== batch * per) {
    const actual = x.length % per === 0 ? shapeText([x.length / per, c, h, w]) : `${x.length} values`;
    return E.left(
      shapeMismatch(tensor, shapeText([batch, c, h, w]), actual, `the model takes ${c}x${h}x${w} images; resize or pick a matching model`),
    );
  }
  const bad = firstNonFinite(x);
  if (bad >= 0) return E.left(nonFiniteInput(tensor, bad, x[bad] as number));
  return E.right(batch);
}

/** Checks timesteps: one integer per batch item, each in [0, T). */
export function checkTimesteps(timesteps: ArrayLike<number>, batch: number, T: number): E.Either<BackendError, void> {
  if (timesteps.length !== batch) {
    return E.left(shapeMismatch('t', shapeText([batch]), shapeText([timesteps.length]), 'one timestep per image'));
  }
  for (let i = 0; i < timesteps.length; i++) {
    const t = timesteps[i] as number;
    if (!Number.isInteger(t) || t < 0 || t >= T) {
      return E.left(shapeMismatch('t', `integers in [0, ${T})`, `${t} at index ${i}`));
    }
  }
  return E.right(undefined);
}
