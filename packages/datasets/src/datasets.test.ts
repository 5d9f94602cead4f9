import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { encodeDpds, openDataset, parseDpds, parseIdx, readCifar10, readDpds, readIdx, readImageFolder, selectIndices, zooCatalog } from './index.js';
import * as portable from './portable.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-datasets-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const must = <A, B extends { message: string }>(r: E.Either<B, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('DPDS', () => {
  it('round-trips uint8-exact images as uint8 and others as float32', () => {
    const labels = Uint8Array.from([3, 1]);
    const exact = Float32Array.from({ length: 2 * 4 }, (_, i) => (i * 30) / 255);
    const bytesU8 = encodeDpds(exact, labels, [1, 2, 2], 10);
    expect(bytesU8.length).toBe(32 + 2 + 8);
    const ds = must(parseDpds(bytesU8, 'a.bin'));
    expect(ds.size).toBe(2);
    expect(ds.get(1).label).toBe(1);
    expect(Array.from(ds.get(1).image)).toEqual(Array.from(exact.subarray(4)));
    const inexact = Float32Array.from({ length: 8 }, (_, i) => i / 10);
    const bytesF32 = encodeDpds(inexact, labels, [1, 2, 2], 10);
    expect(bytesF32.length).toBe(32 + 2 + 32);
    expect(Array.from(must(parseDpds(bytesF32, 'b.bin')).get(0).image)).toEqual(Array.from(inexact.subarray(0, 4)));
  });

  it('reads the same dataset, with the same sha256, from a file and from bytes', async () => {
    const bytes = encodeDpds(Float32Array.from({ length: 12 }, (_, i) => i / 11), Uint8Array.from([2, 0, 1]), [1, 2, 2], 3);
    const path = join(dir, 'same.bin');
    await writeFile(path, bytes);
    const fromFile = must(await readDpds(path));
    const fromBytes = must(portable.parseDpds(bytes, 'same.bin'));
    expect(fromBytes.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(fromFile.sha256).toBe(fromBytes.sha256);
    expect(Array.from(fromBytes.get(2).image)).toEqual(Array.from(fromFile.get(2).image));
  });

  it('rejects bad magic, truncation, NaN and labels out of range with the file named', () => {
    const labels = Uint8Array.from([0]);
    const good = encodeDpds(Float32Array.from([0.1, 0.2, 0.3, 0.4]), labels, [1, 2, 2], 2);
    const badMagic = good.slice();
    badMagic[0] = 88;
    expect(E.isLeft(parseDpds(badMagic, 'x.bin'))).toBe(true);
    const truncated = parseDpds(good.subarray(0, good.length - 1), 't.bin');
    expect(E.isLeft(truncated) && truncated.left.message).toContain('t.bin');
    const nan = good.slice();
    new DataView(nan.buffer).setFloat32(33, Number.NaN, true);
    const nanResult = parseDpds(nan, 'nan.bin');
    expect(E.isLeft(nanResult) && nanResult.left.kind).toBe('bad-value');
    expect(E.isLeft(nanResult) && nanResult.left.message).toContain('NaN');
    const badLabel = good.slice();
    badLabel[32] = 5;
    expect(E.isLeft(parseDpds(badLabel, 'l.bin'))).toBe(true);
  });
});

describe('CIFAR-10 binary', () => {
  it('reads records as CHW in [0, 1]', async () => {
    const rec = new Uint8Array(2 * 3073);
    rec[0] = 7;
    rec[1] = 255; // R of pixel 0
    rec[1 + 1024] = 51; // G of pixel 0
    rec[3073] = 2;
    const file = join(dir, 'test_batch.bin');
    await writeFile(file, rec);
    const ds = must(await readCifar10(file));
    expect(ds.shape).toEqual([3, 32, 32]);
    expect(ds.get(0).label).toBe(7);
    expect(ds.get(0).image[0]).toBe(1);
    expect(ds.get(0).image[1024]).toBeCloseTo(0.2, 6);
    expect(ds.get(1).label).toBe(2);
    expect(ds.classNames[7]).toBe('horse');
    const viaFolder = must(await openDataset(dir));
    expect(viaFolder.size).toBe(2);
  });
  it('rejects a file that is not whole records', async () => {
    const file = join(dir, 'broken.bin');
    await writeFile(file, new Uint8Array(3074));
    const r = await readCifar10(file);
    expect(E.isLeft(r) && r.left.message).toContain('3073-byte');
  });
});

