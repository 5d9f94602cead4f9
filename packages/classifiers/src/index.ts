import { either as E, taskEither as TE, function as F } from 'fp-ts';
import { type BackendError, type Classifier, type ClassifierMetadata, classifierProbabilities, givesProbabilities, shapeMismatch } from '@densepure/backend';
import { applyRangeAndNormalization, argmaxRows, greyToRgb, resizeBilinear } from './preprocess.js';
import { resizeBicubicAntialias } from './resize-bicubic.js';

export { softmaxRows } from '@densepure/backend';
export { applyRangeAndNormalization, argmaxRows, greyToRgb, resizeBilinear } from './preprocess.js';
export { resizeBicubicAntialias } from './resize-bicubic.js';

export interface TopK {
  readonly labels: readonly number[];
  readonly names: readonly string[];
  readonly probabilities: readonly number[];
}

/**
 * A classifier that takes images as the rest of densepure holds them — values in [0, 1], CHW at the dataset's
 * shape — and does what its manifest asks before running it: grey -> RGB, resize (bilinear, or bicubic with
 * antialias when the manifest says `resize: 'bicubic-antialias'`), value range,
 * mean/std normalisation.
 */
export interface ImageClassifier {
  readonly metadata: ClassifierMetadata;
  /** The [C, H, W] of the images this wrapper accepts. */
  readonly sourceShape: readonly [number, number, number];
  /** What the wrapper does to inputs, for logs and sidecars. */
  readonly preprocessing: readonly string[];
  /** The model's output as it is (B x numClasses): logits, unless `metadata.output` says otherwise. */
  logits(x01: Float32Array, batch: number): TE.TaskEither<BackendError, Float32Array>;
  /** argmax label per image of the model's output (ties: smallest label). */
  labels(x01: Float32Array, batch: number): TE.TaskEither<BackendError, Int32Array>;
  /**
   * Class probabilities, B x numClasses, each row summing to 1: softmax of logits, or the model's own
   * probabilities (`metadata.output`). A classifier with output 'scores' has none: `no-probabilities`, without
   * running the model.
   */
  probabilities(x01: Float32Array, batch: number): TE.TaskEither<BackendError, Float32Array>;
  /** The k most probable classes per image, from {@link probabilities}. */
  topK(x01: Float32Array, batch: number, k: number): TE.TaskEither<BackendError, TopK[]>;
}

const shapeText = (s: readonly number[]): string => `${s[0]}x${s[1]}x${s[2]}`;

/** Wraps a loaded classifier for images of `sourceShape`; refuses channel counts it cannot convert. */
export function wrapClassifier(classifier: Classifier, sourceShape: readonly [number, number, number]): E.Either<BackendError, ImageClassifier> {
  const meta = classifier.metadata;
  const [srcC, srcH, srcW] = sourceShape;
  const [dstC, dstH, dstW] = meta.inputShape;
  if (srcC !== dstC && !(srcC === 1 && dstC === 3)) {
    return E.left(
      shapeMismatch('x', `${dstC}-channel images for classifier ${meta.name}`, `${srcC}-channel images`, 'the dataset and classifier do not fit: pick a classifier trained on this kind of image'),
    );
  }
  const greyToColour = srcC === 1 && dstC === 3;
  const resize = srcH !== dstH || srcW !== dstW;
  const bicubic = meta.resize === 'bicubic-antialias';
  const steps = [
    ...(greyToColour ? ['grey -> rgb'] : []),
    ...(resize ? [`${bicubic ? 'bicubic (antialias)' : 'bilinear'} resize ${srcH}x${srcW} -> ${dstH}x${dstW}`] : []),
    ...(meta.valueRange[0] !== 0 || meta.valueRange[1] !== 1 ? [`[0,1] -> [${meta.valueRange.join(',')}]`] : []),
    ...(meta.normalization.appliedInGraph ? [] : [`normalize mean ${meta.normalization.mean.join(',')} std ${meta.normalization.std.join(',')}`]),
  ];

  const normalizes = !meta.normalization.appliedInGraph && (meta.normalization.mean.some((m) => m !== 0) || meta.normalization.std.some((v) => v !== 1));
  // (0 + 1 * x - 0) / 1 is x exactly: a [0, 1] model with no normalisation to apply needs no pass over the values.
  const rescale = meta.valueRange[0] !== 0 || meta.valueRange[1] !== 1 || normalizes;
  const identity = !greyToColour && !resize && !rescale;

  const prepare = (x01: Float32Array, batch: number): E.Either<BackendError, Float32Array> => {
    const per = srcC * srcH * srcW;
    if (!Number.isInteger(batch) || batch < 1 || x01.length !== batch * per) {
      return E.left(shapeMismatch('x', `${batch} images of ${shapeText(sourceShape)}`, `${x01.length} values`));
    }
    // Nothing to do (the shipped MNIST classifier): hand the caller's images over as they are, with no copy
    // and no pass over every value; backends only read their inputs.
    if (identity) return E.right(x01);
    let x = greyToColour ? greyToRgb(x01, batch, srcH * srcW) : Float32Array.from(x01);
    if (resize) x = (bicubic ? resizeBicubicAntialias : resizeBilinear)(x, batch, dstC, srcH, srcW, dstH, dstW);
    if (rescale) applyRangeAndNormalization(x, batch, dstC, dstH * dstW, meta.valueRange, meta.normalization);
    return E.right(x);
  };

  const logits = (x01: Float32Array, batch: number): TE.TaskEither<BackendError, Float32Array> =>
    F.pipe(TE.fromEither(prepare(x01, batch)), TE.flatMap((x) => classifier.run(x, batch)));

  const probabilities = (x01: Float32Array, batch: number): TE.TaskEither<BackendError, Float32Array> =>
    F.pipe(
      TE.fromEither(givesProbabilities(meta)),
      TE.flatMap(() => logits(x01, batch)),
      TE.flatMap((out) => TE.fromEither(classifierProbabilities(meta, out, batch))),
    );

  return E.right({
    metadata: meta,
    sourceShape,
    preprocessing: steps,
    logits,
    labels: (x01, batch) => F.pipe(logits(x01, batch), TE.map((l) => argmaxRows(l, batch, meta.numClasses))),
    probabilities,
    topK: (x01, batch, k) =>
      F.pipe(
        probabilities(x01, batch),
        TE.map((probs) =>
          Array.from({ length: batch }, (_, b) => {
            const row = Array.from(probs.subarray(b * meta.numClasses, (b + 1) * meta.numClasses));
            const order = row.map((p, i) => [p, i] as const).sort((a, z) => z[0] - a[0] || a[1] - z[1]).slice(0, Math.max(1, k));
            return {
              labels: order.map(([, i]) => i),
              names: order.map(([, i]) => meta.classNames[i] ?? String(i)),
              probabilities: order.map(([p]) => p),
            };
          }),
        ),
      ),
  });
}
