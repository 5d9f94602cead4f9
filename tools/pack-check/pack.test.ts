// Packs every publishable package with `pnpm pack`, installs the tarballs into an empty folder outside the
// workspace, and imports them under plain node (no vitest, no tsx). This catches broken `exports` maps,
// files missing from `files`, workspace-only dependencies and deep imports that only a bundler resolves.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'densepure-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Pkg {
  readonly dir: string;
  readonly name: string;
}

const publishable: Pkg[] = ['packages', 'apps'].flatMap((group) =>
  existsSync(join(root, group))
    ? readdirSync(join(root, group))
        .map((d) => join(root, group, d))
        .filter((dir) => existsSync(join(dir, 'package.json')))
        .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; private?: boolean } }))
        .filter((p) => p.json.private !== true)
        .map((p) => ({ dir: p.dir, name: p.json.name }))
    : [],
);

// What each package must export under plain node; a package missing here fails the test, so new packages get a line.
const expectedExports: Record<string, string[]> = {
  '@densepure/core': ['linearBetaSchedule', 'cosineBetaSchedule', 'diffusionConstants', 'spaceTimesteps', 'respacedBetas', 'sigmaToTimestep', 'clopperPearson', 'clopperPearsonLower', 'normalQuantile', 'normalCdf', 'binomialTestTwoSided', 'certify', 'predict'],
  '@densepure/backend': ['loadDenoiser', 'loadClassifier', 'registerBackend', 'registeredBackends', 'parseModelSpec', 'resolveModel', 'makeDenoiser'],
  '@densepure/backend-onnx': ['onnxBackend'],
  '@densepure/backend-tfjs': ['tfjsBackend', 'fileLoadHandler', 'fileSaveHandler', 'SUPPORTED_OPS'],
  '@densepure/datasets': ['openDataset', 'readDpds', 'readCifar10', 'readImageFolder', 'selectIndices', 'encodeDpds', 'readIdx'],
  '@densepure/classifiers': ['wrapClassifier', 'resizeBilinear'],
  '@densepure/voting': ['makeBaseClassifier', 'majorityVote', 'voteHistogram'],
  '@densepure/ground-truth': ['makeMixture', 'posterior', 'epsilonOnnx', 'bayesClassifierOnnx', 'writeGroundTruthModels', 'checkPosterior', 'sampleReverseChain'],
  '@densepure/zoo-mnist': ['denoiserPath', 'classifierPath', 'testSetPath'],
  '@densepure/zoo-fashion': ['denoiserPath', 'classifierPath', 'testSetPath', 'catalog'],
  '@densepure/plot': ['renderSvg', 'svgToPng'],
  '@densepure/runner': ['runCertify', 'runPredict', 'certifyImage', 'createModelCache', 'openPipeline', 'methodSlug', 'parseMethodSlug', 'describeMethod', 'checkRunSpec', 'runIdentity', 'inspectPriorRun', 'runErrorMessage', 'planDraws', 'mergeDraws', 'imageFromParts', 'modeOf', 'parseCohenTsv', 'certifiedAccuracy', 'summarize', 'writeFileAtomic', 'RowLog'],
  '@densepure/queue': ['collect', 'serve', 'parseQueueUrl', 'probeRedis', 'queueScheduler', 'queueSchedulerFromUrl', 'certifyWorker'],
  '@densepure/serve': ['startServer', 'createServeApp', 'openServedModel', 'checkRequest', 'createMetrics'],
  '@densepure/app-kit': ['registerInstalledBackends', 'shippedCatalog', 'shippedZoos', 'runFailure', 'queueFailure', 'exitCodeOf', 'outcomeRecorder', 'exitOnSignals'],
  '@densepure/cli': ['main', 'buildProgram'],
  '@densepure/eval': ['runGrid', 'buildReport', 'analyzeFile', 'parseExperimentText', 'readExperiment', 'describeEvalError', 'main'],
};

const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' }, stdio: ['ignore', 'pipe', 'pipe'] });

