// node packages/ground-truth/dist/study/mnist-gmm-report.js [RESULTS_DIR] [--name mnist-gmm-k10] [--with FOLDER[,FOLDER]] [--against M1,M2] [--pictures]
//
// The exact-score MNIST study's numbers from whatever has finished: <RESULTS>/<name>/*.tsv (densepure-eval's cells)
// and <RESULTS>/<name>-exact/*.tsv (the exact posterior votes). Per sigma (and per cascade over sigmas, on radii up
// to twice its largest sigma): each method's certified accuracy at each radius on the points it has finished, with
// a 95% Clopper-Pearson interval; on the points both have finished, paired exact McNemar tests (same points, same
// noise draws) and a sign test of the per-point radius, of every method against DDS, the exact K -> infinity vote,
// the exact K = 10 vote and the methods --against names. Writes <RESULTS>/<name>/summary.json, tables.md and
// accuracy.png; with --pictures also posterior.png (posterior mean beside exact posterior samples). --with FOLDERS
// (under RESULTS) adds the series of other folders on the same points and draws, e.g. the classifier-free
// exact-classmass of mnist-gmm-k10-exact to the CNN grid's report; the first folder holding a series wins.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import type { TopLevelSpec } from '@densepure/plot';
import { binomialTestTwoSided, clopperPearson, gaussianFill, noiseAddress, sigmaToTimestep, toModelScale } from '@densepure/core';
import { readDpds } from '@densepure/datasets';
import { parseMixtureFile } from '../mixture-file.js';
import { scheduleAlphasCumprod } from '../onnx-models.js';
import { posterior, samplePosterior } from '../posterior.js';
import { renderSvg, svgToPng } from './plots.js';

interface Row {
  readonly idx: number;
  readonly label: number;
  readonly predict: number;
  readonly radius: number;
}

const args = process.argv.slice(2);
const valueOf = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const name = valueOf('--name') ?? 'mnist-gmm-k10';
const extra = valueOf('--with')?.split(',') ?? [];
const against = valueOf('--against')?.split(',') ?? [];
const results = args.find((a, i) => !a.startsWith('--') && !['--name', '--with', '--against'].includes(args[i - 1] ?? '')) ?? join('experiments', 'reports');
const models = join('packages', 'ground-truth', 'models', 'mnist-gmm');

function readTsv(path: string): Row[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 6)
    .map((f) => ({ idx: Number(f[0]), label: Number(f[1]), predict: Number(f[2]), radius: Number(f[3]) }));
}

/**
 * A noise level: one sigma (`sigma0.5` in a cell's name) or a cascade over sigmas (`cascade1-0.5-0.25_p0-0.5`),
 * whose radii are read on the scale of its largest sigma; cascades sort after the single sigmas.
 */
interface Level {
  readonly title: string;
  readonly scale: number;
  readonly order: number;
}
function levelOf(key: string): Level {
  if (key.startsWith('cascade')) {
    const sigmas = key.slice('cascade'.length).split('_')[0]!.split('-').map(Number);
    return { title: `cascade σ = ${sigmas.join(', ')} (${key.split('_')[1]!.replace('-', ' = ')})`, scale: Math.max(...sigmas), order: 1e9 + Math.max(...sigmas) };
  }
  return { title: `σ = ${key}`, scale: Number(key), order: Number(key) };
}

/** method -> level -> rows, from `<method>_sigma<s>_<backend>_sequential.tsv` and `<method>_cascade<...>_<p0>_...` names. */
const series = new Map<string, Map<string, Row[]>>();
for (const dir of [join(results, name), join(results, `${name}-exact`), ...extra.map((folder) => join(results, folder))]) {
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tsv')).sort()) {
    const m = /^(.+?)_(?:sigma([0-9.]+)|(cascade[0-9.-]+_p0-[0-9.]+))_/.exec(file);
    if (m === null) continue;
    const rows = readTsv(join(dir, file));
    if (rows.length === 0) continue;
    const level = m[2] ?? m[3]!;
    const byLevel = series.get(m[1]!) ?? new Map<string, Row[]>();
    if (byLevel.has(level)) continue; // the experiment's own series win over --with's
    byLevel.set(level, rows);
    series.set(m[1]!, byLevel);
  }
}

const unknown = against.filter((m) => !series.has(m));
if (unknown.length > 0) {
  process.stderr.write(`--against names no finished method: ${unknown.join(', ')}; the methods are ${[...series.keys()].join(', ')}\n`);
  process.exit(2);
}

