import { taskEither as TE, function as F } from 'fp-ts';
import type { BackendError } from './errors.js';
import type { Classifier, Denoiser } from './types.js';
import { firstNonFinite } from './validate.js';

const SMOKE_BATCH = 2;

/** What one smoke run saw; the run itself already checked every shape against the manifest. */
export interface SmokeReport {
  readonly batch: number;
  readonly outputValues: number;
}

/**
 * Runs a loaded model once on a small deterministic input inside its value range (denoisers at mid-range
 * timesteps) and checks that every output is finite. Loading checks the graph against the manifest; this checks
 * that it also computes.
 */
export function smokeRun(model: Denoiser | Classifier): TE.TaskEither<BackendError, SmokeReport> {
  const meta = model.metadata;
  const [c, h, w] = meta.inputShape;
  const [lo, hi] = meta.valueRange;
  const x = Float32Array.from({ length: SMOKE_BATCH * c * h * w }, (_, i) => lo + ((hi - lo) * ((i * 2654435761) % 1000)) / 1000);
  const nonFinite = (name: string, values: Float32Array): BackendError | null => {
    const bad = firstNonFinite(values);
    return bad < 0
      ? null
      : { kind: 'runtime-failure', message: `model ${meta.modelPath} output ${name} holds ${values[bad]} at index ${bad} on an input inside its value range; the model or its export is broken (fp16 overflow? missing weights?)` };
  };
  if (meta.kind === 'denoiser') {
    const T = meta.diffusion.T;
    const t = Int32Array.from({ length: SMOKE_BATCH }, (_, i) => Math.floor((T * (1 + i)) / (SMOKE_BATCH + 2)));
    return F.pipe(
      (model as Denoiser).run(x, t),
      TE.flatMap((out) => {
        const err = nonFinite('eps', out.eps) ?? (out.v === null ? null : nonFinite('v', out.v));
        return err === null ? TE.right({ batch: SMOKE_BATCH, outputValues: out.eps.length + (out.v?.length ?? 0) }) : TE.left(err);
      }),
    );
  }
  return F.pipe(
    (model as Classifier).run(x, SMOKE_BATCH),
    TE.flatMap((logits) => {
      const err = nonFinite('logits', logits);
      return err === null ? TE.right({ batch: SMOKE_BATCH, outputValues: logits.length }) : TE.left(err);
    }),
  );
}
