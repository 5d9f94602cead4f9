// Test fixtures: the tiny 1x4x4 models of @densepure/backend/testing and a tiny DPDS dataset they classify.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_CLASSES, TINY_PIXELS, tinyClassifierBias, tinyClassifierWeight, writeTinyModels } from '@densepure/backend/testing';
import { encodeDpds } from '@densepure/datasets';

export interface TinyFixture {
  readonly denoiser: string;
  readonly classifier: string;
  readonly dataset: string;
}

/** `count` images in [0, 1] (uint8-exact) from a fixed LCG, labelled with the tiny classifier's clean prediction. */
export function tinyImages(count: number): { pixels: Float32Array; labels: Uint8Array } {
  let state = 12345;
  const next = (): number => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const pixels = new Float32Array(count * TINY_PIXELS);
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) {
    const logits = Array.from({ length: TINY_CLASSES }, (_, c) => tinyClassifierBias(c));
    for (let i = 0; i < TINY_PIXELS; i++) {
      const v = Math.round(next() * 255) / 255;
      pixels[n * TINY_PIXELS + i] = v;
      for (let c = 0; c < TINY_CLASSES; c++) logits[c]! += v * tinyClassifierWeight(i, c);
    }
    labels[n] = logits.indexOf(Math.max(...logits));
  }
  return { pixels, labels };
}

export async function writeTinyFixture(dir: string, count = 6): Promise<TinyFixture> {
  mkdirSync(dir, { recursive: true });
  const models = await writeTinyModels(join(dir, 'models'));
  const { pixels, labels } = tinyImages(count);
  const dataset = join(dir, 'tiny.bin');
  writeFileSync(dataset, encodeDpds(pixels, labels, [1, 4, 4], TINY_CLASSES));
  return { denoiser: models.denoiser, classifier: models.classifier, dataset };
}

/** A small experiment over the tiny fixture: 3 methods x 2 sigmas = 6 cells of `count` images. */
export const tinyExperimentYaml = (f: TinyFixture, name = 'tiny', extra = ''): string => `
name: ${name}
models:
  denoiser: ${f.denoiser}
  classifier: ${f.classifier}
dataset:
  spec: ${f.dataset}
methods:
  - smoothing
  - dds
  - kind: densepure
    K: 2
    steps: 2
sigmas: [0.25, 0.5]
certify:
  N0: 10
  N: 40
batch: 40
${extra}`;
