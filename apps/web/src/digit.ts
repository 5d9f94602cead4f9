// The page's digit: drawn on a pad, uploaded, or a shipped test image; always 28 x 28 grey values in [0, 1].
import { either as E } from 'fp-ts';

export const SIDE = 28;

/** Draws grey values in [0, 1] (side x side) onto a canvas of that many pixels (CSS scales it up). */
export function paintGrey(canvas: HTMLCanvasElement, pixels: ArrayLike<number>, side = SIDE): void {
  canvas.width = side;
  canvas.height = side;
  const ctx = canvas.getContext('2d')!;
  const data = ctx.createImageData(side, side);
  for (let i = 0; i < side * side; i++) {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    data.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(data, 0, 0);
}

/** The grey values of a canvas's pixels (mean of R, G, B; alpha over black), read at `side` x `side`. */
function greyOf(source: CanvasImageSource, side = SIDE): Float32Array {
  const small = document.createElement('canvas');
  small.width = side;
  small.height = side;
  const ctx = small.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, side, side);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, side, side);
  const rgba = ctx.getImageData(0, 0, side, side).data;
  return Float32Array.from({ length: side * side }, (_, i) => (rgba[4 * i]! + rgba[4 * i + 1]! + rgba[4 * i + 2]!) / (3 * 255));
}

/** What the drawing pad holds, averaged down to 28 x 28 like MNIST's anti-aliased digits. */
export const padImage = (pad: HTMLCanvasElement): Float32Array => greyOf(pad);

/**
 * An uploaded file as a digit: it must be an image the browser can decode, 28 x 28 pixels (the classifier's
 * input); anything else is refused with what to do instead.
 */
export async function fileImage(file: File): Promise<E.Either<string, Float32Array>> {
  if (!file.type.startsWith('image/')) {
    return E.left(`'${file.name}' is not an image (${file.type === '' ? 'unknown type' : file.type}): upload a PNG or JPEG of a digit, 28 × 28 pixels, white on black`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return E.left(`'${file.name}' could not be decoded as an image (damaged, or a format this browser cannot read): upload a PNG or JPEG of a digit, 28 × 28 pixels`);
  }
  try {
    if (bitmap.width !== SIDE || bitmap.height !== SIDE) {
      return E.left(`'${file.name}' is ${bitmap.width} × ${bitmap.height} pixels; the shipped classifier and diffusion model take 28 × 28 grey images: resize it to 28 × 28 (white digit on black), or draw the digit on the pad`);
    }
    return E.right(greyOf(bitmap));
  } finally {
    bitmap.close();
  }
}

/** Lets the user draw with a thick white brush on the pad (pointer events: mouse, pen, touch). */
export function makePad(pad: HTMLCanvasElement, changed: () => void): { clear(): void; show(image: ArrayLike<number>): void } {
  const ctx = pad.getContext('2d')!;
  const clear = (): void => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, pad.width, pad.height);
  };
  clear();
  let last: [number, number] | null = null;
  const at = (e: PointerEvent): [number, number] => {
    const r = pad.getBoundingClientRect();
    return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    last = at(e);
  });
  pad.addEventListener('pointermove', (e) => {
    if (last === null) return;
    const next = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = pad.width / 12;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(...last);
    ctx.lineTo(...next);
    ctx.stroke();
    last = next;
  });
  const end = (): void => {
    if (last !== null) changed();
    last = null;
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
  return {
    clear,
    show: (image) => {
      const small = document.createElement('canvas');
      paintGrey(small, image);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, pad.width, pad.height);
    },
  };
}
