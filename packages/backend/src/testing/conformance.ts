import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendError } from '../errors.js';
import { classifierProbabilities, softmaxRows } from '../outputs.js';
import { loadClassifier, loadDenoiser } from '../index.js';
import { getBackend } from '../registry.js';
import type { Classifier, Denoiser, LoadOptions } from '../types.js';
import {
  TINY_CLASSES,
  TINY_PIXELS,
  type TinyModelPaths,
  tinyClassifierBias,
  tinyClassifierWeight,
  writeTinyModels,
} from './tiny-models.js';
import { maxAbsDiff, seeded } from './values.js';

/** A real model the suite also runs (e.g. the shipped zoo): only shape/batch invariance is checked on it. */
export interface ConformanceModel {
  readonly label: string;
  readonly denoiser?: string;
  readonly classifier?: string;
}

export interface ConformanceOptions {
  readonly loadOptions?: LoadOptions;
  readonly models?: readonly ConformanceModel[];
  /** Tolerance for comparing a batch with the same items run one by one (kernels may batch differently). */
  readonly batchTolerance?: number;
}

const expectRight = <A>(result: E.Either<BackendError, A>): A => {
  if (E.isLeft(result)) throw new Error(`expected success, got ${result.left.kind}: ${result.left.message}`);
  return result.right;
};

const expectLeft = <A>(result: E.Either<BackendError, A>, kind: BackendError['kind']): BackendError => {
  if (E.isRight(result)) throw new Error(`expected a '${kind}' error, but the call succeeded`);
  expect(result.left.kind, result.left.message).toBe(kind);
  expect(result.left.message.length).toBeGreaterThan(10);
  return result.left;
};

/**
 * The backend contract as tests. A backend package calls this from one of its test files after importing
 * itself (so it is registered): `describeBackendConformance('onnx')`. Tiny ONNX models are built in code; real
 * models passed in `options.models` get the shape and batch-invariance checks too.
 */
