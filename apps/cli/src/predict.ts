// `densepure predict`: flags -> PredictSpec -> @densepure/runner runPredict.
import { methodSlug, orFail, runPredict } from '@densepure/runner';
import { type MethodFlags, type ModelFlags, baseSpecFromFlags, flagOf, methodFromFlags, must } from './flags.js';

export interface PredictFlags extends ModelFlags, MethodFlags {
  readonly N: number;
  readonly alpha: number;
  readonly out?: string;
}

export async function predictCommand(o: PredictFlags): Promise<void> {
  const method = must(methodFromFlags(o));
  const out = o.out ?? `results/predict-${methodSlug(method)}-sigma${o.sigma}.tsv`;
  const result = orFail(
    await runPredict({ ...baseSpecFromFlags(o), run: { method, out }, n: o.N, alpha: o.alpha }, {
      onRow: (row, done, total) => process.stderr.write(`[${done}/${total}] idx ${row.idx} label ${row.label} predict ${row.predict}\n`),
      onNote: (line) => process.stderr.write(`${line}\n`),
    })(),
    flagOf,
  );
  const n = result.rows.length;
  process.stdout.write(`wrote ${result.out}: accuracy ${result.accuracy.toFixed(3)}, abstain rate ${result.abstainRate.toFixed(3)} over ${n} images\n`);
}
