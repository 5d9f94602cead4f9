import { type ZooCatalog, zooCatalog } from '@densepure/datasets';
import { fileURLToPath } from 'node:url';

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

/**
 * The Fashion-MNIST diffusion model (ONNX), manifest `denoiser.json` beside it. Written by tools/train only once its
 * training run has finished: until then the file is absent and loading it fails naming this path (see README).
 */
export const denoiserPath = here('../models/denoiser.onnx');
export const denoiserManifestPath = here('../models/denoiser.json');
/** The Fashion-MNIST classifier (ONNX), trained on clean images only; manifest `classifier.json` beside it. */
export const classifierPath = here('../models/classifier.onnx');
export const classifierManifestPath = here('../models/classifier.json');
/** The held-out Fashion-MNIST test split (the 10,000 t10k images) in DPDS format, `fashion-test.json` beside it. */
export const testSetPath = here('../data/fashion-test.bin');
export const testSetInfoPath = here('../data/fashion-test.json');
export const classNames: readonly string[] = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** What 'default' names, as a catalog for @densepure/runner; every other spec is a path. */
export const catalog: ZooCatalog = zooCatalog({ denoiserPath, classifierPath, testSetPath, classNames });