const certifiedAt = (r: Row | undefined, radius: number): boolean => r !== undefined && r.predict === r.label && r.radius >= radius;
const levels = [...new Set([...series.values()].flatMap((s) => [...s.keys()]))].sort((a, b) => levelOf(a).order - levelOf(b).order);
const summary: Record<string, unknown>[] = [];
const curveRows: Record<string, unknown>[] = [];
for (const level of levels) {
  const { title, scale } = levelOf(level);
  const methods = [...series.entries()].filter(([, s]) => s.has(level)).map(([m]) => m);
  const byMethod = new Map(methods.map((m) => [m, new Map(series.get(m)!.get(level)!.map((r) => [r.idx, r]))]));
  // Each method's curve on the points it has finished; each paired test on the points both methods have finished.
  const common = (a: string, b: string): number[] => [...byMethod.get(a)!.keys()].filter((idx) => byMethod.get(b)!.has(idx));
  const radii = Array.from({ length: 9 }, (_, k) => (k * scale) / 4);
  const accuracy = methods.map((m) => ({
    method: m,
    rowsDone: byMethod.get(m)!.size,
    curve: radii.map((r) => {
      const rows = [...byMethod.get(m)!.values()];
      const k = rows.filter((row) => certifiedAt(row, r)).length;
      const ci = clopperPearson(k, rows.length, 0.05);
      curveRows.push({ level: title, method: m, radius: r, accuracy: k / rows.length });
      return { radius: r, certified: k, accuracy: k / rows.length, ci95: [ci.lower, ci.upper] };
    }),
  }));
  const references = ['dds', 'exact-classmass', 'exact-posterior-K10', ...against].filter((m) => methods.includes(m));
  // Each pair once: a method is compared with a reference unless it is itself a reference listed earlier.
  const comparedWith = (ref: string): string[] => methods.filter((m) => m !== ref && !references.slice(0, references.indexOf(ref)).includes(m));
  const paired = references.flatMap((ref) =>
    comparedWith(ref).flatMap((m) =>
      radii.map((r) => {
        let onlyFirst = 0;
        let onlySecond = 0;
        const points = common(m, ref);
        for (const idx of points) {
          const a = certifiedAt(byMethod.get(m)!.get(idx), r);
          const b = certifiedAt(byMethod.get(ref)!.get(idx), r);
          if (a && !b) onlyFirst++;
          if (b && !a) onlySecond++;
        }
        return { first: m, second: ref, points: points.length, radius: r, onlyFirst, onlySecond, mcnemarP: onlyFirst + onlySecond === 0 ? 1 : binomialTestTwoSided(onlyFirst, onlyFirst + onlySecond) };
      }),
    ),
  );
  // Per point, the certified radius of a correct prediction (0 when wrong or abstaining): a sign test over points.
  const radiusOf = (r: Row | undefined): number => (r !== undefined && r.predict === r.label ? r.radius : 0);
  const radiusSign = references.flatMap((ref) =>
    comparedWith(ref).map((m) => {
      let larger = 0;
      let smaller = 0;
      let diff = 0;
      const points = common(m, ref);
      for (const idx of points) {
        const a = radiusOf(byMethod.get(m)!.get(idx));
        const b = radiusOf(byMethod.get(ref)!.get(idx));
        diff += a - b;
        if (a > b + 1e-9) larger++;
        if (b > a + 1e-9) smaller++;
      }
      return { first: m, second: ref, points: points.length, larger, smaller, meanDifference: points.length === 0 ? 0 : diff / points.length, signTestP: larger + smaller === 0 ? 1 : binomialTestTwoSided(larger, larger + smaller) };
    }),
  );
  summary.push({ level: title, methods: accuracy, paired, radiusSign });
}

writeFileSync(join(results, name, 'summary.json'), `${JSON.stringify({ generatedBy: 'packages/ground-truth/dist/study/mnist-gmm-report.js', levels: summary }, null, 2)}\n`);
const lines: string[] = [
  `Generated by \`node packages/ground-truth/dist/study/mnist-gmm-report.js\` from the TSVs present at ${new Date().toISOString().slice(0, 16)}Z.`,
  'Cells: certified correct points of those the method has finished at that level (a sigma or a cascade), [95% Clopper-Pearson interval in %].',
  'Paired rows: +a / -b = points only the first / only the second method certifies correctly at radius >= r (same points, same noise draws); p = exact two-sided McNemar.',
  'Radius per point: the certified radius of a correct prediction (0 if wrong or abstaining), compared point by point; p = two-sided sign test over the points where they differ.',
];
for (const s of summary) {
  const sig = s as {
    level: string;
    methods: { method: string; rowsDone: number; curve: { radius: number; certified: number; ci95: number[] }[] }[];
    paired: { first: string; second: string; points: number; radius: number; onlyFirst: number; onlySecond: number; mcnemarP: number }[];
    radiusSign: { first: string; second: string; points: number; larger: number; smaller: number; meanDifference: number; signTestP: number }[];
  };
  lines.push('', `### ${sig.level}`, '');
  lines.push(`| method (points) | ${sig.methods[0]?.curve.map((c) => `r = ${c.radius}`).join(' | ')} |`, `| --- |${sig.methods[0]?.curve.map(() => ' --- |').join('')}`);
  for (const m of sig.methods) lines.push(`| ${m.method} (${m.rowsDone}) | ${m.curve.map((c) => `${c.certified} [${(100 * c.ci95[0]!).toFixed(0)}, ${(100 * c.ci95[1]!).toFixed(0)}]`).join(' | ')} |`);
  const differing = sig.paired.filter((q) => q.onlyFirst + q.onlySecond > 0);
  if (differing.length > 0) lines.push('');
  for (const p of differing) lines.push(`- ${p.first} vs ${p.second} at r = ${p.radius} (${p.points} points): +${p.onlyFirst} / -${p.onlySecond}, McNemar p = ${p.mcnemarP.toPrecision(2)}`);
  lines.push('');
  for (const p of sig.radiusSign) {
    lines.push(`- radius per point, ${p.first} vs ${p.second} (${p.points} points): larger on ${p.larger}, smaller on ${p.smaller} points, mean difference ${p.meanDifference.toFixed(4)}, sign test p = ${p.signTestP.toPrecision(2)}`);
  }
}
writeFileSync(join(results, name, 'tables.md'), `${lines.join('\n')}\n`);
process.stdout.write(`${lines.join('\n')}\n`);

