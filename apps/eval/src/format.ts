// Number formats of the commands' output.
import { either as E } from 'fp-ts';

/** Python's repr of a float (what print() shows for a numpy float64): 1 -> '1.0', 1e-6 -> '1e-06'. */
export function pyFloat(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const s = String(x);
  const exp = /^(-?[\d.]+)e([+-])(\d+)$/.exec(s);
  if (exp !== null) return `${exp[1]}e${exp[2]}${exp[3]!.padStart(2, '0')}`;
  return Number.isInteger(x) ? `${s}.0` : s;
}

export type RadiiError = { readonly kind: 'invalid-radii'; readonly message: string };

/** Parses '0,0.25,0.5' into radii (each a finite number >= 0); `name` is how the caller's user spells the list. */
export function parseRadii(text: string, name = 'radii'): E.Either<RadiiError, number[]> {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length === 0 || parts.every((p) => p === '')) return E.left({ kind: 'invalid-radii', message: `${name} must be a comma-separated list of radii >= 0, got '${text}'` });
  const radii = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(radii[i]) || radii[i]! < 0);
  if (bad >= 0) return E.left({ kind: 'invalid-radii', message: `${name}: '${parts[bad]}' is not a radius (a number >= 0); give e.g. 0,0.25,0.5,0.75,1` });
  return E.right(radii);
}
