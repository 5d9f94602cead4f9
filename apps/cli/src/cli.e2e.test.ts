// End-to-end tests of the built `densepure` binary under plain node (no vitest transform): exit codes,
// messages, files left behind, resume after kill -9. Uses the shipped MNIST models.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeDpds } from '@densepure/datasets';
import { writeTinyModels } from '@densepure/backend/testing';
import * as zoo from '@densepure/zoo-mnist';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'densepure-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

// A quick certify setting on the shipped models: one-shot denoising, few draws.
const quick = ['--one-shot', '--N0', '10', '--N', '40', '--batch', '50', '--progress', 'none'];
const dataRows = (path: string): string[][] =>
  readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

describe('densepure CLI (built binary, plain node)', () => {
  it('prints its version and help', () => {
    expect(cli('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = cli('certify', '--help');
    expect(help.code).toBe(0);
    for (const flag of ['--sigma', '--N0', '--N', '--alpha', '--batch', '--skip', '--max', '--K', '--steps', '--spacing', '--one-shot', '--seed', '--denoiser', '--classifier', '--backend', '--dataset', '--out']) {
      expect(help.stdout).toContain(flag);
    }
  });

  it('info lists the onnx backend and the shipped models', () => {
    const r = cli('info', '--json');
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.backends.map((b: { name: string }) => b.name)).toContain('onnx');
    expect(info.denoiser.learnedVariance).toBe(true);
    expect(info.classifier.numClasses).toBe(10);
    expect(info.dataset.size).toBeGreaterThanOrEqual(1000);
  });

  it('certifies a few images and writes the Cohen TSV and a complete sidecar', () => {
    const out = join(work, 'quick.tsv');
    const r = cli('certify', '--max', '3', ...quick, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('certified accuracy');
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('idx\tlabel\tpredict\tradius\tcorrect\ttime');
    expect(lines).toHaveLength(4);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(sidecar.status).toBe('complete');
    expect(sidecar.identity.seed).toBe(0);
    expect(sidecar.models.denoiser.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 240_000);

  it('certifies sequentially: same table columns, a cost file, a summary of draws and evaluations', () => {
    const out = join(work, 'sequential.tsv');
    const r = cli('certify', '--skip', '500', '--max', '1001', '--one-shot', '--N0', '20', '--N', '2000', '--radii', '0.25,0.5', '--batch', '100', '--progress', 'none', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/mean per image \(3 images\): [\d.]+ draws \([\d.]+ selection \+ [\d.]+ estimation\), [\d.]+ denoiser and [\d.]+ classifier evaluations/);
    // One evaluation per draw (DDS): fixed N = 2000 would make 2,020 per image.
    expect(r.stdout).toMatch(/against fixed N = 2,000 \(2,020 draws per image, 2,020 denoiser evaluations at this run's rate per draw\): [\d.]+x fewer, [\d,]+ evaluations saved per image/);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('idx\tlabel\tpredict\tradius\tcorrect\ttime');
    const costs = readFileSync(`${out}.cost`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(costs.map((c) => c.idx)).toEqual(dataRows(out).map((row) => Number(row[0])));
    for (const c of costs) expect(c.draws.estimation).toBeLessThan(2000);
    for (const c of costs) expect(c.draws.selection).toBeLessThanOrEqual(20);
    expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).identity.sequential.radii).toEqual([0.25, 0.5]);
  }, 240_000);

  it('certifies with a cascade over sigmas: Cohen columns, which sigma answered in the cost file, the cascade in the identity', () => {
    const out = join(work, 'cascade.tsv');
    const r = cli('certify', '--max', '3', ...quick, '--sigmas', '0.5,0.25', '--p0', '0.6', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('idx\tlabel\tpredict\tradius\tcorrect\ttime');
    const costs = readFileSync(`${out}.cost`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(costs.map((c) => c.idx)).toEqual([0, 1, 2]);
    for (const c of costs) expect([0.5, 0.25]).toContain(c.cascade.sigma);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(sidecar.identity).toMatchObject({ sigma: 0.5, cascade: { sigmas: [0.5, 0.25], p0: 0.6 } });
  }, 240_000);

  it('refuses to resume a run with another configuration', () => {
    const out = join(work, 'quick.tsv');
    const r = cli('certify', '--max', '3', ...quick, '--sigma', '0.25', '--out', out);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to resume.*sigma: 0.5 -> 0.25/);
  });

  it('after kill -9 mid-run, the same command yields the same rows as an uninterrupted run', async () => {
    const args = ['certify', '--max', '6', ...quick];
    const reference = join(work, 'reference.tsv');
    expect(cli(...args, '--out', reference).code).toBe(0);

    const out = join(work, 'killed.tsv');
    const child: ChildProcess = spawn(process.execPath, [bin, ...args, '--out', out], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (existsSync(out) && dataRows(out).length >= 2) {
          clearInterval(timer);
          child.kill('SIGKILL');
          resolve();
        }
      }, 20);
      child.on('exit', () => {
        clearInterval(timer);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((r) => child.once('exit', r));
    expect(dataRows(out).length).toBeLessThan(6);
    const sidecar = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
    expect(sidecar.status).toBe('running');

    const resumed = cli(...args, '--out', out);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('resumed');
    expect(dataRows(out)).toEqual(dataRows(reference));
  }, 480_000);

  it('--backend tfjs gives the same rows as --backend onnx (same seed)', () => {
    // A smaller setting than the README's: tfjs on wasm runs the UNet ~5x slower than onnxruntime here.
    for (const method of [['--one-shot'], ['--K', '2', '--steps', '2']]) {
      const rows: Record<string, string[][]> = {};
      for (const backend of ['onnx', 'tfjs']) {
        const out = join(work, `swap-${backend}-${method.length}.tsv`);
        const r = cli('certify', '--backend', backend, '--skip', '500', '--max', '1001', '--N0', '10', '--N', '30', '--batch', '40', '--progress', 'none', ...method, '--out', out);
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(readFileSync(`${out}.json`, 'utf8')).models.classifier.backend).toBe(backend);
        rows[backend] = dataRows(out);
      }
      const [onnx, tfjs] = [rows.onnx!, rows.tfjs!];
      expect(tfjs.map((r) => [r[0], r[1], r[2], r[4]])).toEqual(onnx.map((r) => [r[0], r[1], r[2], r[4]]));
      tfjs.forEach((r, i) => expect(Math.abs(Number(r[3]) - Number(onnx[i]![3]))).toBeLessThanOrEqual(1e-3));
    }
  }, 480_000);

  describe('bad input: clear error, non-zero exit, no output file', () => {
    const expectFailure = (args: string[], code: number, pattern: RegExp): void => {
      const out = join(work, `bad-${Math.random().toString(36).slice(2)}.tsv`);
      const r = cli(...args, '--out', out);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(pattern);
      expect(existsSync(out)).toBe(false);
    };

    it('unknown flag', () => expectFailure(['certify', '--sigmaa', '0.5'], 2, /unknown option '--sigmaa'/));
    it('sigma <= 0', () => expectFailure(['certify', '--sigma', '0'], 2, /--sigma must be a positive number/));
    it('sigma beyond the schedule', () => expectFailure(['certify', '--sigma', '100', ...quick], 2, /largest sigma/));
    it('N0 > N', () => expectFailure(['certify', '--N0', '500', '--N', '100'], 2, /--N0 \(500\) must not exceed --N \(100\)/));
    it('non-numeric flag', () => expectFailure(['certify', '--N', 'many'], 2, /--N must be a whole number/));
    it('missing model', () => expectFailure(['certify', '--denoiser', join(work, 'nope.onnx'), ...quick], 1, /nope.onnx/));

    it('corrupt model', () => {
      const dir = join(work, 'corrupt');
      spawnSync('mkdir', ['-p', dir]);
      copyFileSync(zoo.denoiserManifestPath, join(dir, 'denoiser.json'));
      writeFileSync(join(dir, 'denoiser.onnx'), 'garbage');
      expectFailure(['certify', '--denoiser', join(dir, 'denoiser.onnx'), ...quick], 1, /corrupt.*denoiser.onnx|sha256/);
    });

    it('model shape that does not fit the dataset', async () => {
      const tiny = await writeTinyModels(join(work, 'tiny'));
      expectFailure(['certify', '--denoiser', tiny.denoiser, ...quick], 2, /denoiser takes 1x4x4 images but the dataset has 1x28x28/);
    });

    it('NaN in an image', () => {
      const pixels = new Float32Array(2 * 784).fill(0.5);
      pixels[784 + 10] = Number.NaN;
      const file = join(work, 'nan.bin');
      writeFileSync(file, encodeDpds(pixels, Uint8Array.from([1, 2]), [1, 28, 28], 10));
      expectFailure(['certify', '--dataset', file, ...quick], 1, /image 1 holds NaN/);
    });

    describe('sequential certification', () => {
      // Nothing at all: no TSV, sidecar or cost file, not even the output's folder.
      const expectNothingWritten = (args: string[], pattern: RegExp): void => {
        const dir = join(work, `seq-bad-${Math.random().toString(36).slice(2)}`);
        const r = cli('certify', ...args, '--out', join(dir, 'out.tsv'));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(existsSync(dir)).toBe(false);
      };
      it('a radius the cap cannot reach, with the N it needs', () =>
        expectNothingWritten(['--sigma', '0.25', '--N', '1000', '--radii', '0.25,0.5,0.75,1'], /--radii: radius 0\.75 cannot be certified at sigma 0\.25 .* --N = 1000 .*needs --N >= \d+/));
      it('radii not increasing', () => expectNothingWritten(['--radii', '0.5,0.25'], /--radii: the radii must be strictly increasing/));
      it('radii not positive', () => expectNothingWritten(['--radii', '-0.25,0.5'], /--radii: radius -0\.25 .*must be a finite number > 0/));
      it('--max-radius not positive', () => expectNothingWritten(['--max-radius', '0'], /--max-radius must be a number > 0/));
      it('radii that are not numbers', () => expectNothingWritten(['--radii', '0.25,big'], /--radii must be a comma-separated list of numbers/));
      it('sequential flags with fixed N', () => expectNothingWritten(['--mode', 'fixed', '--radii', '0.25'], /--radii applies to sequential certification only/));
      it('--group without radii', () => expectNothingWritten(['--group', '4'], /--group applies to sequential certification only/));
      it('--selection or --futility without radii', () => expectNothingWritten(['--selection', 'fixed', '--futility', '0.1'], /--selection and --futility apply to sequential certification only/));
      it('--futility outside (0, 1)', () => expectNothingWritten(['--radii', '0.25', '--futility', '2'], /--futility: the futility level must be in \(0, 1\)/));
      it('--radii and --max-radius together', () => expectNothingWritten(['--radii', '0.25', '--max-radius', '1'], /--radii or --max-radius, not both/));
      it('--mode sequential without radii', () => expectNothingWritten(['--mode', 'sequential'], /needs the radii to certify/));
      it('--max-draws-per-job with sequential radii', () =>
        expectNothingWritten(['--radii', '0.25', '--queue', 'redis://127.0.0.1:1/0', '--max-draws-per-job', '50'], /--max-draws-per-job applies to fixed N only/));
      it('--max-draws-per-job without --queue', () => expectNothingWritten(['--max-draws-per-job', '50'], /--max-draws-per-job splits queued jobs: give --queue/));
    });

    describe('cascade certification', () => {
      const expectNothingWritten = (args: string[], pattern: RegExp): void => {
        const dir = join(work, `cascade-bad-${Math.random().toString(36).slice(2)}`);
        const r = cli('certify', ...args, '--out', join(dir, 'out.tsv'));
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(pattern);
        expect(existsSync(dir)).toBe(false);
      };
      it('sigmas not decreasing', () => expectNothingWritten(['--sigmas', '0.25,0.5'], /--sigmas: the cascade's sigmas must be strictly decreasing .*0\.5 follows 0\.25/));
      it('p0 outside (0, 1)', () => expectNothingWritten(['--sigmas', '0.5,0.25', '--p0', '1.5'], /--p0: p0 must be a number in \(0, 1\), got 1\.5/));
      it('p0 below 1/2', () => expectNothingWritten(['--sigmas', '0.5,0.25', '--p0', '0.3'], /--p0: p0 must be at least 0\.5/));
      it('--sigma other than the first', () => expectNothingWritten(['--sigmas', '0.5,0.25', '--sigma', '0.25'], /--sigma 0\.25 is not the cascade's first sigma 0\.5/));
      it('--mode cascade without sigmas', () => expectNothingWritten(['--mode', 'cascade'], /--mode cascade needs its noise levels/));
    });

    it('unwritable output', () => {
      const r = cli('certify', '--max', '2', ...quick, '--out', '/proc/densepure/out.tsv');
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot write --out \/proc\/densepure\/out.tsv/);
    });
  });
});
