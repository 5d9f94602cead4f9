// Messages between the page and the certify worker (structured-clone data only).

/** What one certification asks for: the CLI's `certify` settings for one image, sequential mode. */
export interface CertifyRequest {
  readonly type: 'certify';
  /** C*H*W values in [0, 1]. */
  readonly image: Float32Array;
  /** The image's index: with the seed, it addresses every random number (the CLI uses the dataset index). */
  readonly idx: number;
  /** The true label when known (a shipped digit), else null. */
  readonly label: number | null;
  readonly sigma: number;
  readonly method: string;
  /** The method's settings as users know them (`K`, `steps`, ...). */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly n0: number;
  /** Cap on estimation draws. */
  readonly n: number;
  readonly alpha: number;
  /** Certify up to this radius (radii 0.25, 0.5, ... below it, then it), as the CLI's --max-radius. */
  readonly maxRadius: number;
  readonly seed: number;
  readonly batch: number;
}

export type ToWorker = { readonly type: 'load'; readonly zooUrl: string; readonly device: 'wasm' | 'webgpu' } | CertifyRequest;

export type FromWorker =
  | { readonly type: 'loaded'; readonly runtime: string; readonly note: string | null }
  | { readonly type: 'load-error'; readonly message: string }
  | { readonly type: 'settings-error'; readonly message: string }
  | { readonly type: 'started'; readonly radii: readonly number[]; readonly description: string; readonly tStar: number | null }
  | { readonly type: 'selection'; readonly counts: readonly number[]; readonly label: number; readonly samples: readonly Float32Array[]; readonly noisy: Float32Array }
  | {
      readonly type: 'round';
      readonly n: number;
      readonly rounds: number;
      readonly counts: readonly number[];
      readonly lower: number;
      readonly radius: number | null;
      readonly stop: string | null;
      readonly samples: readonly Float32Array[];
      readonly noisy: Float32Array;
    }
  | {
      readonly type: 'done';
      readonly label: number;
      readonly lower: number;
      readonly radius: number | null;
      readonly stop: string;
      readonly estimation: number;
      readonly rounds: number;
      readonly seconds: number;
      readonly evaluations: { readonly denoiser: number; readonly classifier: number };
    }
  | { readonly type: 'run-error'; readonly message: string };
