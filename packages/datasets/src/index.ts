import { stat } from 'node:fs/promises';
import { either as E } from 'fp-ts';
import { readCifar10 } from './cifar.js';
import { readDpds } from './read-file.js';
import { readImageFolder } from './folder.js';
import { readIdx } from './idx.js';
import { type Dataset, type DatasetError, badSlice, notFound } from './types.js';
import { type ZooCatalog, type ZooFiles, catalogOf } from './zoo.js';

export * from './types.js';
export { DPDS_MAGIC, encodeDpds, parseDpds } from './dpds.js';
export { readDatasetFile, readDpds } from './read-file.js';
export { CIFAR10_CLASSES, readCifar10 } from './cifar.js';
export { readImageFolder } from './folder.js';
export { idxLabelsPath, parseIdx, readIdx } from './idx.js';
export type { ZooCatalog, ZooFiles } from './zoo.js';

/** What a model zoo's 'default' names (its diffusion model, classifier and test split), as a runner catalog. */
export function zooCatalog(files: ZooFiles): ZooCatalog {
  return catalogOf(files, openDataset);
}

/**
 * Opens a dataset from a spec: `cifar10:<file or folder>`, `folder:<dir>`, `dpds:<file>`, `idx:<images file or
 * folder>`, or a bare path (a `…-images-idx3-ubyte[.gz]` file -> IDX, another file -> DPDS, a folder with
 * `test_batch.bin` -> CIFAR-10, a folder with `t10k-images-idx3-ubyte[.gz]` -> IDX, another folder -> image folder).
 */
export async function openDataset(spec: string, classNames?: readonly string[]): Promise<E.Either<DatasetError, Dataset>> {
  const match = /^(cifar10|folder|dpds|idx):(.*)$/.exec(spec);
  if (match !== null) {
    const [, kind, path] = match as unknown as [string, string, string];
    if (kind === 'cifar10') return readCifar10(path);
    if (kind === 'folder') return readImageFolder(path);
    if (kind === 'idx') return readIdx(path, classNames === undefined ? {} : { classNames });
    return readDpds(path, classNames);
  }
  let info;
  try {
    info = await stat(spec);
  } catch {
    return E.left(notFound(spec, 'dataset'));
  }
  const has = (name: string): Promise<boolean> => stat(`${spec}/${name}`).then(() => true, () => false);
  const idxOptions = classNames === undefined ? {} : { classNames };
  if (info.isDirectory()) {
    if (await has('test_batch.bin')) return readCifar10(spec);
    if ((await has('t10k-images-idx3-ubyte')) || (await has('t10k-images-idx3-ubyte.gz'))) return readIdx(spec, idxOptions);
    return readImageFolder(spec);
  }
  return /-images-idx3-ubyte(\.gz)?$/.test(spec) ? readIdx(spec, idxOptions) : readDpds(spec, classNames);
}

/**
 * The dataset indices a certify run visits, as Cohen's code does: i = 0, skip, 2*skip, ... while i < max
 * (`max` bounds the index, not the count, exactly like `if i == args.max: break`).
 */
export function selectIndices(size: number, skip = 1, max = Number.POSITIVE_INFINITY): E.Either<DatasetError, number[]> {
  if (!Number.isInteger(skip) || skip < 1) return E.left(badSlice(`skip must be a whole number >= 1, got ${skip}`));
  if (!(max >= 0)) return E.left(badSlice(`max must be >= 0, got ${max}`));
  const out: number[] = [];
  for (let i = 0; i < Math.min(size, max); i += skip) out.push(i);
  return E.right(out);
}
