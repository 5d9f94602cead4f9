// Sequential CERTIFY vs fixed-N CERTIFY, simulated on the per-image pA of the committed mnist-paper rows.
//
//   node bench/sequential.bench.mjs [--reports DIR] [--reps R] [--pa lower|point|both] [--quick]
//
// For every method of experiments/reports/mnist-paper and every cell (sigma 0.25: radii to 0.5 and to 0.75;
// sigma 0.5: radii to 1.0), each image's estimation votes are Bernoulli(pA) streams (seeded, counts-level):
// fixed N = 100,000 with the one-sided Clopper-Pearson bound (as `certify`) against `certifySequential`
// (alpha = 0.001, cap 100,000) and against the floor: a Clopper-Pearson union bound over
// doubling looks (100, 200, ..., 51,200, 100,000; alpha / 11 per look) with the same futility stop.
// pA per image: 'lower' = Phi(radius / sigma) (the committed N = 400 Clopper-Pearson lower bound; 0.5 for
// abstains), 'point' = nA / 400 with nA recovered from the radius (for abstains: the largest nA that abstains).
// Prints mean estimation draws per image, the ratio to 100,000 (and with N0 = 100 selection draws added to
// both sides), the certified-accuracy tables, and how many table entries differ from fixed N.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { certifySequential, clopperPearsonLower, normalCdf, normalQuantile } from '../dist/index.js';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const here = fileURLToPath(new URL('.', import.meta.url));
const reportsDir = arg('--reports', join(here, '../../../experiments/reports/mnist-paper'));
const reps = Number(arg('--reps', '3'));
const paModes = arg('--pa', 'both') === 'both' ? ['lower', 'point'] : [arg('--pa')];
const quick = args.includes('--quick');
const ALPHA = 0.001;
const N_CAP = 100_000;
const N_COMMITTED = 400;
const ALPHA_COMMITTED = 0.001;
const N0 = 100;
const PRIORS = {
  default: undefined,
  jeffreys: [{ weight: 1, a: 0.5, b: 0.5 }],
  uniform: [{ weight: 1, a: 1, b: 1 }],
  near1: [{ weight: 1, a: 1, b: 1 / 16 }],
};
const seqOptions = {
  ...(args.includes('--min-round') ? { minRound: Number(arg('--min-round')) } : {}),
  ...(args.includes('--growth') ? { roundGrowth: Number(arg('--growth')) } : {}),
  ...(args.includes('--futility-alpha') ? { futilityAlpha: Number(arg('--futility-alpha')) } : {}),
  ...(args.includes('--no-cap-futility') ? { capFutility: false } : {}),
  ...(PRIORS[arg('--prior', 'default')] ? { prior: PRIORS[arg('--prior')] } : {}),
};

const CELLS = [
  { sigma: 0.25, radii: [0.25, 0.5] },
  { sigma: 0.5, radii: [0.25, 0.5, 0.75, 1.0] },
  { sigma: 0.25, radii: [0.25, 0.5, 0.75] },
];

// mulberry32 pairs -> 53-bit uniforms in (0, 1].
function rng(seed) {
  let a = seed >>> 0;
  const u32 = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return () => ((u32() >>> 5) * 67108864 + (u32() >>> 6) + 1) / 9007199254740992;
}

/** Binomial(n, p) by geometric jumps between the rarer outcomes: exact, O(n min(p, 1 - p) + 1). */
function binomial(uniform, n, p) {
  if (p <= 0) return 0;
  if (p >= 1) return n;
  const q = Math.min(p, 1 - p);
  const lq = Math.log1p(-q);
  let pos = 0;
  let rare = 0;
  for (;;) {
    pos += Math.ceil(Math.log(uniform()) / lq) || 1;
    if (pos > n) break;
    rare++;
  }
  return p <= 0.5 ? rare : n - rare;
}

