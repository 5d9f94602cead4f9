// The variant's agreement with its fp32 model on real inputs, against the tolerance its manifest is shipped with.
// Usage: node tools/variants/verify.mjs [packages/zoo-mnist/models/denoiser-int8.json]
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agreement } from './agreement.mjs';
import { TOLERANCE } from './tolerance.mjs';

const manifestPath = process.argv[2] ?? fileURLToPath(new URL('../../packages/zoo-mnist/models/denoiser-int8.json', import.meta.url));
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const dir = dirname(manifestPath);
const rows = await agreement(join(dir, manifest.training.variant.of.file), join(dir, manifest.file), manifest.diffusion);
let ok = true;
for (const r of rows) {
  const pass = r.eps <= TOLERANCE && r.v <= TOLERANCE;
  ok &&= pass;
  console.log(`sigma ${r.sigma} (t ${r.t}): eps relative RMS ${r.eps.toFixed(4)}, v relative RMS ${r.v.toFixed(4)}, largest |eps deviation| ${r.epsMax.toFixed(3)}: ${pass ? 'within' : 'OUTSIDE'} ${TOLERANCE}`);
}
process.exitCode = ok ? 0 : 1;
