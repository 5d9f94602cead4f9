import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { either as E } from 'fp-ts';
import type { OutputInfo } from 'sharp';
import { type Dataset, type DatasetError, arrayDataset, badFormat, notFound } from './types.js';
import { readDatasetFile } from './read-file.js';

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp']);

/**
 * A folder with one sub-folder per class (sorted names = class indices 0..K-1, as torchvision's ImageFolder),
 * each holding PNG/JPEG/WebP images of one size. Decoded with sharp; grey images give C = 1, colour C = 3
 * (alpha dropped). Every image must have the first image's size and channel count.
 */
export async function readImageFolder(path: string): Promise<E.Either<DatasetError, Dataset>> {
  let classDirs: string[];
  try {
    if (!(await stat(path)).isDirectory()) return E.left(badFormat(path, 'an image-folder dataset must be a directory of class sub-folders'));
    const entries = await readdir(path, { withFileTypes: true });
    classDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return E.left(notFound(path, 'image folder'));
  }
  if (classDirs.length < 2) return E.left(badFormat(path, `found ${classDirs.length} class sub-folder(s); need at least 2 (one per class)`));

  const files: { file: string; label: number }[] = [];
  for (const [label, dir] of classDirs.entries()) {
    const names = (await readdir(join(path, dir))).filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort();
    for (const n of names) files.push({ file: join(path, dir, n), label });
  }
  if (files.length === 0) return E.left(badFormat(path, 'no .png/.jpg/.jpeg/.webp images in the class sub-folders'));

  // Imported here, not at the top: readers of other formats (and every run on them) never load sharp's native code.
  const { default: sharp } = await import('sharp');
  let shape: [number, number, number] | null = null;
  let pixels = new Float32Array(0);
  const labels = new Uint8Array(files.length);
  // The identity of the folder's content: each image's class, name and bytes, in the order read. Each file is read
  // once and both hashed and decoded from that buffer, so the hash costs one pass over bytes already in memory and
  // covers exactly what was decoded (a file changed, added, removed, renamed or moved to another class changes it).
  const hash = createHash('sha256').update(`${classDirs.join('\0')}\0\0`);
  for (const [i, { file, label }] of files.entries()) {
    let decoded: { data: Buffer; info: OutputInfo };
    const read = await readDatasetFile(file, 'image file');
    if (E.isLeft(read)) return read;
    const bytes = read.right;
    try {
      const name = Buffer.from(`${classDirs[label]}/${basename(file)}\0${bytes.length}\0`);
      hash.update(name).update(bytes);
      const meta = await sharp(bytes).metadata();
      const grey = (meta.channels ?? 3) <= 2 || meta.space === 'b-w';
      const pipeline = sharp(bytes).removeAlpha();
      decoded = await (grey ? pipeline.toColourspace('b-w') : pipeline).raw().toBuffer({ resolveWithObject: true });
    } catch (cause) {
      return E.left(badFormat(file, `cannot decode image: ${cause instanceof Error ? cause.message : String(cause)}`));
    }
    const { width, height, channels } = decoded.info;
    if (shape === null) {
      shape = [channels, height, width];
      pixels = new Float32Array(files.length * channels * height * width);
    } else if (shape[0] !== channels || shape[1] !== height || shape[2] !== width) {
      return E.left(badFormat(file, `image is ${channels}x${height}x${width} but the first image is ${shape.join('x')}; resize all images to one size`));
    }
    // sharp gives HWC interleaved; the models take CHW.
    const per = channels * height * width;
    for (let c = 0; c < channels; c++) {
      for (let p = 0; p < height * width; p++) pixels[i * per + c * height * width + p] = (decoded.data[p * channels + c] as number) / 255;
    }
    labels[i] = label;
  }
  return E.right(
    arrayDataset({ name: path.replace(/\/+$/, '').replace(/^.*\//, ''), source: path, shape: shape!, numClasses: classDirs.length, classNames: classDirs, sha256: hash.digest('hex'), pixels, labels }),
  );
}
