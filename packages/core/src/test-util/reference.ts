// Test helpers: load tools/reference/core/reference.json (written by make_reference.py) and compare numbers.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const REF: Json = JSON.parse(
  readFileSync(new URL('../../../../tools/reference/core/reference.json', import.meta.url), 'utf8'),
);

/** JSON value -> number ("Infinity", "-Infinity", "NaN" strings are non-finite floats). */
export function dec(v: number | string): number {
  return typeof v === 'string' ? Number(v) : v;
}

/** |actual - expected| <= rel * |expected| + abs; non-finite values must match exactly. */
export function expectClose(actual: number, expected: number | string, rel = 1e-12, abs = 0, what = ''): void {
  const e = dec(expected);
  if (!Number.isFinite(e) || !Number.isFinite(actual)) {
    expect(Object.is(actual, e) || actual === e, `${what}: ${actual} vs ${e}`).toBe(true);
    return;
  }
  const tol = rel * Math.abs(e) + abs;
  expect(Math.abs(actual - e) <= tol, `${what}: ${actual} vs ${e} (diff ${Math.abs(actual - e)}, tol ${tol})`).toBe(true);
}