describe('IDX (MNIST-like)', () => {
  /** An unsigned-byte IDX file: 0, 0, 0x08, ndim, big-endian sizes, values. */
  const idx = (dims: number[], values: number[]): Uint8Array => {
    const out = new Uint8Array(4 + 4 * dims.length + values.length);
    out.set([0, 0, 0x08, dims.length]);
    dims.forEach((d, i) => new DataView(out.buffer).setUint32(4 + 4 * i, d, false));
    out.set(values, 4 + 4 * dims.length);
    return out;
  };
  // Two 2x3 images (values 0..5 and 250..255) labelled 4 and 1.
  const images = idx([2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  const labels = idx([2], [4, 1]);

  it('reads an images/labels pair, gzip-compressed or not, from the file or its folder', async () => {
    const root = join(dir, 'idx');
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 't10k-images-idx3-ubyte.gz'), gzipSync(images));
    await writeFile(join(root, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
    await writeFile(join(root, 'train-images-idx3-ubyte'), images);
    await writeFile(join(root, 'train-labels-idx1-ubyte'), labels);
    const names = ['a', 'b', 'c', 'd', 'e'];
    for (const ds of [
      must(await openDataset(root, names)),
      must(await openDataset(`idx:${join(root, 't10k-images-idx3-ubyte.gz')}`, names)),
      must(await openDataset(join(root, 'train-images-idx3-ubyte'), names)),
      must(await readIdx(root, { split: 'train', classNames: names })),
    ]) {
      expect(ds.shape).toEqual([1, 2, 3]);
      expect(ds.size).toBe(2);
      expect(ds.numClasses).toBe(5);
      expect(ds.get(0).label).toBe(4);
      expect(ds.get(1).label).toBe(1);
      expect(Array.from(ds.get(0).image)).toEqual([0, 1, 2, 3, 4, 5].map((v) => Math.fround(v / 255)));
      expect(ds.get(1).image[5]).toBe(1);
      expect(ds.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const plain = must(await readIdx(join(root, 'train-images-idx3-ubyte')));
    expect(plain.numClasses).toBe(5);
    expect(plain.classNames).toEqual(['0', '1', '2', '3', '4']);
  });

  it('names the file and the fault: wrong type, truncation, mismatched labels, label beyond the class names, bad gzip', async () => {
    const root = join(dir, 'idx-bad');
    await mkdir(root, { recursive: true });
    const floats = images.slice();
    floats[2] = 0x0d;
    const wrongType = parseIdx(floats, 'floats');
    expect(E.isLeft(wrongType) && wrongType.left.message).toMatch(/floats: IDX value type 0xd is not supported/);
    const truncated = parseIdx(images.subarray(0, images.length - 1), 'short-images');
    expect(E.isLeft(truncated) && truncated.left.message).toMatch(/short-images: truncated or padded: header promises 2x2x3 = 12 values, file has 11/);
    const corrupt = gzipSync(images).subarray(0, 20);
    const unzipped = parseIdx(corrupt, 'cut.gz');
    expect(E.isLeft(unzipped) && unzipped.left.message).toMatch(/cut\.gz: gzip data could not be decompressed/);
    const write = async (name: string, img: Uint8Array, lab: Uint8Array): Promise<string> => {
      await writeFile(join(root, `${name}-images-idx3-ubyte`), img);
      await writeFile(join(root, `${name}-labels-idx1-ubyte`), lab);
      return join(root, `${name}-images-idx3-ubyte`);
    };
    const miscount = await readIdx(await write('miscount', images, idx([3], [0, 1, 2])));
    expect(E.isLeft(miscount) && miscount.left.message).toMatch(/miscount-labels-idx1-ubyte: IDX labels must be one dimension of 2/);
    const beyond = await readIdx(await write('beyond', images, labels), { classNames: ['a', 'b', 'c'] });
    expect(E.isLeft(beyond) && beyond.left).toMatchObject({ kind: 'bad-value', index: 0 });
    const flat = await readIdx(await write('flat', idx([12], Array.from(images.subarray(16))), labels));
    expect(E.isLeft(flat) && flat.left.message).toMatch(/3 non-empty dimensions/);
    const noLabels = await readIdx(join(root, 'miscount-images-idx3-ubyte'), { labelsPath: join(root, 'missing') });
    expect(E.isLeft(noLabels) && noLabels.left.kind).toBe('not-found');
    const emptyFolder = await readIdx(join(root));
    expect(E.isLeft(emptyFolder) && emptyFolder.left.message).toMatch(/no t10k-images-idx3-ubyte/);
  });
});

describe('image folder', () => {
  it('reads class sub-folders in sorted order, grey as C = 1', async () => {
    const root = join(dir, 'folder');
    for (const [cls, value] of [['cat', 0], ['dog', 255]] as const) {
      await mkdir(join(root, cls), { recursive: true });
      const raw = Buffer.alloc(4 * 3, value);
      await sharp(raw, { raw: { width: 4, height: 3, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, cls, 'a.png'));
    }
    const ds = must(await readImageFolder(root));
    expect(ds.shape).toEqual([1, 3, 4]);
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(ds.get(1).label).toBe(1);
    expect(ds.get(1).image.every((v) => v === 1)).toBe(true);
    expect(ds.get(0).image.every((v) => v === 0)).toBe(true);
  });
  it('refuses images of different sizes, naming the file', async () => {
    const root = join(dir, 'mixed');
    await mkdir(join(root, 'a'), { recursive: true });
    await mkdir(join(root, 'b'), { recursive: true });
    await sharp(Buffer.alloc(4), { raw: { width: 2, height: 2, channels: 1 } }).png().toFile(join(root, 'a', '1.png'));
    await sharp(Buffer.alloc(9), { raw: { width: 3, height: 3, channels: 1 } }).png().toFile(join(root, 'b', '1.png'));
    const r = await readImageFolder(root);
    expect(E.isLeft(r) && r.left.message).toContain(join('b', '1.png'));
  });
  it('has a sha256 of its content: a changed, added, renamed or moved image changes it, a rewrite of the same bytes does not', async () => {
    const root = join(dir, 'content');
    const png = (value: number): Promise<Buffer> => sharp(Buffer.alloc(4, value), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer();
    const write = async (files: Record<string, number>): Promise<string> => {
      await rm(root, { recursive: true, force: true });
      for (const [file, value] of Object.entries(files)) {
        await mkdir(join(root, file.split('/')[0]!), { recursive: true });
        await writeFile(join(root, file), await png(value));
      }
      const sha = must(await readImageFolder(root)).sha256;
      expect(sha).toMatch(/^[0-9a-f]{64}$/);
      return sha!;
    };
    const base = { 'a/1.png': 10, 'a/2.png': 20, 'b/1.png': 30 };
    const first = await write(base);
    expect(await write(base)).toBe(first);
    const variants: Record<string, number>[] = [
      { ...base, 'a/2.png': 21 },
      { ...base, 'b/2.png': 40 },
      { 'a/1.png': 10, 'a/3.png': 20, 'b/1.png': 30 },
      { 'a/1.png': 10, 'b/2.png': 20, 'b/1.png': 30 },
      { 'a/1.png': 20, 'a/2.png': 10, 'b/1.png': 30 },
    ];
    const shas: string[] = [];
    for (const v of variants) shas.push(await write(v));
    expect(new Set([first, ...shas]).size).toBe(variants.length + 1);
  });
  it('reports a missing path', async () => {
    const r = await openDataset(join(dir, 'nope'));
    expect(E.isLeft(r) && r.left.kind).toBe('not-found');
  });
});

describe('zooCatalog', () => {
  it("maps 'default' to the zoo's files (test split with its class names) and passes every other spec through", async () => {
    const testSetPath = join(dir, 'zoo-test.bin');
    await writeFile(testSetPath, encodeDpds(Float32Array.from({ length: 8 }, (_, i) => i / 7), Uint8Array.from([1, 0]), [1, 2, 2], 2));
    const other = join(dir, 'other.bin');
    await writeFile(other, encodeDpds(new Float32Array(4), Uint8Array.from([0]), [1, 2, 2], 2));
    const catalog = zooCatalog({ denoiserPath: '/zoo/d.onnx', classifierPath: '/zoo/c.onnx', testSetPath, classNames: ['cat', 'dog'] });
    expect(catalog.model('denoiser', 'default')).toBe('/zoo/d.onnx');
    expect(catalog.model('classifier', 'default')).toBe('/zoo/c.onnx');
    expect(catalog.model('classifier', '/elsewhere/c.onnx')).toBe('/elsewhere/c.onnx');
    const shipped = must(await catalog.dataset('default')());
    expect([shipped.size, shipped.classNames]).toEqual([2, ['cat', 'dog']]);
    expect(must(await catalog.dataset(other)()).size).toBe(1);
    const missing = await catalog.dataset(join(dir, 'absent.bin'))();
    expect(E.isLeft(missing) && missing.left.kind).toBe('not-found');
  });
});

describe('selectIndices', () => {
  it('matches Cohen: every skip-th index, stopping at index max', () => {
    expect(selectIndices(10, 3)).toEqual(E.right([0, 3, 6, 9]));
    expect(selectIndices(10, 3, 7)).toEqual(E.right([0, 3, 6]));
    expect(selectIndices(10, 1, 2)).toEqual(E.right([0, 1]));
    const bad = selectIndices(10, 0);
    expect(E.isLeft(bad) && bad.left.message).toMatch(/skip/);
    expect(E.isLeft(bad) && bad.left.message).not.toMatch(/--/);
  });
});

describe('files that are not regular files', () => {
  it('a FIFO, /dev/zero (as a path or a symlink) and a FIFO image are refused at once, nothing read', async () => {
    const { execFileSync } = await import('node:child_process');
    const { symlink } = await import('node:fs/promises');
    const fifo = join(dir, 'fifo.bin');
    execFileSync('mkfifo', [fifo]);
    await symlink('/dev/zero', join(dir, 'zero.bin'));
    const images = join(dir, 'fifo-folder');
    for (const cls of ['a', 'b']) {
      await mkdir(join(images, cls), { recursive: true });
      await writeFile(join(images, cls, '0.png'), await sharp(Buffer.alloc(4, 9), { raw: { width: 2, height: 2, channels: 1 } }).png().toBuffer());
    }
    execFileSync('mkfifo', [join(images, 'b', '1.png')]);
    const started = Date.now();
    for (const [spec, pattern] of [
      [fifo, /fifo\.bin is not a regular file \(it is a FIFO\)/],
      ['/dev/zero', /\/dev\/zero is not a regular file \(it is a device\)/],
      [join(dir, 'zero.bin'), /zero\.bin is not a regular file \(it is a device\)/],
      [`cifar10:${fifo}`, /is not a regular file/],
      [images, /1\.png is not a regular file \(it is a FIFO\)/],
    ] as const) {
      const r = await openDataset(spec);
      expect(E.isLeft(r) && r.left.kind, spec).toBe('unreadable');
      expect(E.isLeft(r) && r.left.message).toMatch(pattern);
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