export function describeBackendConformance(backendName: string, options: ConformanceOptions = {}): void {
  const load = { ...options.loadOptions, backend: backendName };
  const tol = options.batchTolerance ?? 1e-5;

  describe(`backend conformance: ${backendName}`, () => {
    let dir = '';
    let paths: TinyModelPaths;
    let denoiser: Denoiser;
    let classifier: Classifier;

    beforeAll(async () => {
      expect(getBackend(backendName), `backend '${backendName}' must be registered by importing its package`).toBeDefined();
      dir = await mkdtemp(join(tmpdir(), `densepure-conformance-${backendName}-`));
      paths = await writeTinyModels(dir);
      denoiser = expectRight(await loadDenoiser(paths.denoiser, load)());
      classifier = expectRight(await loadClassifier(paths.classifier, load)());
    });

    afterAll(async () => {
      await denoiser?.dispose();
      await classifier?.dispose();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('probe reports a runtime', async () => {
      const probe = await getBackend(backendName)!.probe();
      expect(probe.available).toBe(true);
      expect(probe.runtime.length).toBeGreaterThan(0);
    });

    it('denoiser metadata comes from the manifest', () => {
      const m = denoiser.metadata;
      expect(m.kind).toBe('denoiser');
      expect(m.backend).toBe(backendName);
      expect(m.inputShape).toEqual([1, 4, 4]);
      expect(m.learnedVariance).toBe(true);
      expect(m.valueRange).toEqual([-1, 1]);
      expect(m.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(m.runtime.length).toBeGreaterThan(0);
    });

    it('denoiser computes eps and v with the right shapes, dtypes and values', async () => {
      const batch = 3;
      const x = seeded(batch * TINY_PIXELS, 1);
      const t = [0, 145, 999];
      const out = expectRight(await denoiser.run(x, t)());
      expect(out.eps).toBeInstanceOf(Float32Array);
      expect(out.eps.length).toBe(batch * TINY_PIXELS);
      expect(out.v).toBeInstanceOf(Float32Array);
      expect(out.v!.length).toBe(batch * TINY_PIXELS);
      for (let i = 0; i < x.length; i++) expect(out.eps[i]).toBeCloseTo(0.5 * x[i]!, 6);
      for (let b = 0; b < batch; b++) expect(out.v![b * TINY_PIXELS + 5]).toBeCloseTo(t[b]! / 1000, 6);
    });

    it('denoiser without learned variance returns v = null', async () => {
      const fixed = expectRight(await loadDenoiser(paths.denoiserFixedVariance, load)());
      try {
        expect(fixed.metadata.learnedVariance).toBe(false);
        const out = expectRight(await fixed.run(seeded(TINY_PIXELS, 2), [10])());
        expect(out.v).toBeNull();
        expect(out.eps.length).toBe(TINY_PIXELS);
      } finally {
        await fixed.dispose();
      }
    });

    it('classifier computes logits B x numClasses', async () => {
      const batch = 4;
      const x = seeded(batch * TINY_PIXELS, 3, 0, 1);
      const logits = expectRight(await classifier.run(x, batch)());
      expect(logits).toBeInstanceOf(Float32Array);
      expect(logits.length).toBe(batch * TINY_CLASSES);
      for (let b = 0; b < batch; b++) {
        for (let c = 0; c < TINY_CLASSES; c++) {
          let expected = tinyClassifierBias(c);
          for (let i = 0; i < TINY_PIXELS; i++) expected += x[b * TINY_PIXELS + i]! * tinyClassifierWeight(i, c);
          expect(logits[b * TINY_CLASSES + c]).toBeCloseTo(expected, 4);
        }
      }
      expect(classifier.metadata.numClasses).toBe(TINY_CLASSES);
      expect(classifier.metadata.classNames).toEqual(['a', 'b', 'c']);
    });

    it("classifier output: logits by default, which softmax turns into probabilities", async () => {
      const batch = 3;
      const x = seeded(batch * TINY_PIXELS, 10, 0, 1);
      expect(classifier.metadata.output).toBe('logits');
      const logits = expectRight(await classifier.run(x, batch)());
      const probs = expectRight(classifierProbabilities(classifier.metadata, logits, batch));
      expect(maxAbsDiff(probs, softmaxRows(logits, batch, TINY_CLASSES))).toBe(0);
      for (let b = 0; b < batch; b++) expect(probs.subarray(b * TINY_CLASSES, (b + 1) * TINY_CLASSES).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 6);
    });

    it("a classifier whose manifest says output 'probabilities' returns them, used as they are", async () => {
      const probs = expectRight(await loadClassifier(paths.classifierProbabilities, load)());
      try {
        expect(probs.metadata.output).toBe('probabilities');
        const batch = 3;
        const x = seeded(batch * TINY_PIXELS, 10, 0, 1);
        const out = expectRight(await probs.run(x, batch)());
        const logits = expectRight(await classifier.run(x, batch)());
        expect(maxAbsDiff(out, softmaxRows(logits, batch, TINY_CLASSES))).toBeLessThanOrEqual(1e-5);
        expect(expectRight(classifierProbabilities(probs.metadata, out, batch))).toBe(out);
      } finally {
        await probs.dispose();
      }
    });

    it("a classifier whose manifest says output 'scores' has labels but no probabilities", async () => {
      const scores = expectRight(await loadClassifier(paths.classifierScores, load)());
      try {
        expect(scores.metadata.output).toBe('scores');
        const out = expectRight(await scores.run(seeded(TINY_PIXELS, 11, 0, 1), 1)());
        expect(out.length).toBe(TINY_CLASSES);
        const err = expectLeft(classifierProbabilities(scores.metadata, out, 1), 'no-probabilities');
        expect(err.message).toContain('majority');
      } finally {
        await scores.dispose();
      }
    });

    it('results do not depend on the batch size', async () => {
      const batch = 5;
      const x = seeded(batch * TINY_PIXELS, 4);
      const t = [1, 2, 3, 500, 999];
      const whole = expectRight(await denoiser.run(x, t)());
      const logitsWhole = expectRight(await classifier.run(x, batch)());
      for (let b = 0; b < batch; b++) {
        const xi = x.subarray(b * TINY_PIXELS, (b + 1) * TINY_PIXELS);
        const one = expectRight(await denoiser.run(xi, [t[b]!])())
        expect(maxAbsDiff(one.eps, whole.eps.subarray(b * TINY_PIXELS, (b + 1) * TINY_PIXELS))).toBeLessThanOrEqual(tol);
        const l = expectRight(await classifier.run(xi, 1)());
        expect(maxAbsDiff(l, logitsWhole.subarray(b * TINY_CLASSES, (b + 1) * TINY_CLASSES))).toBeLessThanOrEqual(tol);
      }
    });

    it('a wrong input shape is a shape-mismatch error naming the tensor', async () => {
      const err = expectLeft(await denoiser.run(new Float32Array(TINY_PIXELS + 3), [1])(), 'shape-mismatch');
      expect(err.message).toContain("'x'");
      expectLeft(await denoiser.run(new Float32Array(2 * TINY_PIXELS), [1])(), 'shape-mismatch');
      expectLeft(await denoiser.run(new Float32Array(TINY_PIXELS), [1000])(), 'shape-mismatch');
      expectLeft(await classifier.run(new Float32Array(TINY_PIXELS * 2), 3)(), 'shape-mismatch');
    });

    it('NaN or infinite input is a non-finite-input error', async () => {
      const x = seeded(2 * TINY_PIXELS, 5);
      x[17] = Number.NaN;
      const err = expectLeft(await denoiser.run(x, [1, 2])(), 'non-finite-input');
      expect(err.kind === 'non-finite-input' && err.index).toBe(17);
      const y = seeded(TINY_PIXELS, 6, 0, 1);
      y[0] = Number.POSITIVE_INFINITY;
      expectLeft(await classifier.run(y, 1)(), 'non-finite-input');
    });

    it('a missing file is file-not-found', async () => {
      expectLeft(await loadDenoiser(paths.missing, load)(), 'file-not-found');
    });

    it('a corrupt model file is corrupt-model', async () => {
      const err = expectLeft(await loadDenoiser(paths.corrupt, load)(), 'corrupt-model');
      expect(err.message).toContain('corrupt.onnx');
      expectLeft(await loadDenoiser(paths.shaMismatch, load)(), 'corrupt-model');
    });

    it('a graph that does not match its manifest is refused at load time', async () => {
      const err = expectLeft(await loadDenoiser(paths.contractViolation, load)(), 'model-contract');
      expect(err.message).toContain('out');
    });

    it('a classifier manifest is refused where a denoiser is asked for', async () => {
      expectLeft(await loadDenoiser(paths.classifier, load)(), 'model-contract');
    });

    it('running a disposed model is an error, not a crash', async () => {
      const d = expectRight(await loadDenoiser(paths.denoiser, load)());
      await d.dispose();
      expectLeft(await d.run(seeded(TINY_PIXELS, 7), [3])(), 'disposed');
    });

    for (const model of options.models ?? []) {
      describe(`real model: ${model.label}`, () => {
        if (model.denoiser !== undefined) {
          const spec = model.denoiser;
          it('denoiser: shapes and batch invariance', async () => {
            const d = expectRight(await loadDenoiser(spec, load)());
            try {
              const [c, h, w] = d.metadata.inputShape;
              const per = c * h * w;
              const x = seeded(3 * per, 8);
              const whole = expectRight(await d.run(x, [10, 200, 400])());
              expect(whole.eps.length).toBe(3 * per);
              expect(whole.v === null).toBe(!d.metadata.learnedVariance);
              const one = expectRight(await d.run(x.subarray(per, 2 * per), [200])());
              expect(maxAbsDiff(one.eps, whole.eps.subarray(per, 2 * per))).toBeLessThanOrEqual(1e-4);
            } finally {
              await d.dispose();
            }
          });
        }
        if (model.classifier !== undefined) {
          const spec = model.classifier;
          it('classifier: shapes and batch invariance', async () => {
            const cl = expectRight(await loadClassifier(spec, load)());
            try {
              const [c, h, w] = cl.metadata.inputShape;
              const per = c * h * w;
              const x = seeded(3 * per, 9, 0, 1);
              const whole = expectRight(await cl.run(x, 3)());
              expect(whole.length).toBe(3 * cl.metadata.numClasses);
              const one = expectRight(await cl.run(x.subarray(2 * per), 1)());
              expect(maxAbsDiff(one, whole.subarray(2 * cl.metadata.numClasses))).toBeLessThanOrEqual(1e-4);
            } finally {
              await cl.dispose();
            }
          });
        }
      });
    }
  });
}
