// Copies the shipped MNIST models (with their manifests) and test split into public/zoo/, which vite serves and
// copies into the bundle as they are: the page loads them by URL beside each other, as the manifests name them.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const zoo = join(here, '..', '..', '..', 'packages', 'zoo-mnist');
const out = join(here, '..', 'public', 'zoo');
const files = ['models/denoiser.json', 'models/denoiser.onnx', 'models/classifier.json', 'models/classifier.onnx', 'data/mnist-test.bin', 'data/mnist-test.json'];
for (const f of files) {
  mkdirSync(dirname(join(out, f)), { recursive: true });
  copyFileSync(join(zoo, f), join(out, f));
}