describe('packed packages import under plain node', () => {
  const tarballs = new Map<string, string>();

  it('packs every publishable package', () => {
    expect(publishable.length).toBeGreaterThanOrEqual(2);
    for (const p of publishable) {
      const out = run('pnpm', ['pack', '--pack-destination', work], p.dir).trim().split('\n');
      const tgz = out.filter((l) => l.endsWith('.tgz')).pop();
      expect(tgz, `pnpm pack printed no tarball for ${p.name}`).toBeDefined();
      tarballs.set(p.name, resolve(p.dir, tgz!));
      const listing = run('tar', ['-tzf', tarballs.get(p.name)!], work);
      expect(listing).toContain('package/dist/index.js');
      expect(listing).toContain('package/README.md');
      expect(listing).not.toContain('.test.');
    }
  }, 120_000);

  it('installs the tarballs in an empty folder and imports each entry point', () => {
    const app = join(work, 'app');
    const deps = Object.fromEntries([...tarballs].map(([name, tgz]) => [name, `file:${tgz}`]));
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: deps, pnpm: { overrides: deps } }, null, 2),
    );
    run('pnpm', ['install', '--ignore-workspace', '--config.confirmModulesPurge=false', '--prefer-offline'], app);

    const checks = publishable.map((p) => {
      const names = expectedExports[p.name];
      expect(names, `add ${p.name} to expectedExports in tools/pack-check/pack.test.ts`).toBeDefined();
      return `{ const m = await import('${p.name}'); for (const n of ${JSON.stringify(names)}) if (!(n in m)) throw new Error('${p.name} lacks export ' + n); }`;
    });
    const script = `
      ${checks.join('\n')}
      await import('@densepure/backend/testing');
      const { registeredBackends, loadDenoiser } = await import('@densepure/backend');
      if (!registeredBackends().some((b) => b.name === 'onnx')) throw new Error('importing @densepure/backend-onnx did not register it');
      // A real load + run through a worker thread: proves dist/worker.js ships and resolves.
      const { writeTinyModels } = await import('@densepure/backend/testing');
      const { mkdtempSync } = await import('node:fs');
      const { join } = await import('node:path');
      const { tmpdir } = await import('node:os');
      const paths = await writeTinyModels(mkdtempSync(join(tmpdir(), 'tiny-')));
      const loaded = await loadDenoiser(paths.denoiser, { workers: 1 })();
      if (loaded._tag !== 'Right') throw new Error(loaded.left.message);
      const out = await loaded.right.run(new Float32Array(16).fill(1), [500])();
      if (out._tag !== 'Right' || Math.abs(out.right.v[0] - 0.5) > 1e-6) throw new Error('tiny denoiser gave a wrong answer');
      await loaded.right.dispose();
      console.log('plain-node-ok');
    `;
    writeFileSync(join(app, 'check.mjs'), script);
    expect(run('node', ['check.mjs'], app)).toContain('plain-node-ok');
    // The installed CLI binary runs under plain node and finds the shipped models through the zoo package.
    expect(run(join(app, 'node_modules', '.bin', 'densepure'), ['--version'], app).trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const info = JSON.parse(run(join(app, 'node_modules', '.bin', 'densepure'), ['info', '--json'], app));
    expect(info.classifier.numClasses).toBe(10);
    // The runner, installed on its own terms, reads back what it writes: a method slug and a Cohen TSV.
    const runner = `
      const r = await import('@densepure/runner');
      const slug = r.parseMethodSlug('densepure-K10-b2-dp');
      if (slug._tag !== 'Right' || r.methodSlug(slug.right) !== 'densepure-K10-b2-dp') throw new Error('slug round trip');
      const tsv = r.parseCohenTsv(r.COHEN_HEADER + '\\n' + r.formatRow({ idx: 0, label: 1, predict: 1, radius: 0.5, correct: 1, seconds: 1 }) + '\\n');
      if (tsv._tag !== 'Right' || tsv.right.rows.length !== 1) throw new Error('TSV round trip');
      console.log('runner-ok');
    `;
    writeFileSync(join(app, 'runner.mjs'), runner);
    expect(run('node', ['runner.mjs'], app)).toContain('runner-ok');
  }, 300_000);
});
