// The hostile-input list, run against the built `densepure` (and `densepure-eval`) binaries under plain
// node: each case builds its bad input in a temp folder, runs the real command, and checks the exit code, the
// message and what is left on disk. bad-input.e2e.test.ts asserts every case; scripts/bad-inputs.mjs prints the
// table alone. Not shipped (package.json "files" leaves it out).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { sha256Hex } from '@densepure/backend';
import { TINY_CLASSES, TINY_PIXELS, buildOnnxModel, tinyClassifierManifest, writeTinyModels } from '@densepure/backend/testing';
import { encodeDpds } from '@densepure/datasets';
import { parseElapsed } from '@densepure/runner';
import { type TestRedis, startTestRedis } from '@densepure/queue/testing';

// The binaries under test; DENSEPURE_BIN / DENSEPURE_EVAL_BIN point the list at another build (an older checkout).
export const cliBin = process.env.DENSEPURE_BIN ?? fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const evalBin = process.env.DENSEPURE_EVAL_BIN ?? fileURLToPath(new URL('../../eval/dist/bin.js', import.meta.url));

export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One row of the table: what was tried, the exit code, the message a user sees, and any failed expectation. */
export interface CaseResult {
  readonly item: string;
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly problems: readonly string[];
}

export interface BadInputCase {
  readonly item: string;
  readonly name: string;
  run(): Promise<Verdict>;
}

/** A started CLI process: its output so far, and its outcome once it exits. */
function launch(bin: string, args: readonly string[], options: { closeStdout?: boolean } = {}): { child: ChildProcess; stderr: () => string; done: Promise<Outcome> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  // A reader that is gone before the first line is written, as `| head -1` is by the second.
  if (options.closeStdout === true) child.stdout.destroy();
  else child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Outcome>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal === null ? null : 128), stdout, stderr })));
  return { child, stderr: () => stderr, done };
}

