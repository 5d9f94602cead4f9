// `densepure predict`: flags -> PredictSpec -> @densepure/runner runPredict.
import { either as E } from 'fp-ts';
import { type Outcome, runFailure, shippedCatalog } from '@densepure/app-kit';
import { methodSlug, runPredict } from '@densepure/runner';
import { type MethodFlags, type ModelFlags, baseSpecFromFlags, flagOf, methodFromFlags } from './flags.js';

export interface PredictFlags extends ModelFlags, MethodFlags {
  readonly N: number;
  readonly alpha: number;
  readonly out?: string;
}

export async function predictCommand(o: PredictFlags): Promise<Outcome> {
  const method = methodFromFlags(o);
  if (E.isLeft(method)) return method;
  const out = o.out ?? `results/predict-${methodSlug(method.right)}-sigma${o.sigma}.tsv`;
  const result = await runPredict(
    { ...baseSpecFromFlags(o), run: { method: method.right, out }, n: o.N, alpha: o.alpha },
    {
      onRow: (row, done, total) => process.stderr.write(`[${done}/${total}] idx ${row.idx} label ${row.label} predict ${row.predict}\n`),
      onNote: (line) => process.stderr.write(`${line}\n`),
    },
    shippedCatalog,
  )();
  if (E.isLeft(result)) return E.left(runFailure(result.left, flagOf));
  const { rows, accuracy, abstainRate } = result.right;
  process.stdout.write(`wrote ${result.right.out}: accuracy ${accuracy.toFixed(3)}, abstain rate ${abstainRate.toFixed(3)} over ${rows.length} images\n`);
  return E.right(undefined);
}
