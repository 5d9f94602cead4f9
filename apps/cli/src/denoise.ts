import { renameSync, rmSync } from 'node:fs';
import { either as E } from 'fp-ts';
import sharp from 'sharp';
import { formatBackendError } from '@densepure/backend';
import { type Outcome, runFailure, runtimeFailure, shippedCatalog } from '@densepure/app-kit';
import { type Method, acquireOutputLock, ensureWritable, openPipeline, takeoverNotes } from '@densepure/runner';
import { type MethodFlags, type ModelFlags, baseSpecFromFlags, flagOf, methodFromFlags } from './flags.js';

export interface DenoiseOptions extends ModelFlags, Omit<MethodFlags, 'max'> {
  readonly png: string;
  readonly count: number;
  readonly skip: number;
  readonly rows: number;
  readonly scale: number;
}

/**
 * A PNG grid, one column per image: the clean image, the noisy input (x + sigma * noise, clipped for display)
 * and `rows` purified samples (different votes of draw 0). Written to a temp file and renamed into place.
 */
export async function runDenoise(o: DenoiseOptions): Promise<Outcome> {
  const method = methodFromFlags(o);
  if (E.isLeft(method)) return method;
  const tmp = `${o.png}.partial.png`;
  // Before any model runs: the PNG's folder takes new files (the lock proves it) and no other run writes it.
  const writable = ensureWritable(o.png, ['.partial.png', '.lock']);
  if (E.isLeft(writable)) return E.left(runFailure(writable.left, () => '--png'));
  const lock = acquireOutputLock(o.png);
  if (E.isLeft(lock)) return E.left(runFailure(lock.left, () => '--png'));
  try {
    for (const note of takeoverNotes([lock.right])) process.stderr.write(`${note}\n`);
    return await drawGrid(o, method.right, tmp);
  } finally {
    rmSync(tmp, { force: true });
    lock.right.release();
  }
}

async function drawGrid(o: DenoiseOptions, method: Method, tmp: string): Promise<Outcome> {
  const opened = await openPipeline({ ...baseSpecFromFlags(o), methods: [method] }, { catalog: shippedCatalog })();
  if (E.isLeft(opened)) return E.left(runFailure(opened.left, flagOf));
  const pipeline = opened.right;
  const base = pipeline.group.members[0]!;
  try {
    const [c, h, w] = pipeline.dataset.shape;
    const count = Math.min(o.count, Math.ceil(pipeline.dataset.size / o.skip));
    const gridRows = 2 + o.rows;
    const pad = 2;
    const width = count * (w + pad) + pad;
    const height = gridRows * (h + pad) + pad;
    const grid = Buffer.alloc(width * height * c, 255);
    const put = (img: Float32Array, row: number, col: number): void => {
      for (let ch = 0; ch < c; ch++) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const v = Math.min(1, Math.max(0, img[ch * h * w + y * w + x]!));
            grid[((pad + row * (h + pad) + y) * width + pad + col * (w + pad) + x) * c + ch] = Math.round(v * 255);
          }
        }
      }
    };
    for (let col = 0; col < count; col++) {
      const idx = col * o.skip;
      const { image } = pipeline.dataset.get(idx);
      put(image, 0, col);
      for (let vote = 0; vote < o.rows; vote++) {
        const r = await base.purify(image, idx, { firstDraw: 0, count: 1 }, vote);
        if (E.isLeft(r)) return E.left(runtimeFailure(`model run: ${formatBackendError(r.left)}`));
        if (vote === 0) put(r.right.noisy, 1, col);
        put(r.right.purified, 2 + vote, col);
      }
    }
    const cannotWrite = (cause: unknown): Outcome => E.left(runtimeFailure(`cannot write ${o.png}: ${cause instanceof Error ? cause.message : String(cause)}`));
    try {
      await sharp(grid, { raw: { width, height, channels: c as 1 | 3 } })
        .resize(width * o.scale, height * o.scale, { kernel: 'nearest' })
        .png()
        .toFile(tmp);
      renameSync(tmp, o.png);
    } catch (cause) {
      return cannotWrite(cause);
    }
    process.stdout.write(`wrote ${o.png}: rows clean / noisy (sigma ${o.sigma}) / ${o.rows} purified sample(s); ${method.kind}${base.tStar === undefined ? '' : `, t* = ${base.tStar}`}\n`);
    return E.right(undefined);
  } finally {
    await pipeline.dispose();
  }
}
