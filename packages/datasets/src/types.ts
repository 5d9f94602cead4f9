/** One image in [0, 1], NCHW without the batch axis (C*H*W values), with its integer label. */
export interface Sample {
  readonly image: Float32Array;
  readonly label: number;
}

/** A labelled image dataset held in memory. */
export interface Dataset {
  /** Short name for logs and sidecars, e.g. 'mnist-test'. */
  readonly name: string;
  /** Where it was read from (a file or folder path). */
  readonly source: string;
  readonly size: number;
  /** [channels, height, width]. */
  readonly shape: readonly [number, number, number];
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** sha256 of the file(s) read, when the format records one or it was computed. */
  readonly sha256?: string;
  get(index: number): Sample;
}

export type DatasetError =
  | { readonly kind: 'not-found'; readonly path: string; readonly message: string }
  | { readonly kind: 'format'; readonly path: string; readonly message: string }
  | { readonly kind: 'bad-value'; readonly path: string; readonly index: number; readonly message: string }
  | { readonly kind: 'bad-slice'; readonly message: string }
  /** Not a regular file (a FIFO, a device, a folder), too large, or unreadable: @densepure/backend's readLocalFile said why. */
  | { readonly kind: 'unreadable'; readonly path: string; readonly message: string };

export const badSlice = (message: string): DatasetError => ({ kind: 'bad-slice', message });

export const notFound = (path: string, what: string): DatasetError => ({
  kind: 'not-found',
  path,
  message: `${what} not found: ${path}`,
});

export const badFormat = (path: string, detail: string): DatasetError => ({
  kind: 'format',
  path,
  message: `${path}: ${detail}`,
});

/**
 * Checks that every value is finite and inside [0, 1]; returns the error for the first bad one.
 * Run once at load, so a NaN in the data is reported before any model work starts.
 */
export function checkPixels(path: string, data: Float32Array, perImage: number): DatasetError | null {
  for (let i = 0; i < data.length; i++) {
    const v = data[i] as number;
    if (!(v >= 0 && v <= 1)) {
      const image = Math.floor(i / perImage);
      return {
        kind: 'bad-value',
        path,
        index: image,
        message: `${path}: image ${image} holds ${v} at pixel ${i % perImage}; images must be finite values in [0, 1] (fix or drop that image)`,
      };
    }
  }
  return null;
}

/** A Dataset over one contiguous Float32Array of images and a label array. */
export function arrayDataset(fields: Omit<Dataset, 'get' | 'size'> & { readonly pixels: Float32Array; readonly labels: Uint8Array | Int32Array }): Dataset {
  const [c, h, w] = fields.shape;
  const per = c * h * w;
  const { pixels, labels, ...rest } = fields;
  return {
    ...rest,
    size: labels.length,
    get(index: number): Sample {
      if (!Number.isInteger(index) || index < 0 || index >= labels.length) {
        throw new RangeError(`dataset ${fields.name} has ${labels.length} images; index ${index} is out of range`);
      }
      return { image: pixels.subarray(index * per, (index + 1) * per), label: labels[index] as number };
    },
  };
}
