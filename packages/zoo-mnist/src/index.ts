import { type ZooCatalog, zooCatalog } from '@densepure/datasets';
import { fileURLToPath } from 'node:url';

const here = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

/** The shipped MNIST diffusion model (ONNX) — its manifest is `denoiser.json` beside it. */
export const denoiserPath = here('../models/denoiser.onnx');
export const denoiserManifestPath = here('../models/denoiser.json');
/** The shipped MNIST classifier (ONNX) — manifest `classifier.json` beside it. */
export const classifierPath = here('../models/classifier.onnx');
export const classifierManifestPath = here('../models/classifier.json');
/** The held-out MNIST test split in DPDS format (see @densepure/datasets), with `mnist-test.json` beside it. */
export const testSetPath = here('../data/mnist-test.bin');
export const testSetInfoPath = here('../data/mnist-test.json');
export const classNames: readonly string[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** What 'default' names, as a catalog for @densepure/runner; every other spec is a path. */
export const catalog: ZooCatalog = zooCatalog({ denoiserPath, classifierPath, testSetPath, classNames });
