// Fixtures for runner tests: the tiny 1x4x4 ONNX models (built in code) and a DPDS dataset of one image per label.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_CLASSES, TINY_PIXELS, writeTinyModels } from '@densepure/backend/testing';
import { encodeDpds } from '@densepure/datasets';

export interface TinyRun {
  readonly models: Awaited<ReturnType<typeof writeTinyModels>>;
  /** Path of the dataset: image i has pixels ((k * pixelStep) % 256) / 255 over its flat index k, label labels[i]. */
  readonly dataset: string;
}

/** Writes the tiny models into `dir/models` and the dataset as `dir/tiny.bin`. */
export async function writeTinyRun(dir: string, labels: readonly number[], pixelStep = 37): Promise<TinyRun> {
  const models = await writeTinyModels(join(dir, 'models'));
  const pixels = Float32Array.from({ length: labels.length * TINY_PIXELS }, (_, i) => ((i * pixelStep) % 256) / 255);
  const dataset = join(dir, 'tiny.bin');
  writeFileSync(dataset, encodeDpds(pixels, Uint8Array.from(labels), [1, 4, 4], TINY_CLASSES));
  return { models, dataset };
}
