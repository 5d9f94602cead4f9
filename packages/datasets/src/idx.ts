import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { either as E } from 'fp-ts';
import { readDatasetFile } from './read-file.js';
import { type Dataset, type DatasetError, arrayDataset, badFormat, notFound } from './types.js';

/** Largest decompressed IDX file accepted (the 60,000-image MNIST-like train files are 47 MB). */
const MAX_IDX_BYTES = 512 * 1024 * 1024;
const UNSIGNED_BYTE = 0x08;

interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/**
 * IDX (LeCun's MNIST format): two zero bytes, a type byte, a dimension count, that many big-endian uint32 sizes,
 * then the values. MNIST-like datasets store unsigned bytes, the only type read here. gzip-compressed files
 * (as MNIST and Fashion-MNIST ship) are recognised by their magic and decompressed, bounded by MAX_IDX_BYTES.
 */
export function parseIdx(raw: Uint8Array, path: string): E.Either<DatasetError, IdxArray> {
  let bytes = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(raw, { maxOutputLength: MAX_IDX_BYTES }));
    } catch (e) {
      return E.left(badFormat(path, `gzip data could not be decompressed (${(e as Error).message}); is the file complete?`));
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    return E.left(badFormat(path, 'not an IDX file (expected two zero bytes, a type byte and a dimension count)'));
  }
  const type = bytes[2] as number;
  const ndim = bytes[3] as number;
  if (type !== UNSIGNED_BYTE) {
    return E.left(badFormat(path, `IDX value type 0x${type.toString(16)} is not supported (this reader knows unsigned bytes, 0x08)`));
  }
  if (ndim === 0 || bytes.length < 4 + 4 * ndim) return E.left(badFormat(path, `IDX header with ${ndim} dimensions is truncated or empty`));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (bytes.length - start !== count) {
    return E.left(badFormat(path, `truncated or padded: header promises ${dims.join('x')} = ${count} values, file has ${bytes.length - start}`));
  }
  return E.right({ dims, data: bytes.subarray(start) });
}

/** `<x>-images-idx3-ubyte[.gz]` -> `<x>-labels-idx1-ubyte[.gz]`, the naming MNIST and Fashion-MNIST use. */
export const idxLabelsPath = (imagesPath: string): string => imagesPath.replace(/images-idx3/, 'labels-idx1');

/**
 * An IDX pair as a dataset: images [N, H, W] (unsigned bytes, value / 255, one channel) and labels [N].
 * `path` is the images file (its labels file found by the usual naming, or given) or a folder holding
 * `t10k-images-idx3-ubyte[.gz]` (the test split, which certification uses) or, with split 'train', `train-…`.
 */
export async function readIdx(
  path: string,
  options: { readonly labelsPath?: string; readonly classNames?: readonly string[]; readonly split?: 'test' | 'train' } = {},
): Promise<E.Either<DatasetError, Dataset>> {
  let imagesPath = path;
  try {
    if ((await stat(path)).isDirectory()) {
      const prefix = options.split === 'train' ? 'train' : 't10k';
      const names = [`${prefix}-images-idx3-ubyte`, `${prefix}-images-idx3-ubyte.gz`];
      const found = await Promise.all(names.map((n) => stat(join(path, n)).then(() => n, () => null)));
      const name = found.find((n) => n !== null);
      if (name === undefined) return E.left(badFormat(path, `no ${names.join(' or ')} in this folder`));
      imagesPath = join(path, name);
    }
  } catch {
    return E.left(notFound(path, 'IDX images file or folder'));
  }
  const labelsPath = options.labelsPath ?? idxLabelsPath(imagesPath);
  if (labelsPath === imagesPath) {
    return E.left(badFormat(imagesPath, "cannot tell the labels file from this name (expected '…-images-idx3-ubyte'); name it explicitly"));
  }
  const imageBytes = await readDatasetFile(imagesPath, 'IDX images file');
  if (E.isLeft(imageBytes)) return imageBytes;
  const labelBytes = await readDatasetFile(labelsPath, 'IDX labels file');
  if (E.isLeft(labelBytes)) return labelBytes;
  const images = parseIdx(imageBytes.right, imagesPath);
  if (E.isLeft(images)) return images;
  const labels = parseIdx(labelBytes.right, labelsPath);
  if (E.isLeft(labels)) return labels;
  const [n, h, w] = images.right.dims as [number, number?, number?];
  if (images.right.dims.length !== 3 || h === 0 || w === 0 || n === 0) {
    return E.left(badFormat(imagesPath, `IDX images must have 3 non-empty dimensions (N, H, W), got ${images.right.dims.join('x')}`));
  }
  if (labels.right.dims.length !== 1 || labels.right.dims[0] !== n) {
    return E.left(badFormat(labelsPath, `IDX labels must be one dimension of ${n} (one per image in ${imagesPath}), got ${labels.right.dims.join('x')}`));
  }
  const labelData = labels.right.data;
  const numClasses = options.classNames?.length ?? labelData.reduce((m, l) => Math.max(m, l), 1) + 1;
  const bad = labelData.findIndex((l) => l >= numClasses);
  if (bad >= 0) {
    return E.left({ kind: 'bad-value', path: labelsPath, index: bad, message: `${labelsPath}: label ${labelData[bad]} of image ${bad} is not below the ${numClasses} class names given` });
  }
  const pixels = Float32Array.from(images.right.data, (v) => v / 255);
  const hash = createHash('sha256').update(imageBytes.right).update(labelBytes.right).digest('hex');
  return E.right(
    arrayDataset({
      name: imagesPath.replace(/^.*\//, '').replace(/-images-idx3-ubyte(\.gz)?$/, ''),
      source: imagesPath,
      shape: [1, h as number, w as number],
      numClasses,
      classNames: options.classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
      sha256: hash,
      pixels,
      labels: labelData.slice(),
    }),
  );
}
