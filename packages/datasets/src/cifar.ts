import { readdir, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { type Dataset, type DatasetError, arrayDataset, badFormat, notFound } from './types.js';
import { readDatasetFile } from './read-file.js';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;
const RECORD = 1 + 3 * 32 * 32;

/**
 * CIFAR-10 "binary version" batches: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B,
 * row-major), which is already CHW. `path` is one batch file or a folder; for a folder, `test_batch.bin` is read
 * (the split certification uses), or every `data_batch_*.bin` when `split` is 'train'.
 */
export async function readCifar10(path: string, split: 'test' | 'train' = 'test'): Promise<E.Either<DatasetError, Dataset>> {
  let files: string[];
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      const names = (await readdir(path)).sort();
      files = (split === 'test' ? names.filter((n) => n === 'test_batch.bin') : names.filter((n) => /^data_batch_\d+\.bin$/.test(n))).map((n) => join(path, n));
      if (files.length === 0) return E.left(badFormat(path, `no CIFAR-10 ${split} batch (${split === 'test' ? 'test_batch.bin' : 'data_batch_N.bin'}) in this folder`));
    } else {
      files = [path];
    }
  } catch {
    return E.left(notFound(path, 'CIFAR-10 batch file or folder'));
  }
  const buffers: Uint8Array[] = [];
  for (const f of files) {
    const bytes = await readDatasetFile(f, 'CIFAR-10 batch file');
    if (E.isLeft(bytes)) return bytes;
    buffers.push(bytes.right);
  }
  const hash = createHash('sha256');
  for (const [i, b] of buffers.entries()) {
    if (b.length === 0 || b.length % RECORD !== 0) {
      return E.left(badFormat(files[i]!, `${b.length} bytes is not a whole number of ${RECORD}-byte CIFAR-10 records (label + 3x32x32)`));
    }
    hash.update(b);
  }
  const count = buffers.reduce((n, b) => n + b.length / RECORD, 0);
  const labels = new Uint8Array(count);
  const pixels = new Float32Array(count * 3072);
  let n = 0;
  for (const [fi, b] of buffers.entries()) {
    for (let r = 0; r < b.length / RECORD; r++, n++) {
      const label = b[r * RECORD] as number;
      if (label > 9) return E.left({ kind: 'bad-value', path: files[fi]!, index: r, message: `${files[fi]}: record ${r} has label ${label}; CIFAR-10 labels are 0-9` });
      labels[n] = label;
      for (let p = 0; p < 3072; p++) pixels[n * 3072 + p] = (b[r * RECORD + 1 + p] as number) / 255;
    }
  }
  return E.right(
    arrayDataset({ name: `cifar10-${split}`, source: path, shape: [3, 32, 32], numClasses: 10, classNames: CIFAR10_CLASSES, sha256: hash.digest('hex'), pixels, labels }),
  );
}
