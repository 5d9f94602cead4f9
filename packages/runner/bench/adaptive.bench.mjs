// Fixed-N against sequential (adaptive) CERTIFY on the shipped MNIST models: evaluations per image and tables, cell by cell.
// The same held-out images spread over the classes, alpha = 0.001, N0 = 100, seed 0; sigma 0.25 with radii 0.25, 0.5
// and sigma 0.5 with radii 0.25 .. 1.0 (where each sigma matters in a best-over-sigma table); DDS and DensePure
// (K = 5, b = 2, DensePure spacing). For each: the certified-accuracy tables of fixed N and of the sequential mode
// capped at the same N (same images, same seed), mean denoiser evaluations per image as made, wall time, and the
// ratio; then the sequential mode at the paper's cap N = 100,000, whose fixed-N cost (N0 + N) x evaluations per draw
// is computed, not run.
// Usage (small, a smoke check):  node bench/adaptive.bench.mjs --images 5 --N 1000
// The issue's benchmark:         node bench/adaptive.bench.mjs --images 50 --N 10000 --densepure-images 20 --densepure-N 2000
// Flags: --images, --N (fixed N = the first sequential cap), --densepure-images, --densepure-N (default: the same),
//        --cap (default 100000; 0 skips that run), --methods dds,densepure, --sigmas 0.25,0.5, --workers, --batch,
//        --group (images certified at once in sequential mode), --json <file> (all numbers, machine-readable),
//        --dir <folder> (keep the runs' TSVs there: a rerun after an interruption resumes each run where it stopped
//        and a finished cell is read back, not rerun; `node bench/adaptive-summary.mjs --dir <folder>` tabulates
//        them; default: a temporary folder, removed at the end).
// Prints tables; no assertions (speed targets live here, never in tests).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import '@densepure/backend-onnx';
import { catalog } from '@densepure/zoo-mnist';
import { createModelCache, runCertify } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '5' },
    N: { type: 'string', default: '1000' },
    'densepure-images': { type: 'string' },
    'densepure-N': { type: 'string' },
    cap: { type: 'string', default: '100000' },
    methods: { type: 'string', default: 'dds,densepure' },
    sigmas: { type: 'string', default: '0.25,0.5' },
    workers: { type: 'string', default: '0' },
    batch: { type: 'string', default: '100' },
    group: { type: 'string', default: '8' },
    selection: { type: 'string', default: 'adaptive' },
    json: { type: 'string' },
    dir: { type: 'string' },
  },
});
const N0 = 100;
const ALPHA = 0.001;
const DATASET_SIZE = 1996; // the shipped held-out MNIST test split, ordered by class 0..9
const RADII = { 0.25: [0.25, 0.5], 0.5: [0.25, 0.5, 0.75, 1.0] };
const METHODS = {
  dds: { label: 'DDS', method: { kind: 'dds' }, images: Number(values.images), N: Number(values.N) },
  densepure: {
    label: 'DensePure K=5 b=2',
    method: { kind: 'densepure', votes: 5, steps: 2, spacing: 'densepure' },
    images: Number(values['densepure-images'] ?? values.images),
    N: Number(values['densepure-N'] ?? values.N),
  },
};
const cap = Number(values.cap);
// Every run of the bench uses the same models: open them once (the wall times are then the runs' own).
const cache = createModelCache();
const workers = Number(values.workers);
const keep = values.dir !== undefined;
if (keep) mkdirSync(values.dir, { recursive: true });
const dir = keep ? values.dir : mkdtempSync(join(tmpdir(), 'densepure-adaptive-bench-'));

async function run(name, method, sigma, images, n, mode) {
  const skip = Math.floor(DATASET_SIZE / images);
  const out = join(dir, `${name}.tsv`);
  // A cell finished by an earlier (interrupted) invocation is read back with the wall time it took then.
  const done = join(dir, `${name}.result.json`);
  if (keep && existsSync(done)) return JSON.parse(readFileSync(done, 'utf8'));
  const started = performance.now();
  const result = await runCertify({
    models: { denoiser: 'default', classifier: 'default', workers },
    dataset: { spec: 'default', skip, max: skip * images },
    runs: [{ method, out }],
    sigma,
    n0: N0,
    n,
    alpha: ALPHA,
    seed: 0,
    batch: Number(values.batch),
    ...(mode === undefined ? {} : { mode }),
  }, { catalog, cache })();
  if (result._tag === 'Left') throw new Error(result.left.message);
  const [r] = result.right;
  // Rows resumed from an interrupted invocation: fixed-N images run one after another, so their own times add up to
  // the wall time they took; sequential images overlap (grouped), so such a cell is marked as resumed instead.
  const resumed = r.rows.slice(0, r.resumedRows);
  const earlier = mode === undefined ? resumed.reduce((t, row) => t + row.time, 0) : 0;
  const cell = { rows: r.rows, cost: r.cost, seconds: (performance.now() - started) / 1000 + earlier, partialWall: mode !== undefined && r.resumedRows > 0, loadAtEnd: loadavg() };
  if (keep) writeFileSync(done, `${JSON.stringify(cell)}\n`);
  return cell;
}

const accuracy = (rows, radius) => rows.filter((r) => r.correct === 1 && r.radius >= radius).length / rows.length;
const pct = (x) => (100 * x).toFixed(1).padStart(6);
const int = (x) => Math.round(x).toLocaleString('en-US');