/** Counts-level sampler: the selection draws all vote for class 0; estimation draws Bernoulli(p) for class 0. */
function simulatedSampler(p, n0, uniform) {
  return async ({ firstDraw, count }) => {
    if (firstDraw < n0) return E.right([count, 0]);
    const k = binomial(uniform, count, p);
    return E.right([k, count - k]);
  };
}

function readRows(file, sigma, mode) {
  const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [, , predict, radius, correct] = line.split('\t');
    const r = Number(radius);
    const abstain = Number(predict) === -1;
    let pA;
    if (mode === 'lower') pA = abstain ? 0.5 : normalCdf(r / sigma);
    else {
      let best = 0;
      let bestErr = Infinity;
      for (let k = 0; k <= N_COMMITTED; k++) {
        const lo = clopperPearsonLower(k, N_COMMITTED, ALPHA_COMMITTED);
        if (abstain) {
          if (!(lo > 0.5)) best = k;
          continue;
        }
        if (!(lo > 0.5)) continue;
        const err = Math.abs(sigma * normalQuantile(lo) - r);
        if (err < bestErr) [best, bestErr] = [k, err];
      }
      pA = best / N_COMMITTED;
    }
    return { pA, correct: Number(correct) === 1 };
  });
}

function fixedN(pA, uniform) {
  const nA = binomial(uniform, N_CAP, pA);
  return { radius: nA === 0 ? -Infinity : normalQuantile(clopperPearsonLower(nA, N_CAP, ALPHA)), draws: N_CAP };
}

/** The floor: Clopper-Pearson at doubling looks with a union bound, same stop rules. */
function cpDoubling(pA, sigma, radii, uniform) {
  const looks = [];
  for (let n = 100; n < N_CAP; n *= 2) looks.push(n);
  looks.push(N_CAP);
  const a = ALPHA / looks.length;
  let n = 0;
  let nA = 0;
  let lower = 0;
  for (const look of looks) {
    nA += binomial(uniform, look - n, pA);
    n = look;
    lower = nA === 0 ? 0 : clopperPearsonLower(nA, n, a);
    const upper = nA === n ? 1 : 1 - clopperPearsonLower(n - nA, n, a);
    const cert = sigma * normalQuantile(lower);
    if (cert >= radii[radii.length - 1]) break;
    if (upper <= 0.5) break;
    const next = radii.find((r) => !(cert >= r));
    if (sigma * normalQuantile(upper) < next) break;
  }
  return { radius: lower > 0.5 ? sigma * normalQuantile(lower) : -Infinity, draws: n };
}

function table(results, rows, radii) {
  return [0, ...radii].map((r) =>
    results.reduce((acc, res, i) => acc + (rows[i].correct && res.radius >= r && res.radius > -Infinity ? 1 : 0), 0),
  );
}

async function runCell(file, method, cell, mode) {
  const rows = readRows(file, cell.sigma, mode);
  const totals = { fixed: 0, seq: 0, cp: 0 };
  let maxDiffSeq = 0;
  let maxDiffCp = 0;
  let changedSeq = 0;
  let entries = 0;
  const stops = {};
  let tables;
  for (let rep = 0; rep < reps; rep++) {
    const uniform = rng(1000 * rep + 17);
    const fixed = rows.map((row) => {
      const f = fixedN(row.pA, uniform);
      return { radius: cell.sigma * f.radius, draws: f.draws };
    });
    const cp = rows.map((row) => cpDoubling(row.pA, cell.sigma, cell.radii, uniform));
    const seq = [];
    for (const row of rows) {
      // The simulated sampler never fails: the result is always a Right.
      const { right: res } = await certifySequential(simulatedSampler(row.pA, N0, uniform), {
        sigma: cell.sigma,
        n0: N0,
        nMax: N_CAP,
        alpha: ALPHA,
        radii: cell.radii,
        numClasses: 2,
        batchSize: 100_000,
        ...seqOptions,
      });
      stops[res.stop] = (stops[res.stop] ?? 0) + 1;
      seq.push({ radius: res.kind === 'certified' ? res.radius : -Infinity, draws: res.draws.estimation });
    }
    const tf = table(fixed, rows, cell.radii);
    const ts = table(seq, rows, cell.radii);
    const tc = table(cp, rows, cell.radii);
    tables ??= { tf, ts, tc };
    maxDiffSeq = Math.max(maxDiffSeq, ...tf.map((v, i) => Math.abs(v - ts[i])));
    changedSeq += tf.filter((v, i) => v !== ts[i]).length;
    entries += tf.length;
    maxDiffCp = Math.max(maxDiffCp, ...tf.map((v, i) => Math.abs(v - tc[i])));
    for (const [k, list] of [['fixed', fixed], ['seq', seq], ['cp', cp]]) {
      totals[k] += list.reduce((s, x) => s + x.draws, 0) / rows.length / reps;
    }
  }
  return { method, rows: rows.length, totals, maxDiffSeq, maxDiffCp, changedSeq, entries, tables, stops };
}

