// What a method kind is, as one table entry: its settings, its names, and how it plans and aggregates. The
// table (./table.ts) holds one entry per kind; everything that names, checks, plans or sorts methods asks it.
import type { z } from 'zod';

/**
 * How a method turns the votes of one noise draw into that draw's label. `reads` says what each vote hands
 * it: the classifier's label (one number per vote) or its class probabilities (`numClasses` numbers per vote,
 * vote-major). A draw's votes arrive in vote order; members sharing a chain family count its first K.
 */
export interface Aggregation {
  readonly name: string;
  readonly reads: 'labels' | 'probabilities';
  /** The draw's label from its votes. Deterministic and independent of how the votes were batched. */
  decide(votes: ArrayLike<number>, numClasses: number, scratch?: Int32Array): number;
  /**
   * More votes of one draw to run, given the votes so far, for members counting the first `memberVotes[m]`;
   * 0 once every member's label is fixed. Never more than a vote-by-vote stop would run.
   */
  votesStillNeeded(votes: ArrayLike<number>, memberVotes: readonly number[], numClasses: number, scratch?: Int32Array): number;
}

/** A reverse chain from x_t*: the full DDPM chain or `steps` respaced steps, spaced as `spacing` says. */
export interface ChainSpec {
  readonly steps: 'full' | number;
  readonly spacing: 'uniform' | 'densepure';
}

/** A draw's purified image: the one-shot x0 from x_t*, or vote 0 of a reverse chain from x_t*. */
export type Purification = { readonly from: 'one-shot' } | { readonly from: 'chain'; readonly chain: ChainSpec };

/**
 * Which of a method group's shared evaluations a method reads for each noise draw:
 * - `noisy`: the classifier on x + sigma * noise (no denoiser);
 * - `one-shot`: the classifier on the one-shot x0 from x_t* (one denoiser call at t*);
 * - `chains`: `votes` reverse chains from x_t*, each classified, aggregated into the draw's label. Methods with
 *   the same chain share its votes.
 * - `local`: local smoothing of the draw's purified image: `votes` copies of it with extra Gaussian noise of
 *   standard deviation `sigma` ([0, 1] pixel units), each classified, aggregated into the draw's label. The
 *   purified image is the one DDS (one-shot) or the chain's first vote classifies; methods with the same
 *   purification and `sigma` share the copies' votes.
 */
export type MethodReads =
  | { readonly from: 'noisy' }
  | { readonly from: 'one-shot' }
  | { readonly from: 'chains'; readonly chain: ChainSpec; readonly votes: number; readonly aggregation: Aggregation }
  | { readonly from: 'local'; readonly purified: Purification; readonly votes: number; readonly sigma: number; readonly aggregation: Aggregation };

/** The fields a method adds to a run's identity beside its slug; their names and values keep old runs resumable. */
export interface MethodIdentity {
  /** Votes per noise draw. */
  readonly K: number;
  /** The reverse chain's steps; null without a chain. */
  readonly steps: number | 'full' | null;
}

/** The methods, as data, that an entry describes: a tagged object whose `kind` is the entry's. */
export interface MethodShape {
  readonly kind: string;
}

/**
 * One method kind. `settings` is the one vocabulary for its settings (the names users know, defaults and
 * descriptions): the CLI turns it into flags, experiment files into a grid (a list value expands into one
 * method per value), and `fromSettings` into the method.
 */
export interface MethodEntry<M extends MethodShape = MethodShape> {
  readonly kind: M['kind'];
  /** Its settings; every key has a default or is required, `.describe()`d for help texts. */
  readonly settings: z.ZodObject;
  /** The method its checked settings (the output of `settings`) name. */
  fromSettings(settings: Readonly<Record<string, unknown>>): M;
  /** Whether it calls the diffusion model. */
  readonly needsDenoiser: boolean;
  /** File and identity name, e.g. `densepure-K5-b5`; `parseSlug` reads it back (null: not this kind's). */
  slug(m: M): string;
  parseSlug(slug: string): M | null;
  /** How its slugs look, for error messages: `densepure-K<votes>-<b<steps>|full>[-dp]`. */
  readonly slugPattern: string;
  /** Short name for tables and plot legends. */
  label(m: M): string;
  /** One sentence with the paper it follows, for sidecars and run summaries. */
  describe(m: M): string;
  /** Sort key among methods of this kind (kinds sort in table order). */
  order(m: M): readonly (number | string)[];
  /** Reverse runs (votes) per noise draw. */
  votes(m: M): number;
  identity(m: M): MethodIdentity;
  plan(m: M): MethodReads;
  /** Methods of this kind that its tests (and the table's) check: slugs round-trip, names, plans. */
  readonly examples: readonly [M, ...M[]];
}

/** An entry with its settings' output type spelled out, for the kind's own file. */
export type MethodDefinition<M extends MethodShape, S extends z.ZodObject> = Omit<MethodEntry<M>, 'settings' | 'fromSettings'> & {
  readonly settings: S;
  fromSettings(settings: z.output<S>): M;
};

/** An entry from its definition: the settings' output is what `fromSettings` gets, checked by the table. */
export const defineMethod = <M extends MethodShape, S extends z.ZodObject>(definition: MethodDefinition<M, S>): MethodEntry<M> => definition as unknown as MethodEntry<M>;

/** The method type of an entry. */
export type MethodOf<E> = E extends MethodEntry<infer M> ? M : never;
