// Runs the Python exporter's own tests (test_export.py: the project's UNet and classifier and a guided-diffusion
// stand-in exported to ONNX and checked against torch with onnxruntime-node at 1e-4) inside `pnpm test`.
// They need Debian's python3-torch and python3-onnx for /usr/bin/python3: .ci/run installs them, so in CI a
// missing torch is a failure; on a developer machine without them the test is skipped and says why.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const python = '/usr/bin/python3';
const probe = spawnSync(python, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
const haveTorch = probe.status === 0;
const inCi = process.env.CI === 'true';

describe('tools/export (Python, offline)', () => {
  it.skipIf(!haveTorch && !inCi)(
    haveTorch || inCi ? 'test_export.py passes: exports match torch to 1e-4 under onnxruntime-node' : 'skipped: python3-torch / python3-onnx not installed (apt-get install -y python3-torch python3-onnx)',
    () => {
      expect(haveTorch, `import torch, onnx failed under ${python}: ${probe.stderr}\ninstall them: apt-get install -y python3-torch python3-onnx python3-numpy`).toBe(true);
      const r = spawnSync(python, ['-m', 'unittest', 'tools/export/test_export.py', '-v'], { cwd: root, encoding: 'utf8', env: { ...process.env, PYTHONWARNINGS: 'ignore' } });
      const tail = `${r.stdout}\n${r.stderr}`.split('\n').slice(-40).join('\n');
      expect(r.status, tail).toBe(0);
      expect(r.stderr).toMatch(/Ran \d+ tests/);
      expect(r.stderr).toMatch(/\nOK/);
    },
  );
});
