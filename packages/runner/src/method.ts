// A method as data (@densepure/voting's `Method`), and the one place that turns it into text: its slug (file and
// identity name), the slug read back, and its human descriptions. The CLI's default output name, eval's cell ids
// and the report's series names all come from here.
import { either as E } from 'fp-ts';
import type { Method } from '@densepure/voting';

export type { Method };

/** `smoothing`, `dds`, `densepure-K5-b5`, `densepure-K1-full`, `densepure-K10-b2-dp` (`-dp`: DensePure's own spacing). */
export const methodSlug = (m: Method): string =>
  m.kind === 'densepure' ? `densepure-K${m.votes}-${m.steps === 'full' ? 'full' : `b${m.steps}`}${m.spacing === 'densepure' ? '-dp' : ''}` : m.kind;

export type MethodSlugError = { readonly kind: 'unknown-method-slug'; readonly slug: string; readonly message: string };

const DENSEPURE_SLUG = /^densepure-K([1-9]\d*)-(full|b([1-9]\d*))(-dp)?$/;

/** The method a slug names; the inverse of {@link methodSlug}. */
export function parseMethodSlug(slug: string): E.Either<MethodSlugError, Method> {
  if (slug === 'smoothing' || slug === 'dds') return E.right({ kind: slug });
  const m = DENSEPURE_SLUG.exec(slug);
  if (m === null) {
    return E.left({ kind: 'unknown-method-slug', slug, message: `'${slug}' names no method: expected smoothing, dds or densepure-K<votes>-<b<steps>|full>[-dp]` });
  }
  return E.right({
    kind: 'densepure',
    votes: Number(m[1]),
    steps: m[2] === 'full' ? 'full' : Number(m[3]),
    ...(m[4] === undefined ? {} : { spacing: 'densepure' as const }),
  });
}

/** One sentence with the paper it follows, for sidecars and run summaries. */
export const describeMethod = (m: Method): string =>
  m.kind === 'smoothing'
    ? 'plain Gaussian smoothing (Cohen et al. 2019)'
    : m.kind === 'dds'
      ? 'diffusion denoised smoothing: one-shot denoise (Carlini et al. 2023)'
      : `DensePure: K=${m.votes} reverse runs, ${m.steps === 'full' ? 'full DDPM chain' : `${m.steps} respaced steps${m.spacing === 'densepure' ? " (DensePure's spacing)" : ''}`} (Xiao et al. 2023)`;

/** Short name for tables and plot legends. */
export const methodLabel = (m: Method): string =>
  m.kind === 'smoothing'
    ? 'Gaussian smoothing'
    : m.kind === 'dds'
      ? 'DDS (one-shot)'
      : `DensePure K=${m.votes}, ${m.steps === 'full' ? 'full chain' : `${m.steps} steps${m.spacing === 'densepure' ? ' (DensePure spacing)' : ''}`}`;

/** Reverse runs per noise draw: K for DensePure, 1 otherwise. */
export const votesOf = (m: Method): number => (m.kind === 'densepure' ? m.votes : 1);

/** Whether the method needs a diffusion model. */
export const needsDenoiser = (m: Method): boolean => m.kind !== 'smoothing';