const files = readdirSync(reportsDir).filter((f) => f.endsWith('.tsv'));
if (files.length === 0 || !existsSync(reportsDir)) throw new Error(`no TSVs in ${reportsDir}`);
console.log(
  `sequential CERTIFY bench: alpha ${ALPHA}, cap ${N_CAP}, ${reps} replicate(s), rounds ${JSON.stringify(seqOptions)}; ` +
    `table = images certified at radius 0, r1, ... (correct and radius >= r)`,
);
for (const mode of paModes) {
  for (const cell of CELLS) {
    const sig = `sigma${cell.sigma}_`;
    const cellFiles = files.filter((f) => f.includes(sig) && (!quick || f.startsWith('dds')));
    console.log(`\npA=${mode}  sigma ${cell.sigma}, radii ${cell.radii.join(', ')}`);
    console.log(
      'method'.padEnd(22) +
        'seq draws'.padStart(10) +
        '  ratio'.padStart(8) +
        'CP-dbl draws'.padStart(13) +
        '  ratio'.padStart(8) +
        ' +N0 ratio' +
        '  table fixed / seq / CP-dbl (first rep)   max|Δ| seq, CP (images)  seq entries changed   stops',
    );
    let sumSeq = 0;
    let sumCp = 0;
    for (const f of cellFiles) {
      const method = f.replace(/_sigma.*$/, '');
      const r = await runCell(join(reportsDir, f), method, cell, mode);
      sumSeq += r.totals.seq;
      sumCp += r.totals.cp;
      console.log(
        method.padEnd(22) +
          r.totals.seq.toFixed(0).padStart(10) +
          (N_CAP / r.totals.seq).toFixed(1).padStart(8) +
          r.totals.cp.toFixed(0).padStart(13) +
          (N_CAP / r.totals.cp).toFixed(1).padStart(8) +
          ((N0 + N_CAP) / (N0 + r.totals.seq)).toFixed(1).padStart(10) +
          `  ${r.tables.tf.join(',')} / ${r.tables.ts.join(',')} / ${r.tables.tc.join(',')}`.padEnd(44) +
          `${r.maxDiffSeq}, ${r.maxDiffCp}`.padStart(10) +
          `${r.changedSeq}/${r.entries}`.padStart(16) +
          '     ' +
          Object.entries(r.stops)
            .map(([k, v]) => `${k}:${v}`)
            .join(' '),
      );
    }
    const k = cellFiles.length;
    console.log(
      `${'all methods'.padEnd(22)}${(sumSeq / k).toFixed(0).padStart(10)}${(N_CAP / (sumSeq / k)).toFixed(1).padStart(8)}` +
        `${(sumCp / k).toFixed(0).padStart(13)}${(N_CAP / (sumCp / k)).toFixed(1).padStart(8)}` +
        `${((N0 + N_CAP) / (N0 + sumSeq / k)).toFixed(1).padStart(10)}`,
    );
  }
}