const accuracySpec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  data: { values: curveRows },
  facet: { column: { field: 'level', type: 'nominal', title: null, sort: levels.map((l) => levelOf(l).title) } },
  spec: {
    width: 260,
    height: 200,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'radius', type: 'quantitative', title: 'radius (pixel units, L2)' },
      y: { field: 'accuracy', type: 'quantitative', title: 'certified accuracy', scale: { domain: [0, 1] } },
      color: { field: 'method', type: 'nominal', legend: { labelLimit: 400, title: 'method (points per cell: tables.md)' } },
    },
  },
  resolve: { scale: { x: 'independent' } },
  config: { font: 'DejaVu Sans, Arial, Helvetica, sans-serif' },
};
writeFileSync(join(results, name, 'accuracy.png'), await svgToPng(await renderSvg(accuracySpec)));

if (args.includes('--pictures')) {
  // For a few points and each sigma: the clean point, the noisy image x + sigma noise, the posterior mean (what DDS
  // classifies) and six exact posterior samples (what an exact DensePure votes over).
  const mixture = parseMixtureFile(readFileSync(join(models, 'mnist-gmm.mixture.json'), 'utf8'), 'mnist-gmm.mixture.json');
  const points = await readDpds(join(models, 'mnist-gmm-points.bin'));
  if (E.isLeft(mixture) || E.isLeft(points)) throw new Error('cannot read the shipped mixture or points');
  const m = mixture.right;
  const ac = scheduleAlphasCumprod({ schedule: 'linear', T: 1000 });
  const pixels: Record<string, unknown>[] = [];
  const toModel = (p: ArrayLike<number>): Float64Array => Float64Array.from(p, (v) => 2 * v - 1);
  const add = (row: string, col: string, model: ArrayLike<number>): void => {
    for (let i = 0; i < 784; i++) pixels.push({ row, col, x: i % 28, y: Math.floor(i / 28), v: Math.min(1, Math.max(0, (model[i]! + 1) / 2)) });
  };
  for (const idx of [0, 5, 10]) {
    const sample = points.right.get(idx);
    for (const sigma of [0.5, 1.0]) {
      const { t, scale } = sigmaToTimestep(sigma, ac);
      const noise = new Float32Array(784);
      gaussianFill(noise, noiseAddress({ seed: 0, imageIndex: idx, drawIndex: 0, step: 'smoothing' }));
      const xt = new Float32Array(784);
      toModelScale(sample.image, sigma, noise, scale, xt);
      const post = posterior(m, ac[t]!, xt);
      const row = `point ${idx} (class ${sample.label}), σ = ${sigma}`;
      add(row, 'a clean', toModel(sample.image));
      add(row, 'b noisy', Float64Array.from(sample.image, (v, i) => 2 * (v + sigma * noise[i]!) - 1));
      add(row, 'c mean', post.mean);
      const draws = samplePosterior(post, 784, 6, 0, idx);
      for (let k = 0; k < 6; k++) add(row, `d sample ${k + 1}`, draws.subarray(k * 784, (k + 1) * 784));
    }
  }
  const pictureSpec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values: pixels },
    facet: { row: { field: 'row', type: 'nominal', title: null, header: { labelAngle: 0, labelAlign: 'left' } }, column: { field: 'col', type: 'nominal', title: null } },
    spec: {
      width: 56,
      height: 56,
      mark: 'rect',
      encoding: {
        x: { field: 'x', type: 'ordinal', axis: null },
        y: { field: 'y', type: 'ordinal', axis: null },
        color: { field: 'v', type: 'quantitative', scale: { scheme: 'greys', domain: [0, 1] }, legend: null },
      },
    },
    config: { font: 'DejaVu Sans, Arial, Helvetica, sans-serif', view: { stroke: null } },
  };
  writeFileSync(join(results, name, 'posterior.png'), await svgToPng(await renderSvg(pictureSpec)));
}
