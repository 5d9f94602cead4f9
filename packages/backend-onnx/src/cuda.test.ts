// Issue 12 item 7: asking for cuda where it cannot run prints nothing of onnxruntime's own: the fallback is
// reported once, in metadata.runtime. Runs in a child process so onnxruntime's native log (written straight to
// the process's stdout/stderr) can be captured.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeTinyModels } from '@densepure/backend/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir = '';
let model = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'densepure-cuda-'));
  model = (await writeTinyModels(dir)).denoiser;
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const packageDir = fileURLToPath(new URL('..', import.meta.url));

describe('--device cuda without CUDA', () => {
  for (const workers of [0, 1]) {
    it(`prints no raw onnxruntime lines (workers ${workers})`, () => {
      // A script file, not --eval: worker threads inherit the process's execArgv.
      const script = join(dir, `check-${workers}.mjs`);
      writeFileSync(
        script,
        `const { loadDenoiser } = await import(${JSON.stringify(pathToFileURL(join(packageDir, 'node_modules/@densepure/backend/dist/index.js')).href)});
        await import(${JSON.stringify(pathToFileURL(join(packageDir, 'dist/index.js')).href)});
        const r = await loadDenoiser(${JSON.stringify(model)}, { backend: 'onnx', device: 'cuda', workers: ${workers} })();
        if (r._tag === 'Left') { console.log('LEFT ' + r.left.message); process.exit(1); }
        console.log('RUNTIME ' + r.right.metadata.runtime);
        await r.right.dispose();`,
      );
      // 2>&1: onnxruntime's native logger may write to either stream.
      const out = execFileSync('sh', ['-c', 'node "$0" 2>&1', script], { encoding: 'utf8' });
      expect(out).toMatch(/^RUNTIME onnxruntime-node/m);
      expect(out).not.toContain('onnxruntime::');
      expect(out).not.toMatch(/\[E:onnxruntime/);
      expect(out.trim().split('\n')).toHaveLength(1);
    }, 60_000);
  }
});
