// ImageClassifier.probabilities: what soft voting averages. Read as the manifest's `output` says, on real onnx
// models (the tiny classifier, the same graph ending in Softmax, and a 'scores' manifest); labels stay the
// argmax of the model's output.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendError, type Classifier, type ClassifierMetadata, loadClassifier } from '@densepure/backend';
import { TINY_CLASSES, seeded, writeTinyModels } from '@densepure/backend/testing';
import '@densepure/backend-onnx';
import { type ImageClassifier, argmaxRows, softmaxRows, wrapClassifier } from './index.js';

const right = <A>(r: E.Either<BackendError, A>): A => {
  if (E.isLeft(r)) throw new Error(`${r.left.kind}: ${r.left.message}`);
  return r.right;
};

describe('probabilities', () => {
  let dir = '';
  const opened: Classifier[] = [];
  let logits: ImageClassifier;
  let probs: ImageClassifier;
  let scores: ImageClassifier;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'densepure-probabilities-'));
    const paths = await writeTinyModels(dir);
    const open = async (path: string): Promise<ImageClassifier> => {
      const c = right(await loadClassifier(path, { backend: 'onnx' })());
      opened.push(c);
      return right(wrapClassifier(c, [1, 8, 8]));
    };
    logits = await open(paths.classifier);
    probs = await open(paths.classifierProbabilities);
    scores = await open(paths.classifierScores);
  });
  afterAll(async () => {
    for (const c of opened) await c.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const batch = 4;
  const x = seeded(batch * 64, 21, 0, 1);

  it('logits (the default): softmax of the logits, B x numClasses, rows summing to 1', async () => {
    expect(logits.metadata.output).toBe('logits');
    const l = right(await logits.logits(x, batch)());
    const p = right(await logits.probabilities(x, batch)());
    expect(p.length).toBe(batch * TINY_CLASSES);
    expect(Array.from(p)).toEqual(Array.from(softmaxRows(l, batch, TINY_CLASSES)));
    for (let b = 0; b < batch; b++) expect(p[b * 3]! + p[b * 3 + 1]! + p[b * 3 + 2]!).toBeCloseTo(1, 6);
  });

  it("output 'probabilities': the model's own, as they are (same preprocessing, so equal to softmax of the logits)", async () => {
    expect(probs.metadata.output).toBe('probabilities');
    const p = right(await probs.probabilities(x, batch)());
    expect(Array.from(p)).toEqual(Array.from(right(await probs.logits(x, batch)())));
    const viaSoftmax = right(await logits.probabilities(x, batch)());
    p.forEach((v, i) => expect(v).toBeCloseTo(viaSoftmax[i]!, 5));
    // topK ranks by these probabilities, not by a softmax of them.
    const top = right(await probs.topK(x.subarray(0, 64), 1, 1)());
    expect(top[0]!.probabilities[0]).toBe(Math.max(p[0]!, p[1]!, p[2]!));
  });

  it("output 'scores': no-probabilities, saying what to do, without running the model; labels still work", async () => {
    const run = await scores.probabilities(x, batch)();
    if (E.isRight(run)) throw new Error('expected no-probabilities');
    expect(run.left.kind).toBe('no-probabilities');
    expect(run.left.message).toContain('majority voting');
    expect(E.isLeft(await scores.topK(x, batch, 2)())).toBe(true);
    expect(Array.from(right(await scores.labels(x, batch)()))).toEqual(Array.from(right(await logits.labels(x, batch)())));
  });

  it('never runs a scores classifier for probabilities', async () => {
    let runs = 0;
    const meta = { ...logits.metadata, output: 'scores' } satisfies ClassifierMetadata;
    const counting: Classifier = { metadata: meta, run: () => ((runs += 1), TE.right(new Float32Array(TINY_CLASSES))), dispose: async () => undefined };
    const wrapped = right(wrapClassifier(counting, [1, 4, 4]));
    expect(E.isLeft(await wrapped.probabilities(new Float32Array(16), 1)())).toBe(true);
    expect(runs).toBe(0);
  });

  it('labels are the argmax of the logits, bit for bit', async () => {
    for (const n of [1, 3, 7]) {
      const y = seeded(n * 64, 30 + n, 0, 1);
      const l = right(await logits.logits(y, n)());
      expect(Array.from(right(await logits.labels(y, n)()))).toEqual(Array.from(argmaxRows(l, n, TINY_CLASSES)));
    }
  });
});
