import { either as E } from 'fp-ts';
import { sha256Hex } from '@densepure/backend';
import { type Dataset, type DatasetError, arrayDataset, badFormat, checkPixels } from './types.js';

/**
 * DPDS: densepure's compact labelled-image file (the shipped MNIST test split uses it).
 * Little-endian. Bytes 0-3 ASCII 'DPDS'; then uint32 version (1), count N, channels C, height H, width W,
 * numClasses, dtype (1 = uint8 with value = byte / 255, 2 = float32); then N uint8 labels; then N*C*H*W
 * pixel values, NCHW, in that dtype.
 */
export const DPDS_MAGIC = 'DPDS';
const HEADER_BYTES = 32;

/** Parses DPDS bytes (`path` names them in messages); the sha256 is node's native one in node, the portable one in a browser. */
export function parseDpds(bytes: Uint8Array, path: string, classNames?: readonly string[]): E.Either<DatasetError, Dataset> {
  if (bytes.length < HEADER_BYTES || new TextDecoder().decode(bytes.subarray(0, 4)) !== DPDS_MAGIC) {
    return E.left(badFormat(path, `not a DPDS file (expected the magic 'DPDS' and a ${HEADER_BYTES}-byte header)`));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (i: number): number => view.getUint32(4 + 4 * i, true);
  const [version, count, channels, height, width, numClasses, dtype] = [0, 1, 2, 3, 4, 5, 6].map(u32) as [number, number, number, number, number, number, number];
  if (version !== 1) return E.left(badFormat(path, `DPDS version ${version} is not supported (this reader knows version 1)`));
  if (dtype !== 1 && dtype !== 2) return E.left(badFormat(path, `unknown DPDS dtype code ${dtype} (1 = uint8/255, 2 = float32)`));
  if (count === 0 || channels === 0 || height === 0 || width === 0 || numClasses < 2) {
    return E.left(badFormat(path, `empty or degenerate header: count ${count}, shape ${channels}x${height}x${width}, ${numClasses} classes`));
  }
  const per = channels * height * width;
  const expected = HEADER_BYTES + count + count * per * (dtype === 1 ? 1 : 4);
  if (bytes.length !== expected) {
    return E.left(badFormat(path, `truncated or padded: header promises ${expected} bytes, file has ${bytes.length}`));
  }
  const labels = bytes.slice(HEADER_BYTES, HEADER_BYTES + count);
  const bad = labels.findIndex((l) => l >= numClasses);
  if (bad >= 0) return E.left({ kind: 'bad-value', path, index: bad, message: `${path}: label ${labels[bad]} of image ${bad} is not below numClasses ${numClasses}` });
  const start = HEADER_BYTES + count;
  const pixels = new Float32Array(count * per);
  if (dtype === 1) {
    for (let i = 0; i < pixels.length; i++) pixels[i] = (bytes[start + i] as number) / 255;
  } else {
    for (let i = 0; i < pixels.length; i++) pixels[i] = view.getFloat32(start + 4 * i, true);
  }
  const pixelError = checkPixels(path, pixels, per);
  if (pixelError !== null) return E.left(pixelError);
  if (classNames !== undefined && classNames.length !== numClasses) {
    return E.left(badFormat(path, `${classNames.length} class names given for ${numClasses} classes`));
  }
  return E.right(
    arrayDataset({
      name: path.replace(/^.*\//, '').replace(/\.bin$/, ''),
      source: path,
      shape: [channels, height, width],
      numClasses,
      classNames: classNames ?? Array.from({ length: numClasses }, (_, i) => String(i)),
      sha256: sha256Hex(bytes),
      pixels,
      labels,
    }),
  );
}

/** Encodes images (values in [0, 1]) as DPDS; uint8 when every value is an exact byte/255, else float32. */
export function encodeDpds(pixels: Float32Array, labels: Uint8Array, shape: readonly [number, number, number], numClasses: number): Uint8Array {
  const exact = pixels.every((v) => Math.abs(Math.round(v * 255) / 255 - v) < 1e-7);
  const bytesPer = exact ? 1 : 4;
  const out = new Uint8Array(HEADER_BYTES + labels.length + pixels.length * bytesPer);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(DPDS_MAGIC), 0);
  [1, labels.length, shape[0], shape[1], shape[2], numClasses, exact ? 1 : 2].forEach((v, i) => view.setUint32(4 + 4 * i, v, true));
  out.set(labels, HEADER_BYTES);
  const start = HEADER_BYTES + labels.length;
  for (let i = 0; i < pixels.length; i++) {
    if (exact) out[start + i] = Math.round((pixels[i] as number) * 255);
    else view.setFloat32(start + 4 * i, pixels[i] as number, true);
  }
  return out;
}