const run = (bin: string, args: readonly string[], options: { closeStdout?: boolean } = {}): Promise<Outcome> => launch(bin, args, options).done;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, test: () => boolean, child?: ChildProcess, ms = 120_000, poll?: () => Promise<void>): Promise<void> {
  const end = Date.now() + ms;
  for (await poll?.(); !test(); await poll?.()) {
    if (child !== undefined && child.exitCode !== null) throw new Error(`the first process ended (code ${child.exitCode}) before ${what}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The fixtures' folder, shown as <tmp> in messages. */
let workDir = '\0';

const dataRows = (path: string): string[] => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(1).filter((l) => l !== '') : []);

/** The line a user reads: the first `error:` line, else the first line matching `pattern`, else the first line. */
function messageOf(o: Outcome, pattern?: RegExp): string {
  const lines = `${o.stderr}\n${o.stdout}`.split('\n').filter((l) => l.trim() !== '');
  const at = lines.findIndex((l) => l.startsWith('error:'));
  // An error that lists its problems on the lines below (`invalid experiment:`) shows the first of them too.
  const first = at >= 0 ? (lines[at]!.endsWith(':') && at + 1 < lines.length ? `${lines[at]} ${lines[at + 1]!.trim()}` : lines[at]) : undefined;
  const found = first ?? lines.find((l) => pattern?.test(l) === true) ?? lines[0] ?? '(nothing printed)';
  // Short enough for a table: the temp folder as <tmp>, a long run of one letter as its count.
  const line = found.split(workDir).join('<tmp>').replace(/(\w)\1{19,}/g, (run) => `${run[0]}{${run.length}}`);
  return line.length > 240 ? `${line.slice(0, 237)}...` : line;
}

/** What a case found: the exit code, the message a user reads, and the expectations it missed. */
export type Verdict = Omit<CaseResult, 'item' | 'name'>;

/** Checks an outcome's code and message (and that no stack trace was printed); `also` adds checks of files left behind. */
function judge(o: Outcome, code: number, pattern: RegExp, also: () => string[] = () => []): Verdict {
  const problems: string[] = [];
  if (o.code !== code) problems.push(`exit code ${o.code}, expected ${code}`);
  if (!pattern.test(`${o.stderr}\n${o.stdout}`)) problems.push(`output does not match ${pattern}`);
  if (/\n\s+at .*:\d+:\d+\)?\n/.test(o.stderr)) problems.push('printed a stack trace');
  problems.push(...also());
  return { code: String(o.code), message: messageOf(o, pattern), problems };
}

/** Runs `body` with a private redis-server (free port, temp dir), stopped afterwards. */
async function withRedis<T>(body: (redis: TestRedis) => Promise<T>): Promise<T> {
  const redis = await startTestRedis();
  try {
    return await body(redis);
  } finally {
    await redis.stop();
  }
}

const cited = (item: string, name: string, where: string): BadInputCase => ({
  item,
  name,
  run: async () => ({ code: '-', message: `not reachable from the CLI; covered by ${where}`, problems: [] }),
});

/** Writes the fixtures under `work` and returns the cases in issue order. */
export async function badInputCases(work: string): Promise<BadInputCase[]> {
  mkdirSync(work, { recursive: true });
  workDir = work;
  const tiny = await writeTinyModels(join(work, 'models'));
  const images = 12;
  const pixels = Float32Array.from({ length: images * TINY_PIXELS }, (_, i) => ((i * 37) % 256) / 255);
  const labels = Uint8Array.from({ length: images }, (_, i) => i % TINY_CLASSES);
  const dpds = join(work, 'tiny.bin');
  writeFileSync(dpds, encodeDpds(pixels, labels, [1, 4, 4], TINY_CLASSES));
  const out = (name: string): string => join(work, 'out', name);
  mkdirSync(join(work, 'out'));
  const models = ['--denoiser', tiny.denoiser, '--classifier', tiny.classifier];
  const quick = [...models, '--dataset', dpds, '--N0', '10', '--N', '100', '--K', '2', '--steps', '3', '--progress', 'none'];
  // Slow enough that a second process starts while the first is still on its first images.
  const slow = [...models, '--dataset', dpds, '--N0', '10', '--N', '4000', '--batch', '20', '--one-shot', '--progress', 'none'];
  const cli = (...args: string[]): Promise<Outcome> => run(cliBin, args);

  /** A model folder holding a copy of a tiny model whose manifest `edit` changes. */
  const variant = (name: string, source: string, edit: (m: Record<string, unknown>) => Record<string, unknown>): string => {
    const dir = join(work, 'variants', name);
    mkdirSync(dir, { recursive: true });
    const stem = source.replace(/\.onnx$/, '');
    writeFileSync(join(dir, 'model.onnx'), readFileSync(source));
    const manifest = JSON.parse(readFileSync(`${stem}.json`, 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'model.json'), JSON.stringify(edit({ ...manifest, file: 'model.onnx' }), null, 2));
    return join(dir, 'model.onnx');
  };

  /** A running first process on `target`, frozen (SIGSTOP) once it has written `rows` rows: alive, holding its lock. */
  const frozenFirst = async (bin: string, args: string[], target: string, rows = 1): Promise<ChildProcess> => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
    await until(`${rows} row(s) in ${target}`, () => dataRows(target).length >= rows, child);
    child.kill('SIGSTOP');
    return child;
  };
  const killed = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };

  // The image folder of item 2a: 3 class folders of 4x4 grey PNGs.
  const folder = join(work, 'folder');
  const png = (value: number): Promise<Buffer> => sharp(Buffer.alloc(16, value), { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  for (const [c, cls] of ['a', 'b', 'c'].entries()) {
    mkdirSync(join(folder, cls), { recursive: true });
    for (let i = 0; i < 2; i++) writeFileSync(join(folder, cls, `${i}.png`), await png(40 * c + 10 * i));
  }

  // A classifier whose graph output is dynamic ('C') and gives 4 logits where the manifest promises 3: every batch fails.
  const wrongSize = (() => {
    const dir = join(work, 'variants', 'wrong-size');
    mkdirSync(dir, { recursive: true });
    const bytes = buildOnnxModel({
      name: 'wrong-size',
      inputs: [{ name: 'x', type: 'float32', shape: ['B', 1, 4, 4] }],
      outputs: [{ name: 'scores', type: 'float32', shape: ['B', 'C'] }],
      initializers: [
        { name: 'W', type: 'float32', dims: [TINY_PIXELS, 4], values: Array.from({ length: TINY_PIXELS * 4 }, (_, i) => (i % 5) / 5) },
        { name: 'b', type: 'float32', dims: [4], values: [0, 0, 0, 0] },
      ],
      nodes: [
        { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['flat', 'W', 'b'], outputs: ['scores'] },
      ],
    });
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const manifest = { ...tinyClassifierManifest('model.onnx', bytes), outputs: [{ name: 'scores', dtype: 'float32', shape: ['B', TINY_CLASSES] }] };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
    return join(dir, 'model.onnx');
  })();

  // A tfjs graph model whose manifest lists its weight file with a sha256; the weight file then changes.
  const tfjsChanged = (() => {
    const dir = join(work, 'variants', 'tfjs');
    mkdirSync(join(dir, 'graph'), { recursive: true });
    const json = Buffer.from(JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: [] }] }));
    writeFileSync(join(dir, 'graph', 'model.json'), json);
    const weights = Buffer.from([1, 2, 3, 4]);
    writeFileSync(join(dir, 'graph', 'group1-shard1of1.bin'), weights);
    const base = JSON.parse(readFileSync(tiny.denoiser.replace(/\.onnx$/, '.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({ ...base, format: 'tfjs-graph', file: 'graph/model.json', sha256: sha256Hex(json), sizeBytes: json.length, weights: [{ file: 'graph/group1-shard1of1.bin', sha256: sha256Hex(weights), sizeBytes: 4 }] }),
    );
    writeFileSync(join(dir, 'graph', 'group1-shard1of1.bin'), Buffer.from([1, 2, 3, 5]));
    return join(dir, 'model.json');
  })();

  const item = (i: string) => (name: string, body: () => Promise<Verdict>): BadInputCase => ({ item: i, name, run: body });
  const i1 = item('1');
  const i2 = item('2');
  const i3 = item('3');
  const i4 = item('4');
  const i5 = item('5');
  const i7 = item('7');
  const r1 = item('r2.1');
  const r2 = item('r2.2');
  const r3 = item('r2.3');
  const r4 = item('r2.4');
  const r5 = item('r2.5');
  const r6 = item('r2.6');
  const r7 = item('r2.7');
  const r8 = item('r2.8');
  const r9 = item('r2.9');
  const r10 = item('r2.10');
  // A worker may open the tiny models (found for a run by sha256) and the tiny dataset, nothing else.
  const workerAllows = ['--models', join(work, 'models'), '--data', dpds];
  // The method family's bad input (DiffSmooth's local smoothing): refused before any model runs, nothing written.
  const i21 = item('21');
  const diffsmooth = [...models, '--dataset', dpds, '--N0', '10', '--N', '100', '--progress', 'none', '--method', 'diffsmooth'];
  const nothingAt = (target: string) => (): string[] => (existsSync(target) || existsSync(`${target}.json`) ? ['files written'] : []);
  // The cascade's bad input (sigmas not decreasing, p0 outside [0.5, 1)): the same.
  const cascade = [...models, '--dataset', dpds, '--N0', '10', '--N', '100', '--progress', 'none', '--one-shot'];

  const cases: BadInputCase[] = [
    i1('two certify runs on one --out: the second is refused while the first runs', async () => {
      const target = out('two.tsv');
      const first = await frozenFirst(cliBin, ['certify', ...slow, '--out', target], target);
      try {
        const second = await cli('certify', ...slow, '--out', target);
        return judge(second, 1, /is being written by another densepure run \(pid \d+ on .*; wait for it to finish or choose another output/, () =>
          dataRows(target).length > images ? ['more rows than images'] : [],
        );
      } finally {
        await killed(first);
      }
    }),
    i1('after kill -9 of the first, the rerun takes over its stale lock and resumes: 12 rows, each idx once', async () => {
      const target = out('two.tsv');
      const before = dataRows(target).length;
      const rerun = await cli('certify', ...slow, '--out', target);
      return judge(rerun, 0, /took over the stale lock two\.tsv\.lock of pid \d+/, () => {
        const idx = dataRows(target).map((l) => l.split('\t')[0]);
        const problems = [];
        if (idx.length !== images || new Set(idx).size !== images) problems.push(`${idx.length} rows, ${new Set(idx).size} distinct idx`);
        if (!/resum/.test(rerun.stdout + rerun.stderr) || before === 0) problems.push('did not resume');
        if (existsSync(`${target}.lock`)) problems.push('lock left behind');
        return problems;
      });
    }),
    i1('Ctrl-C (SIGINT) on a run removes its lock; exit 130', async () => {
      const target = out('interrupted.tsv');
      const child = spawn(process.execPath, [cliBin, 'certify', ...slow, '--out', target], { stdio: 'ignore' });
      await until('a row', () => dataRows(target).length >= 1, child);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      const code = await exited;
      const o = { code, stdout: '', stderr: existsSync(`${target}.lock`) ? 'lock left behind' : `exited ${code}; ${target}.lock removed` };
      return judge(o, 130, /lock removed/);
    }),
    i1('two predict runs on one --out: the second is refused', async () => {
      const target = out('predict.tsv');
      const predictSlow = [...models, '--dataset', dpds, '--N', '4000', '--batch', '20', '--one-shot', '--out', target];
      const first = await frozenFirst(cliBin, ['predict', ...predictSlow], `${target}.partial`);
      try {
        const second = await cli('predict', ...predictSlow);
        return judge(second, 1, /is being written by another densepure run \(pid \d+/);
      } finally {
        await killed(first);
      }
    }),
    i1('two densepure-eval runs on one grid: the second is refused on the cell the first is writing', async () => {
      const yaml = join(work, 'grid.yaml');
      writeFileSync(
        yaml,
        [
          'name: locked-grid',
          `models: { denoiser: ${JSON.stringify(tiny.denoiser)}, classifier: ${JSON.stringify(tiny.classifier)} }`,
          `dataset: { spec: ${JSON.stringify(dpds)}, skip: 1 }`,
          'methods: [dds]',
          'sigmas: [0.5]',
          'backends: [auto]',
          'certify: { N0: 10, N: 4000, alpha: 0.001 }',
          'seed: 0',
          'batch: 20',
          'workers: 0',
          '',
        ].join('\n'),
      );
      const results = join(work, 'grid-results');
      const cell = join(results, 'locked-grid', 'dds_sigma0.5_auto.tsv');
      const first = await frozenFirst(evalBin, ['run', yaml, '--results', results], cell);
      try {
        const second = await run(evalBin, ['run', yaml, '--results', results]);
        return judge(second, 1, /dds_sigma0\.5_auto\.tsv is being written by another densepure run \(pid \d+/);
      } finally {
        await killed(first);
      }
    }),

    i2('image folder changed between runs: refused, naming datasetSha256', async () => {
      const target = out('folder.tsv');
      const first = await cli('certify', ...quick, '--dataset', folder, '--out', target);
      if (first.code !== 0) return judge(first, 0, /wrote/);
      writeFileSync(join(folder, 'b', '1.png'), await png(200));
      const second = await cli('certify', ...quick, '--dataset', folder, '--out', target);
      return judge(second, 1, /refusing to resume .*datasetSha256: "[0-9a-f]{64}" -> "[0-9a-f]{64}"/, () => (dataRows(target).length !== 6 ? ['rows changed'] : []));
    }),
    i2('DPDS file changed between runs: refused, naming datasetSha256', async () => {
      const target = out('dpds.tsv');
      const file = join(work, 'changing.bin');
      writeFileSync(file, encodeDpds(pixels, labels, [1, 4, 4], TINY_CLASSES));
      const first = await cli('certify', ...quick, '--dataset', file, '--max', '3', '--out', target);
      if (first.code !== 0) return judge(first, 0, /wrote/);
      writeFileSync(file, encodeDpds(pixels.map((v) => 1 - v), labels, [1, 4, 4], TINY_CLASSES));
      return judge(await cli('certify', ...quick, '--dataset', file, '--max', '3', '--out', target), 1, /refusing to resume .*datasetSha256/);
    }),
    i2('classifier manifest preprocessing changed between runs: refused, naming classifierManifestSha256', async () => {
      const target = out('manifest.tsv');
      const dir = join(work, 'variants', 'preprocessing');
      const classifier = variant('preprocessing', tiny.classifier, (m) => m);
      const first = await cli('certify', ...quick, '--classifier', classifier, '--max', '3', '--out', target);
      if (first.code !== 0) return judge(first, 0, /wrote/);
      const manifest = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...manifest, normalization: { mean: [0.5], std: [0.25], appliedInGraph: false } }));
      return judge(await cli('certify', ...quick, '--classifier', classifier, '--max', '3', '--out', target), 1, /refusing to resume .*classifierManifestSha256/);
    }),
    i2('tfjs weight file changed after the manifest recorded its sha256: refused at load', async () =>
      judge(await cli('certify', ...quick, '--denoiser', tfjsChanged, '--backend', 'tfjs', '--out', out('tfjs.tsv')), 1, /group1-shard1of1\.bin/, () =>
        existsSync(out('tfjs.tsv')) ? ['output written'] : [],
      ),
    ),

    i3('unknown manifest field: refused, naming it', async () =>
      judge(await cli('certify', ...quick, '--denoiser', variant('unknown-field', tiny.denoiser, (m) => ({ ...m, diffusion: { ...(m.diffusion as object), clipDenoised: true } })), '--out', out('u.tsv')), 1, /Unrecognized key.*clipDenoised/),
    ),
    i3('T = 10 without betaStart / betaEnd: betas would pass 1', async () =>
      judge(await cli('certify', ...quick, '--denoiser', variant('t10', tiny.denoiser, (m) => ({ ...m, diffusion: { ...(m.diffusion as object), T: 10 } })), '--out', out('t10.tsv')), 1, /betas must be in \(0, 1\): give betaStart and betaEnd/),
    ),

    i4("manifest file '../../etc/passwd': outside the manifest's folder", async () =>
      judge(await cli('certify', ...quick, '--classifier', variant('passwd', tiny.classifier, (m) => ({ ...m, file: '../../../../../../../../etc/passwd' })), '--out', out('p.tsv')), 1, /resolves to \/etc\/passwd, outside the manifest's folder/),
    ),
    i4('model file is a FIFO: refused at once, no hang', async () => {
      const model = variant('fifo', tiny.denoiser, (m) => ({ ...m, file: 'fifo.onnx' }));
      execFileSync('mkfifo', [join(work, 'variants', 'fifo', 'fifo.onnx')]);
      return judge(await cli('certify', ...quick, '--denoiser', model, '--out', out('fifo.tsv')), 1, /not a regular file/);
    }),
    i4('model file is a symlink to /dev/zero: refused, nothing read', async () => {
      const model = variant('zero', tiny.denoiser, (m) => ({ ...m, file: 'zero.onnx' }));
      symlinkSync('/dev/zero', join(work, 'variants', 'zero', 'zero.onnx'));
      return judge(await cli('certify', ...quick, '--denoiser', model, '--out', out('zero.tsv')), 1, /resolves to \/dev\/zero, outside|not a regular file/);
    }),
    i4('wrong sizeBytes: refused before the file is read', async () =>
      judge(await cli('certify', ...quick, '--denoiser', variant('size', tiny.denoiser, (m) => ({ ...m, sizeBytes: (m.sizeBytes as number) + 1 })), '--out', out('size.tsv')), 1, /records sizeBytes \d+/),
    ),

    i5('output name of 250 bytes (sidecar 255): certifies, temp files use short names', async () => {
      const target = out(`${'n'.repeat(246)}.tsv`);
      return judge(await cli('certify', ...quick, '--max', '2', '--out', target), 0, /wrote/, () => (dataRows(target).length !== 2 ? ['no rows'] : []));
    }),
    i5('output name of 252 bytes: refused before anything is written', async () => {
      const dir = join(work, 'out-long');
      const o = await cli('certify', ...quick, '--out', join(dir, `${'n'.repeat(248)}.tsv`));
      return judge(o, 1, /would pass the 255-byte limit of file names \(use at most 250 bytes\)/, () => (existsSync(dir) && readdirSync(dir).length > 0 ? [`left ${readdirSync(dir).join(', ')}`] : []));
    }),
    i5("first batch fails (the graph's output has the wrong size): nothing left, the corrected rerun runs", async () => {
      const target = out('first-batch.tsv');
      const failed = await cli('certify', ...quick, '--classifier', wrongSize, '--out', target);
      const result = judge(failed, 1, /scores/, () => (existsSync(target) || existsSync(`${target}.json`) ? ['files left behind'] : []));
      const rerun = await cli('certify', ...quick, '--max', '2', '--out', target);
      return rerun.code === 0 ? result : { ...result, problems: [...result.problems, `rerun exited ${rerun.code}: ${messageOf(rerun)}`] };
    }),

    cited('6', 'onnx worker dies mid-run: pending work rejected, no hang', 'packages/backend-onnx/src/pool.test.ts "a worker that dies mid-run rejects that run and every queued run"'),

    i7('certify ... | head -1 (reader gone): quiet exit, no EPIPE stack trace', async () => {
      const target = out('epipe.tsv');
      const o = await run(cliBin, ['certify', ...quick, '--max', '2', '--out', target], { closeStdout: true });
      return judge({ ...o, stdout: o.stderr === '' ? '(nothing printed; exit quietly)' : '' }, 0, /nothing printed/, () => (dataRows(target).length !== 2 ? ['run incomplete'] : []));
    }),
    i7('--steps 100000: said in words', async () =>
      judge(await cli('certify', ...quick, '--steps', '100000', '--out', out('steps.tsv')), 2, /use at most \d+ steps or the full chain$/m, () => []),
    ),
    i7('predict --out <a folder>: refused before any model runs', async () => {
      const o = await cli('predict', ...models, '--dataset', dpds, '--N', '50', '--out', join(work, 'out'));
      return judge(o, 1, /cannot write --out .*: it is a folder/, () => (/\[1\//.test(o.stderr) ? ['predicted before failing'] : []));
    }),
    i7('predict --out under a file: refused before any model runs', async () => {
      const o = await cli('predict', ...models, '--dataset', dpds, '--N', '50', '--out', join(dpds, 'x.tsv'));
      return judge(o, 1, /cannot write --out/, () => (/\[1\//.test(o.stderr) ? ['predicted before failing'] : []));
    }),
    i7('denoise --png <a folder>: refused before any model runs, no .partial.png left', async () => {
      const dir = join(work, 'pngdir');
      mkdirSync(dir);
      const o = await cli('denoise', ...models, '--dataset', dpds, '--count', '2', '--png', dir);
      return judge(o, 1, /cannot write --png .*: it is a folder/, () => (readdirSync(work).some((f) => f.endsWith('.partial.png')) ? ['.partial.png left'] : []));
    }),
    i7('--device cuda without CUDA: one fallback note per model, no raw onnxruntime lines', async () => {
      const o = await cli('certify', ...quick.filter((a) => a !== '--progress' && a !== 'none'), '--max', '1', '--device', 'cuda', '--out', out('cuda.tsv'));
      const raw = o.stderr.split('\n').filter((l) => /^\d{4}-\d\d-\d\d|\[E:onnxruntime|\[W:onnxruntime/.test(l));
      return judge(o, 0, /cuda requested but unavailable.*running on cpu/, () => (raw.length > 0 ? [`raw lines: ${raw[0]}`] : []));
    }),
    i7("output of the wrong size at run time: names the graph's output", async () =>
      judge(await cli('certify', ...quick, '--classifier', wrongSize, '--out', out('size-run.tsv')), 1, /'scores'/),
    ),
    i7('imageSize contradicting the input shape: refused at load', async () =>
      judge(await cli('certify', ...quick, '--denoiser', variant('image-size', tiny.denoiser, (m) => ({ ...m, imageSize: 8 })), '--out', out('is.tsv')), 1, /contradicts imageSize 8/),
    ),
    i7('info on a model that fails to load: non-zero exit', async () => judge(await cli('info', '--denoiser', tiny.corrupt), 1, /corrupt or unreadable model/)),
    i21('diffsmooth --sigma-l 0 with m = 5: exit 2, nothing written', async () =>
      judge(await cli('certify', ...diffsmooth, '--sigma-l', '0', '--out', out('ds-sl0.tsv')), 2, /--sigma-l must be > 0 with m > 1/, nothingAt(out('ds-sl0.tsv'))),
    ),
    i21('diffsmooth --sigma-l -0.1: exit 2, nothing written', async () =>
      judge(await cli('certify', ...diffsmooth, '--sigma-l', '-0.1', '--out', out('ds-neg.tsv')), 2, /--sigma-l must be a number > 0 \(or 0 with m = 1\)/, nothingAt(out('ds-neg.tsv'))),
    ),
    i21('diffsmooth --m 0: exit 2, nothing written', async () =>
      judge(await cli('certify', ...diffsmooth, '--m', '0', '--out', out('ds-m0.tsv')), 2, /--m must be a whole number from 1 to 65535/, nothingAt(out('ds-m0.tsv'))),
    ),
    i21('experiment with diffsmooth sigmaL 0 and m 5: exit 2, no results folder', async () => {
      const yaml = join(work, 'ds-bad.yaml');
      const results = join(work, 'ds-results');
      writeFileSync(yaml, `name: ds\ndataset: { spec: '${dpds}' }\nmodels: { denoiser: '${tiny.denoiser}', classifier: '${tiny.classifier}' }\nmethods: [{ kind: diffsmooth, m: 5, sigmaL: 0 }]\nsigmas: [0.5]\n`);
      const o = await run(evalBin, ['run', yaml, '--results', results]);
      return judge(o, 2, /methods\[0\]\.sigmaL: must be > 0 with m > 1/, () => (existsSync(results) ? ['results folder written'] : []));
    }),
    i21('cascade --sigmas 0.25,0.5 (not decreasing): exit 2, nothing written', async () =>
      judge(await cli('certify', ...cascade, '--sigmas', '0.25,0.5', '--out', out('cascade-up.tsv')), 2, /--sigmas: the cascade's sigmas must be strictly decreasing/, nothingAt(out('cascade-up.tsv'))),
    ),
    i21('cascade --p0 1.5: exit 2, nothing written', async () =>
      judge(await cli('certify', ...cascade, '--sigmas', '0.5,0.25', '--p0', '1.5', '--out', out('cascade-p0.tsv')), 2, /--p0: p0 must be a number in \(0, 1\)/, nothingAt(out('cascade-p0.tsv'))),
    ),
    i21('experiment with a cascade p0 of 0: exit 2, no results folder', async () => {
      const yaml = join(work, 'cascade-bad.yaml');
      const results = join(work, 'cascade-results');
      writeFileSync(yaml, `name: cas\ndataset: { spec: '${dpds}' }\nmodels: { denoiser: '${tiny.denoiser}', classifier: '${tiny.classifier}' }\nmethods: [dds]\nsigmas: [0.5]\ncertify: { cascade: { sigmas: [0.5, 0.25], p0: 0 } }\n`);
      const o = await run(evalBin, ['run', yaml, '--results', results]);
      return judge(o, 2, /certify\.cascade\.p0: p0 must be a number in \(0, 1\), got 0/, () => (existsSync(results) ? ['results folder written'] : []));
    }),
    cited('8', 'pnpm 10.x other than the pinned one: install runs without switching versions', 'tools/setup-check/setup.test.ts (needs the registry)'),

    // Round 2 (the manifest tool, the queue's trust boundary, sequential flags, messages): items r2.1 to r2.11.
    r1('manifest z.onnx, a symlink to /dev/zero: refused at once, nothing read', async () => {
      const dir = join(work, 'r2-zero');
      mkdirSync(dir);
      symlinkSync('/dev/zero', join(dir, 'z.onnx'));
      const started = Date.now();
      const o = await cli('manifest', join(dir, 'z.onnx'), '--kind', 'classifier');
      return judge(o, 1, /the model file .*z\.onnx is not a regular file \(it is a device\)/, () => (Date.now() - started > 20_000 ? ['slow'] : []));
    }),
    r1('manifest fifo.onnx: refused at once, no hang', async () => {
      const dir = join(work, 'r2-fifo');
      mkdirSync(dir);
      execFileSync('mkfifo', [join(dir, 'fifo.onnx')]);
      return judge(await cli('manifest', join(dir, 'fifo.onnx'), '--kind', 'classifier'), 1, /the model file .*fifo\.onnx is not a regular file \(it is a FIFO\)/);
    }),
    r1('manifest --classes <a FIFO>: refused at once, no hang', async () => {
      const dir = join(work, 'r2-classes');
      mkdirSync(dir);
      execFileSync('mkfifo', [join(dir, 'classes.txt')]);
      writeFileSync(join(dir, 'cls.onnx'), readFileSync(tiny.classifier));
      return judge(await cli('manifest', join(dir, 'cls.onnx'), '--kind', 'classifier', '--classes', join(dir, 'classes.txt'), '--print'), 1, /--classes file .*classes\.txt is not a regular file \(it is a FIFO\)/);
    }),
    r1('certify --dataset <a FIFO>: refused at once, no hang', async () => {
      const fifo = join(work, 'r2-dataset.fifo');
      execFileSync('mkfifo', [fifo]);
      return judge(await cli('certify', ...quick, '--dataset', fifo, '--out', out('fifo-data.tsv')), 1, /dataset file .*r2-dataset\.fifo is not a regular file \(it is a FIFO\)/, () =>
        existsSync(out('fifo-data.tsv')) ? ['output written'] : [],
      );
    }),
    r1('certify --dataset /dev/zero: refused, nothing read', async () =>
      judge(await cli('certify', ...quick, '--dataset', '/dev/zero', '--out', out('zero-data.tsv')), 1, /dataset file \/dev\/zero is not a regular file \(it is a device\)/),
    ),
    r1('densepure-eval run <a FIFO>: refused at once, no hang', async () => {
      const fifo = join(work, 'r2-experiment.yaml');
      execFileSync('mkfifo', [fifo]);
      return judge(await run(evalBin, ['run', fifo, '--dry-run']), 1, /experiment file .*r2-experiment\.yaml is not a regular file \(it is a FIFO\)/);
    }),
    r3('certify --max-radius 1e9: refused before the radii are listed, no crash', async () => {
      const dir = join(work, 'max-radius');
      return judge(await cli('certify', ...quick, '--max-radius', '1e9', '--out', join(dir, 'r.tsv')), 2, /^error: --max-radius: radius 1000000000 cannot be certified .*ask for a smaller --max-radius$/m, () =>
        existsSync(dir) ? ['output folder created'] : [],
      );
    }),
    r3('certify --mode cascade --sigmas 1,0.5 --max-radius 1e9: refused before the radii are listed', async () =>
      judge(await cli('certify', ...cascade, '--sigmas', '1,0.5', '--max-radius', '1e9', '--out', out('cascade-far.tsv')), 2, /^error: --max-radius: radius 1000000000 cannot be certified at sigma 1 /m),
    ),
    r3('experiment maxRadius: 1e9 with --dry-run: refused, naming the key', async () => {
      const yaml = join(work, 'max-radius.yaml');
      writeFileSync(yaml, 'name: far\nmethods: [smoothing]\nsigmas: [0.5]\ncertify: { sequential: { maxRadius: 1e9 } }\n');
      return judge(await run(evalBin, ['run', yaml, '--dry-run']), 2, /certify\.sequential\.maxRadius: radius 1000000000 cannot be certified/);
    }),
    r8('--max-radius out of reach of --N: the error names --max-radius, not --radii', async () => {
      const o = await cli('certify', ...quick, '--max-radius', '3', '--N', '100', '--out', out('far.tsv'));
      return judge(o, 2, /^error: --max-radius: radius 3 cannot be certified/m, () => (/--radii/.test(o.stderr) ? ['names --radii'] : []));
    }),
    r2('a waiting job edited in Redis to 100,000,000 draws: rejected uncomputed; certify --queue stops naming it', async () =>
      withRedis(async (redis) => {
        const target = out('edited-job.tsv');
        const coordinator = run(cliBin, ['certify', ...quick, '--max', '3', '--queue', redis.url, '--out', target]);
        let keys: string[] = [];
        await until('the queued jobs', () => keys.length === 3, undefined, 60_000, async () => {
          keys = ((await redis.call('KEYS', 'densepure:run-*:i*')) as string[]).filter((k) => /:i\d+p\d+-[0-9a-f]{12}$/.test(k));
        });
        const data = JSON.parse((await redis.call('HGET', keys[0]!, 'data')) as string) as { payload: unknown };
        await redis.call('HSET', keys[0]!, 'data', JSON.stringify({ ...data, payload: { wanted: [0], ranges: [{ first: 0, count: 100_000_000 }] } }));
        const started = Date.now();
        const worker = run(cliBin, ['worker', '--queue', redis.url, ...workerAllows, '--idle-exit', '2', '--progress', 'none']);
        const o = await coordinator;
        await worker;
        return judge(o, 1, /^error: image \d+ \(part 1 of 1\) was rejected by a worker: job i\d+p0-[0-9a-f]{12} has a payload that is not the one it was made with/m, () =>
          Date.now() - started > 60_000 ? ['took more than a minute'] : [],
        );
      }),
    ),
    r2('a run record naming a secret file as its dataset: the worker refuses it unopened, nothing of the file in Redis', async () =>
      withRedis(async (redis) => {
        const secret = join(work, 'secret.json');
        writeFileSync(secret, 'TOP-SECRET\n'.repeat(5));
        const coordinator = spawn(process.execPath, [cliBin, 'certify', ...quick, '--max', '3', '--queue', redis.url, '--out', out('secret.tsv')], { stdio: 'ignore' });
        let record = '';
        await until('the run record', () => record !== '', coordinator, 60_000, async () => {
          const [runId] = (await redis.call('ZRANGE', 'densepure:runs', '0', '-1')) as string[];
          record = runId === undefined ? '' : (((await redis.call('GET', `densepure:run:${runId}`)) as string | null) ?? '');
        });
        const parsed = JSON.parse(record) as { runId: string; spec: { dataset: Record<string, unknown> } };
        await redis.call('SET', `densepure:run:${parsed.runId}`, JSON.stringify({ ...parsed, spec: { ...parsed.spec, dataset: { ...parsed.spec.dataset, spec: secret } } }));
        const o = await run(cliBin, ['worker', '--queue', redis.url, ...workerAllows, '--idle-exit', '2', '--progress', 'none']);
        const stored = Object.values((await redis.call('HGETALL', `densepure:run:${parsed.runId}:refusals`)) as string[]).join('\n');
        await killed(coordinator);
        return judge(o, 0, /refuses run [0-9a-f]{16}: the run's dataset ".*secret\.json" is not among the datasets this worker was started to allow/, () =>
          /TOP-SECRET/.test(stored + o.stderr) ? ['the file was quoted'] : stored === '' ? ['no refusal in Redis'] : [],
        );
      }),
    ),
    r2('worker SIGTERM in a long job: gives it up within --stop-grace 1 and exits', async () =>
      withRedis(async (redis) => {
        const coordinator = spawn(process.execPath, [cliBin, 'certify', ...models, '--dataset', dpds, '--N0', '10', '--N', '2000000', '--batch', '20', '--one-shot', '--max', '1', '--queue', redis.url, '--out', out('long.tsv')], { stdio: 'ignore' });
        const worker = spawn(process.execPath, [cliBin, 'worker', '--queue', redis.url, ...workerAllows, '--stop-grace', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((r) => worker.once('exit', (code) => r(code)));
        try {
          await until('the worker serving the run', () => /serving run/.test(stderr), worker);
          await sleep(1000);
          const termAt = Date.now();
          worker.kill('SIGTERM');
          const code = await Promise.race([exited, sleep(20_000).then(() => null)]);
          return judge({ code, stdout: '', stderr }, 0, /gave up image 0 after \d+\.\d s: its lock lapses and another worker takes it over/, () => (Date.now() - termAt > 8000 ? ['took more than 8 s'] : []));
        } finally {
          if (worker.exitCode === null) worker.kill('SIGKILL');
          await killed(coordinator);
        }
      }),
    ),
    r4('a worker that refused a run serves it once the coordinator is restarted with a path it may read', async () =>
      withRedis(async (redis) => {
        // The coordinator names the dataset relative to its own folder; the worker, started elsewhere, cannot read it.
        const home = join(work, 'coordinator-home');
        mkdirSync(join(home, 'data'), { recursive: true });
        writeFileSync(join(home, 'data', 'tiny.bin'), readFileSync(dpds));
        const args = (dataset: string) => ['certify', ...models, '--dataset', dataset, '--N0', '10', '--N', '100', '--one-shot', '--max', '3', '--progress', 'none', '--queue', redis.url, '--out', out('refused-then-served.tsv')];
        const worker = spawn(process.execPath, [cliBin, 'worker', '--queue', redis.url, '--models', join(work, 'models'), '--data', join(home, 'data'), '--idle-exit', '60'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        worker.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        try {
          const first = spawn(process.execPath, [cliBin, ...args('data/tiny.bin')], { cwd: home, stdio: 'ignore' });
          await until('the refusal', () => /refuses run/.test(stderr), worker);
          // Ctrl-C: the coordinator gives back its lease, so the corrected one starts at once.
          const stopped = new Promise((r) => first.once('exit', r));
          first.kill('SIGINT');
          await stopped;
          const second = await run(cliBin, args(join(home, 'data', 'tiny.bin')));
          return judge(second, 0, /wrote .*refused-then-served\.tsv \(3 rows/);
        } finally {
          worker.kill('SIGKILL');
        }
      }),
    ),
    r9('Ctrl-C on certify --queue: exit 130, says what stays, gives back its lease (the rerun starts at once)', async () =>
      withRedis(async (redis) => {
        const target = out('queued-interrupted.tsv');
        const args = ['certify', ...quick, '--max', '3', '--queue', redis.url, '--out', target];
        const child = spawn(process.execPath, [cliBin, ...args.filter((a) => a !== '--progress' && a !== 'none')], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        await until('the coordinator waiting for workers', () => /waiting for workers/.test(stderr), child);
        child.kill('SIGINT');
        const code = await exited;
        const worker = run(cliBin, ['worker', '--queue', redis.url, ...workerAllows, '--idle-exit', '2', '--progress', 'none']);
        const rerun = await run(cliBin, args);
        await worker;
        const verdict = judge({ code, stdout: '', stderr }, 130, /^interrupted: stopped after 0 of 3 images; the jobs stay queued: run the same command again/m);
        const more = [...(rerun.code === 0 ? [] : [`rerun exited ${rerun.code}`]), ...(/held by coordinator/.test(rerun.stderr) ? ['the rerun waited for the lease'] : [])];
        return { ...verdict, problems: [...verdict.problems, ...more] };
      }),
    ),
    cited('r2.9', 'workers leave a run no coordinator collects (finished locally) after the orphan limit', 'packages/queue/src/queue.test.ts "workers leave a run whose coordinator is gone ..."'),
    r10('grouped sequential certify: rows\' times add up to the wall time, not once per image in flight', async () => {
      const target = out('grouped.tsv');
      const started = Date.now();
      const o = await cli('certify', ...models, '--dataset', dpds, '--N0', '10', '--N', '2000', '--one-shot', '--radii', '0.25', '--group', '6', '--progress', 'none', '--out', target);
      const wall = (Date.now() - started) / 1000;
      const total = dataRows(target).reduce((sum, l) => sum + parseElapsed(l.split('\t')[5] ?? ''), 0);
      const mean = Number(/mean time per image: ([\d.]+) s/.exec(o.stdout)?.[1]);
      return judge(o, 0, /mean time per image/, () => [
        ...(total > wall ? [`rows add up to ${total.toFixed(2)} s, the run took ${wall.toFixed(2)} s`] : []),
        ...(mean * images > wall + 0.05 ? [`mean ${mean} s x ${images} images > ${wall.toFixed(2)} s`] : []),
      ]);
    }),
    cited('r2.11', 'CI runs .ci/run; every README link resolves to a tracked file; a fresh install has nothing to warn about', 'tools/setup-check/ci-parity.test.ts, readme-links.test.ts and install.test.ts'),
    r5('worker --queue redis://…/16 (a database the server does not have): refused, not database 0', async () =>
      withRedis(async (redis) => judge(await cli('worker', '--queue', redis.url.replace(/\/0$/, '/16'), '--idle-exit', '1'), 2, /has no database 16: it has databases 0 to 15/)),
    ),
    r6('worker --idle-exit 2 while Redis is down: exits 1 in seconds, saying why', async () =>
      withRedis(async (redis) => {
        const worker = launch(cliBin, ['worker', '--queue', redis.url, '--idle-exit', '2']);
        // Redis goes away once the worker is past its start-up check and polls the queue (its run list, a zrange),
        // however slow its start: the case is the loss of a Redis it was serving, not a Redis missing at the start.
        let connected = false;
        const poll = async (): Promise<void> => {
          connected = String(await redis.call('CLIENT', 'LIST')).split('\n').some((l) => l.includes('cmd=zrange'));
        };
        await until('the worker polling the queue', () => connected, worker.child, 60_000, poll);
        const pending = worker.done;
        await redis.kill();
        const killedAt = Date.now();
        const o = await Promise.race([pending, sleep(20_000).then(() => null)]);
        if (o === null) return { code: 'none', message: 'still running 20 s after Redis went away', problems: ['did not exit'] };
        return judge(o, 1, /is unreachable and this worker has served no run for 2 s \(its idle limit\): stopping/, () => (Date.now() - killedAt > 10_000 ? ['took more than 10 s'] : []));
      }),
    ),
    r7('manifest --force when <stem>.json is a folder: refused before the model runs, no temp file left', async () => {
      const dir = join(work, 'manifest-folder');
      mkdirSync(join(dir, 'model.json'), { recursive: true });
      writeFileSync(join(dir, 'model.onnx'), readFileSync(tiny.classifier));
      const o = await cli('manifest', join(dir, 'model.onnx'), '--kind', 'classifier', '--force');
      return judge(o, 1, /^error: cannot write the manifest .*model\.json: it is a folder/m, () => {
        const left = readdirSync(dir).filter((f) => f !== 'model.json' && f !== 'model.onnx');
        return [...(left.length > 0 ? [`left ${left.join(', ')}`] : []), ...(/EISDIR/.test(o.stderr) ? ['raw EISDIR'] : [])];
      });
    }),
    r8('manifest --kind denoiser --num-classes 3: names the flag as typed', async () =>
      judge(await cli('manifest', tiny.denoiser, '--kind', 'denoiser', '--schedule', 'cosine', '--T', '10', '--num-classes', '3', '--print'), 2, /^error: --num-classes applies to --kind classifier only$/m),
    ),
    r8('manifest of an ONNX model whose input is 3x50000x50000: said in words, no typed-array error', async () => {
      const dir = join(work, 'r2-huge');
      mkdirSync(dir);
      const huge = buildOnnxModel({
        name: 'huge',
        inputs: [{ name: 'x', type: 'float32', shape: ['B', 3, 50000, 50000] }],
        outputs: [{ name: 'logits', type: 'float32', shape: ['B', 3] }],
        nodes: [{ op: 'ReduceMean', inputs: ['x'], outputs: ['logits'], attrs: { axes: [2, 3], keepdims: 0 } }],
      });
      writeFileSync(join(dir, 'huge.onnx'), huge);
      const o = await cli('manifest', join(dir, 'huge.onnx'), '--kind', 'classifier');
      return judge(o, 1, /input 'x' takes 3x50000x50000 images, 7500000000 values each, more than the 33554432 densepure handles/, () => (/Invalid typed array/.test(o.stderr) ? ['raw RangeError'] : []));
    }),
    r8('manifest --kind denoiser --T 1e12: refused, no manifest written', async () => {
      const dir = join(work, 'r2-big-t');
      mkdirSync(dir);
      writeFileSync(join(dir, 'den.onnx'), readFileSync(tiny.denoiser));
      return judge(await cli('manifest', join(dir, 'den.onnx'), '--kind', 'denoiser', '--schedule', 'cosine', '--T', '1e12'), 2, /^error: --T must be at most 100000/m, () =>
        existsSync(join(dir, 'den.json')) ? ['manifest written'] : [],
      );
    }),
    r8('densepure-eval run --max-draws-per-job without --queue: refused, as the CLI does', async () => {
      const yaml = join(work, 'r2-split.yaml');
      writeFileSync(yaml, 'name: split\nmethods: [smoothing]\nsigmas: [0.5]\n');
      return judge(await run(evalBin, ['run', yaml, '--max-draws-per-job', '10', '--dry-run']), 2, /^error: --max-draws-per-job splits queued jobs: give --queue/m);
    }),
    r8('worker --backend bogus: refused at the start (it used to start, then exit 0 at its first refusal)', async () =>
      judge(await cli('worker', '--queue', 'redis://127.0.0.1:1/0', '--backend', 'bogus', '--idle-exit', '1'), 2, /^error: unknown --backend 'bogus': registered backends are onnx/m),
    ),
    cited('r2.8', "a job whose `wanted` is missing: rejected in words, not 'Cannot read properties of undefined'", 'packages/queue/src/certify/protocol.test.ts (partProblem) and the edited-job case above'),
    r8('worker --queue on a port where an HTTP server listens: said in words', async () => {
      const server = createServer((_req, res) => res.end('hello'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const o = await cli('worker', '--queue', `redis://127.0.0.1:${(server.address() as AddressInfo).port}/0`, '--idle-exit', '1');
        // Node's HTTP server answers a non-HTTP request with 400 and resets the socket; on a busy machine the reset
        // can discard that reply before the worker reads it, so "closed the connection" is the other right answer.
        const said = /something listens on 127\.0\.0\.1:\d+ but (answered in another protocol \(a reply starting with "H": an HTTP server\?\)|closed the connection instead of answering as Redis does)/;
        return judge(o, 1, said, () =>
          /enableOfflineQueue|Please report this/.test(o.stderr) ? ['raw ioredis message'] : [],
        );
      } finally {
        server.close();
      }
    }),
  ];
  // Round 2's cases in item order (each builds its own files, so their order is free).
  const round = (c: BadInputCase): number => (c.item.startsWith('r2.') ? Number(c.item.slice(3)) : 0);
  return [...cases.filter((c) => round(c) === 0), ...cases.filter((c) => round(c) > 0).sort((a, b) => round(a) - round(b))];
}

/** Runs every case in order; a case that throws is a row with its error as a problem. */
export async function runBadInputs(work: string, onResult?: (r: CaseResult) => void, only?: RegExp): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of (await badInputCases(work)).filter((c) => only === undefined || only.test(c.name))) {
    let r: CaseResult;
    try {
      r = { item: c.item, name: c.name, ...(await c.run()) };
    } catch (error) {
      r = { item: c.item, name: c.name, code: '?', message: '', problems: [error instanceof Error ? error.message : String(error)] };
    }
    results.push(r);
    onResult?.(r);
  }
  return results;
}

/** A Markdown table: item | case | exit code | message (| problems, when any). */
export function formatTable(results: readonly CaseResult[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const anyProblems = results.some((r) => r.problems.length > 0);
  const head = ['item', 'case', 'exit code', 'message', ...(anyProblems ? ['problems'] : [])];
  const rows = results.map((r) => [r.item, r.name, r.code, r.message, ...(anyProblems ? [r.problems.join('; ')] : [])].map(cell));
  return [head, head.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

