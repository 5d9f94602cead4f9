// DensePure with soft voting: the K reverse runs of a draw from x_t* (as DensePure's), each classified, and the
// draw's label is the class of largest mean probability over the K runs instead of the most voted label.
import { DENSEPURE, type DensePureMethod } from './densepure.js';
import { type Aggregation, defineMethod } from './entry.js';

export type DensePureSoftMethod = Omit<DensePureMethod, 'kind'> & { readonly kind: 'densepure-soft' };

/**
 * Every answer below is exact: sums are taken in float64 over float32 probabilities, whose rounding error stays far
 * below this margin for any K a run can afford, so a draw stopped early gets the label all K votes would give.
 */
const MARGIN = 1e-6;

/** Each class's probability summed over the votes (`numClasses` numbers per vote, vote order). */
function classSums(votes: ArrayLike<number>, numClasses: number): Float64Array {
  const sums = new Float64Array(numClasses);
  for (let i = 0; i < votes.length; i++) sums[i % numClasses]! += votes[i]!;
  return sums;
}

/** The largest sum's class, ties to the smallest label (as the majority vote breaks ties). */
function leader(sums: Float64Array): number {
  let best = 0;
  for (let c = 1; c < sums.length; c++) if (sums[c]! > sums[best]!) best = c;
  return best;
}

/**
 * The fewest further votes after which the mean-probability winner of `left` more votes can be fixed; 0 when
 * it is fixed now. Each vote adds at most 1 to any class, so the leader L keeps it whatever comes once
 * S_L - S_c > left (plus the margin) for every other class c; the quickest way there gives each vote to L,
 * so no continuation fixes the winner in fewer votes than this.
 */
function votesToDecide(sums: Float64Array, left: number): number {
  const l = leader(sums);
  let challenger = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < sums.length; c++) if (c !== l) challenger = Math.max(challenger, sums[c]!);
  const gap = challenger + left + MARGIN - sums[l]!;
  return gap < 0 ? 0 : Math.min(left, Math.floor(gap / 2) + 1);
}

export const SOFT_VOTE: Aggregation = {
  name: 'soft',
  reads: 'probabilities',
  decide: (votes, numClasses) => leader(classSums(votes, numClasses)),
  votesStillNeeded: (votes, memberVotes, numClasses) => {
    const done = votes.length / numClasses;
    const sums = classSums(votes, numClasses);
    let need = 0;
    for (const k of memberVotes) if (k > done) need = Math.max(need, votesToDecide(sums, k - done));
    return need;
  },
};

const asDensePure = (m: DensePureSoftMethod): DensePureMethod => ({ ...m, kind: 'densepure' });

export const DENSEPURE_SOFT = defineMethod<DensePureSoftMethod, typeof DENSEPURE.settings>({
  kind: 'densepure-soft',
  // DensePure's settings (K, steps, spacing), its reverse chains and their sharing; only the aggregation differs.
  settings: DENSEPURE.settings,
  fromSettings: (s) => ({ ...DENSEPURE.fromSettings(s), kind: 'densepure-soft' }),
  needsDenoiser: true,
  slug: (m) => DENSEPURE.slug(asDensePure(m)).replace(/^densepure-/, 'densepure-soft-'),
  parseSlug: (slug) => {
    const m = slug.startsWith('densepure-soft-') ? DENSEPURE.parseSlug(slug.replace(/^densepure-soft-/, 'densepure-')) : null;
    return m === null ? null : { ...m, kind: 'densepure-soft' };
  },
  slugPattern: 'densepure-soft-K<votes>-<b<steps>|full>[-dp]',
  label: (m) => DENSEPURE.label(asDensePure(m)).replace(/^DensePure/, 'DensePure soft vote'),
  describe: (m) => DENSEPURE.describe(asDensePure(m)).replace(/^DensePure: /, 'DensePure with soft voting (mean class probabilities): '),
  order: (m) => DENSEPURE.order(asDensePure(m)),
  votes: (m) => m.votes,
  identity: (m) => DENSEPURE.identity(asDensePure(m)),
  plan: (m) => ({ ...DENSEPURE.plan(asDensePure(m)), aggregation: SOFT_VOTE }),
  examples: [
    { kind: 'densepure-soft', votes: 5, steps: 2 },
    { kind: 'densepure-soft', votes: 10, steps: 'full', spacing: 'densepure' },
  ],
});