console.log(
  `adaptive certify bench: shipped MNIST models, N0 ${N0}, alpha ${ALPHA}, seed 0, batch ${values.batch}, workers ${workers}, group ${values.group}; ` +
    `${cpus().length} cores (${cpus()[0]?.model})`,
);
const report = [];
for (const key of values.methods.split(',')) {
  const m = METHODS[key];
  if (m === undefined) throw new Error(`unknown method ${key}; known: ${Object.keys(METHODS).join(', ')}`);
  for (const sigma of values.sigmas.split(',').map(Number)) {
    const radii = RADII[sigma];
    if (radii === undefined) throw new Error(`no radii for sigma ${sigma}; known: ${Object.keys(RADII).join(', ')}`);
    const sequential = { kind: 'sequential', radii, group: Number(values.group), selection: values.selection };
    const tag = `${key}-sigma${sigma}-images${m.images}`;
    const seqTag = values.selection === 'fixed' ? 'sequential-fixedsel' : 'sequential';
    // --N 0: only the sequential run at the cap (its table is compared with a recorded fixed-N table by hand).
    const fixed = m.N > 0 ? await run(`${tag}-fixed-${m.N}`, m.method, sigma, m.images, m.N) : null;
    const adaptive = m.N > 0 ? await run(`${tag}-${seqTag}-${m.N}`, m.method, sigma, m.images, m.N, sequential) : null;
    const paper = cap > 0 ? await run(`${tag}-${seqTag}-${cap}`, m.method, sigma, m.images, cap, sequential) : null;
    if (fixed === null) {
      if (paper === null) continue;
      // Evaluations per draw as the sequential run made them (the decided-vote stop applies to both modes alike).
      const rate = paper.cost.meanEvaluations.denoiser / (paper.cost.meanDraws.selection + paper.cost.meanDraws.estimation);
      const columns = [0, ...radii];
      console.log(`\n${m.label}, sigma ${sigma}, ${paper.rows.length} images (radii ${radii.join(', ')}), sequential cap ${cap}, selection ${values.selection}: ` +
        `table ${columns.map((c) => `r=${c} ${pct(accuracy(paper.rows, c)).trim()}`).join(' ')}; draws/img ${int(paper.cost.meanDraws.selection + paper.cost.meanDraws.estimation)} ` +
        `(selection ${paper.cost.meanDraws.selection.toFixed(1)}); den.evals/img ${int(paper.cost.meanEvaluations.denoiser)}; ` +
        `${((N0 + cap) * rate / paper.cost.meanEvaluations.denoiser).toFixed(1)}x fewer than fixed N = ${cap}; wall ${paper.seconds.toFixed(1)} s`);
      report.push({ method: key, sigma, images: paper.rows.length, cap, selection: values.selection, accuracy: Object.fromEntries(columns.map((c) => [c, accuracy(paper.rows, c)])), cost: paper.cost, seconds: paper.seconds, fixedAtCapEvaluations: (N0 + cap) * rate });
      continue;
    }
    const perDraw = fixed.cost.meanEvaluations.denoiser / (N0 + m.N);
    const paperFixed = (N0 + cap) * perDraw;
    const columns = [0, ...radii];
    console.log(`\n${m.label}, sigma ${sigma}, ${fixed.rows.length} images (radii ${radii.join(', ')}); ${perDraw.toFixed(2)} denoiser evaluations per draw at fixed N`);
    console.log(`${'run'.padEnd(30)}${columns.map((r) => `r=${r}`.padStart(7)).join('')}  ${'draws/img'.padStart(10)}  ${'den.evals/img'.padStart(14)}  ${'wall s'.padStart(8)}  ratio (evals)`);
    const line = (name, r, ratio) =>
      console.log(
        `${(r.partialWall ? `${name} (resumed: wall is part)` : name).padEnd(30)}${columns.map((c) => pct(accuracy(r.rows, c))).map((s) => s.padStart(7)).join('')}  ${int(r.cost.meanDraws.selection + r.cost.meanDraws.estimation).padStart(10)}  ${int(r.cost.meanEvaluations.denoiser).padStart(14)}  ${r.seconds.toFixed(1).padStart(8)}  ${ratio}`,
      );
    line(`fixed N = ${m.N}`, fixed, '');
    line(`sequential, cap ${m.N}`, adaptive, `${(fixed.cost.meanEvaluations.denoiser / adaptive.cost.meanEvaluations.denoiser).toFixed(1)}x fewer`);
    if (paper !== null) {
      line(`sequential, cap ${cap}`, paper, `${(paperFixed / paper.cost.meanEvaluations.denoiser).toFixed(1)}x fewer than fixed N = ${cap}`);
      console.log(`${`fixed N = ${cap} (computed)`.padEnd(30)}${' '.repeat(7 * columns.length)}  ${int(N0 + cap).padStart(10)}  ${int(paperFixed).padStart(14)}`);
    }
    const worst = Math.max(...columns.map((c) => Math.abs(accuracy(adaptive.rows, c) - accuracy(fixed.rows, c))));
    console.log(`largest table difference, sequential cap ${m.N} vs fixed N = ${m.N}: ${(100 * worst).toFixed(1)} points`);
    const brief = (r) => ({ accuracy: Object.fromEntries(columns.map((c) => [c, accuracy(r.rows, c)])), cost: r.cost, seconds: r.seconds });
    report.push({ method: key, sigma, images: fixed.rows.length, N: m.N, fixed: brief(fixed), sequential: brief(adaptive), ...(paper === null ? {} : { cap, sequentialAtCap: brief(paper), fixedAtCapEvaluations: paperFixed }) });
  }
}
if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
await cache.dispose();
if (!keep) rmSync(dir, { recursive: true, force: true });
