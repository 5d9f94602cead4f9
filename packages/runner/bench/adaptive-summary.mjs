// Summarises the runs an `adaptive.bench.mjs --dir DIR` left behind as one markdown table per method and sigma,
// with the images on which the sequential table and the fixed-N table disagree (the issue asks for every entry
// within 1 point); then, per sequential run, its mean draws against the floor and the futility budget's trade-off
// curve, replayed exactly from the looks its cost file records (no model is run: a larger futility level stops
// each image at the first recorded look where it gives up, on the same draws), and the same for smaller caps (a
// declared per-image budget; each cap is moved down to a look of the round schedule, where the replay is exact).
// Usage: node bench/adaptive-summary.mjs --dir DIR [--N0 100] [--alpha 0.001] [--futility 0.001,0.01,0.05,0.2,0.5]
//        [--caps 20000,10000,5000,2000]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { betaMixtureBounds, clopperPearsonUpper, drawsToCertify, firstSelectionLook, nextRoundSize, normalCdf, normalQuantile, oracleFixedDraws, replayLooks, sequentialLook, sequentialRule, waldDrawsBound } from '@densepure/core';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    N0: { type: 'string', default: '100' },
    alpha: { type: 'string', default: '0.001' },
    futility: { type: 'string', default: '0.001,0.01,0.05,0.2,0.5' },
    caps: { type: 'string', default: '20000,10000,5000,2000' },
    'pointwise-futility': { type: 'string', default: '0.01,0.05,0.2' },
  },
});
if (values.dir === undefined) throw new Error('give --dir, the folder adaptive.bench.mjs --dir wrote');
const N0 = Number(values.N0);
const RADII = { 0.25: [0.25, 0.5], 0.5: [0.25, 0.5, 0.75, 1.0] };
const NAME = /^(\w+)-sigma([\d.]+)-images(\d+)-(fixed|sequential|sequential-fixedsel)-(\d+)\.result\.json$/;

const cells = new Map();
for (const file of readdirSync(values.dir)) {
  const m = NAME.exec(file);
  if (m === null) continue;
  const [, method, sigma, images, kind, n] = m;
  const key = `${method} sigma ${sigma} images ${images}`;
  const cell = cells.get(key) ?? { method, sigma: Number(sigma), images: Number(images), fixed: new Map(), sequential: new Map(), 'sequential-fixedsel': new Map(), files: new Map() };
  cell[kind].set(Number(n), JSON.parse(readFileSync(join(values.dir, file), 'utf8')));
  cell.files.set(`${kind}-${n}`, join(values.dir, file.replace(/\.result\.json$/, '.tsv')));
  cells.set(key, cell);
}

const certifies = (row, radius) => row.correct === 1 && row.radius >= radius;
const accuracy = (rows, radius) => rows.filter((r) => certifies(r, radius)).length / rows.length;
const pct = (x) => (100 * x).toFixed(1);
const int = (x) => Math.round(x).toLocaleString('en-US');
const draws = (r) => r.cost.meanDraws.selection + r.cost.meanDraws.estimation;
/** Images certified at `radius` by only one of the two runs (by idx). */
function disagreements(a, b, radius) {
  const byIdx = new Map(b.rows.map((r) => [r.idx, r]));
  const onlyA = [];
  const onlyB = [];
  for (const r of a.rows) {
    const other = byIdx.get(r.idx);
    if (certifies(r, radius) && !certifies(other, radius)) onlyA.push(r.idx);
    if (!certifies(r, radius) && certifies(other, radius)) onlyB.push(r.idx);
  }
  return { onlyA, onlyB };
}

for (const cell of [...cells.values()].sort((a, b) => a.method.localeCompare(b.method) || a.sigma - b.sigma)) {
  const radii = [0, ...(RADII[cell.sigma] ?? [])];
  const [n, fixed] = [...cell.fixed.entries()][0] ?? [];
  for (const kind of ['sequential', 'sequential-fixedsel']) {
    for (const [cap, seq] of cell[kind]) budgetCurves(cell, kind, cap, seq);
  }
  if (fixed === undefined) continue;
  const perDraw = fixed.cost.meanEvaluations.denoiser / (N0 + n);
  const fixedWall = fixed.seconds / fixed.rows.length;
  console.log(`\n### ${cell.method}, sigma ${cell.sigma}, ${cell.images} images (${perDraw.toFixed(2)} denoiser evaluations per draw at fixed N)\n`);
  console.log(`| run | ${radii.map((r) => `r = ${r}`).join(' | ')} | draws / image | denoiser evals / image | wall s / image | evals vs fixed N of the same size |`);
  console.log(`| --- | ${radii.map(() => '---').join(' | ')} | --- | --- | --- | --- |`);
  console.log(`| fixed N = ${int(n)} | ${radii.map((r) => pct(accuracy(fixed.rows, r))).join(' | ')} | ${int(draws(fixed))} | ${int(fixed.cost.meanEvaluations.denoiser)} | ${fixedWall.toFixed(2)} | |`);
  for (const [cap, seq] of [...cell.sequential.entries()].sort((a, b) => a[0] - b[0])) {
    const fixedAtCap = (N0 + cap) * perDraw;
    const wall = seq.seconds / seq.rows.length;
    console.log(
      `| sequential, cap ${int(cap)} | ${radii.map((r) => pct(accuracy(seq.rows, r))).join(' | ')} | ${int(draws(seq))} | ${int(seq.cost.meanEvaluations.denoiser)} | ${wall.toFixed(2)}${seq.partialWall ? ' (resumed: part)' : ''} | ${(fixedAtCap / seq.cost.meanEvaluations.denoiser).toFixed(1)}x fewer than fixed N = ${int(cap)} (${int(fixedAtCap)}; wall ~${((fixedWall * (N0 + cap)) / (N0 + n) / wall).toFixed(0)}x) |`,
    );
  }
  for (const [cap, seq] of [...cell.sequential.entries()].sort((a, b) => a[0] - b[0])) {
    const diffs = radii.map((r) => ({ r, ...disagreements(seq, fixed, r) })).filter((d) => d.onlyA.length + d.onlyB.length > 0);
    const worst = Math.max(...radii.map((r) => Math.abs(accuracy(seq.rows, r) - accuracy(fixed.rows, r))));
    console.log(
      `\nsequential cap ${int(cap)} vs fixed N = ${int(n)}: largest table difference ${pct(worst)} points` +
        (diffs.length === 0 ? '; the same images certified at every radius' : `; ${diffs.map((d) => `r = ${d.r}: only sequential idx [${d.onlyA.join(', ')}], only fixed idx [${d.onlyB.join(', ')}]`).join('; ')}`),
    );
  }
}

/**
 * Mean draws against the floors, and the trade-off curves of the two declared budgets (futility level, a smaller
 * cap) of one sequential run, replayed from its cost file's looks.
 */
function budgetCurves(cell, kind, cap, seq) {
  const tsv = cell.files.get(`${kind}-${cap}`);
  const costFile = `${tsv}.cost`;
  if (!existsSync(costFile)) return;
  const costs = new Map(readFileSync(costFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((c) => [c.idx, c]));
  if ([...costs.values()].some((c) => c.looks === undefined)) return;
  const alpha = Number(values.alpha);
  const radii = RADII[cell.sigma];
  const rMax = radii[radii.length - 1];
  const floor = Math.log(alpha) / Math.log(normalCdf(rMax / cell.sigma));
  const mixture = drawsToCertify(rMax, cell.sigma, alpha);
  const meanDraws = draws(seq);
  const rate = seq.cost.meanEvaluations.denoiser / meanDraws;
  console.log(`\n### ${cell.method}, sigma ${cell.sigma}, ${cell.images} images, ${kind.replace('-fixedsel', ' (fixed selection)')}, cap ${int(cap)}\n`);
  console.log(
    `mean draws per image ${meanDraws.toFixed(1)} (selection ${seq.cost.meanDraws.selection.toFixed(1)}, estimation ${seq.cost.meanDraws.estimation.toFixed(1)}) against the floor ` +
      `n >= ln alpha / ln Phi(${rMax} / ${cell.sigma}) = ${floor.toFixed(1)} (${Math.ceil(floor)} draws; the mixture sequence with every draw right needs ${mixture}, adaptive selection at least ${firstSelectionLook(alpha)}): ` +
      `${(meanDraws / Math.ceil(floor)).toFixed(2)}x the floor; ${((N0 + cap) * rate / seq.cost.meanEvaluations.denoiser).toFixed(1)}x fewer evaluations than fixed N = ${int(cap)}`,
  );
  const heavy = [...costs.values()].sort((a, b) => b.draws.estimation - a.draws.estimation).slice(0, 3);
  console.log(`most draws: ${heavy.map((c) => `idx ${c.idx} ${int(c.draws.selection + c.draws.estimation)} (${c.stop}, pA >= ${c.pA.toFixed(4)})`).join('; ')}`);
  perImageFloors(cell, cap, seq, costs, rate, alpha);
  const columns = [0, ...radii];
  const header = (what) => {
    console.log(`\n| ${what} | draws / image | evals / image | vs fixed N = ${int(cap)} | ${columns.map((r) => `r = ${r}`).join(' | ')} | entries lost vs default | budget spent (sum of level over give-ups) |`);
    console.log(`| --- | --- | --- | --- | ${columns.map(() => '---').join(' | ')} | --- | --- |`);
  };
  const line = (label, rule, level, replay = (looks) => replayLooks(looks, rule)) => {
    const r = replayTable(cell, seq, costs, replay, columns, level);
    const k = seq.rows.length;
    console.log(
      `| ${label} | ${int(r.draws / k)} | ${int(r.evals / k)} | ${((N0 + cap) * rate / (r.evals / k)).toFixed(1)}x | ${r.hits.map((h) => pct(h / k)).join(' | ')} | ${r.lost}${r.unknown > 0 ? ` (${r.unknown} unlabelled)` : ''} | ${r.spent.toFixed(3)} |`,
    );
  };
  const ruleWith = (extra) => sequentialRule({ sigma: cell.sigma, radii, alpha, n0: N0, nMax: cap, numClasses: 10, batchSize: 1, ...extra });
  header('futility level');
  for (const level of values.futility.split(',').map(Number)) {
    line(`${level}${level === alpha ? ' (default)' : ''}`, ruleWith({ futilityAlpha: level }), level);
  }
  header('cap (per-image draw budget)');
  line(`${int(cap)} (the run)`, ruleWith({}), 0);
  for (const wanted of values.caps.split(',').map(Number).filter((c) => c < cap)) {
    // The largest look of the round schedule at or below the wanted cap: rounds up to it are the run's own.
    let n = 0;
    while (n + nextRoundSize(n, ruleWith({})) <= wanted) n += nextRoundSize(n, ruleWith({}));
    line(`${int(n)}`, ruleWith({ nMax: n }), 0);
  }
  header('pointwise futility β (not built: a replayed rule)');
  for (const beta of values['pointwise-futility'].split(',').map(Number)) {
    line(`${beta}`, ruleWith({}), beta, pointwiseFutility(ruleWith({}), beta));
  }
}

/**
 * A futility rule not in the product yet, replayed to see what it would save: besides the run's own stops, give
 * up on the next target when a pointwise Clopper-Pearson upper bound on pA at level beta / L (L = the number of
 * looks up to the cap: Bonferroni over looks) is below the smallest rate at which the sequence's bound at the cap
 * would reach that target. An input whose pA is at least that rate is given up on with probability <= beta; the
 * anytime upper bound the product uses carries the mixture's regret (~ ln n / 2 nats) even at a large futility
 * level, which is why raising that level barely helps inputs that sit on a threshold.
 */
function pointwiseFutility(rule, beta) {
  let looks = 0;
  for (let n = 0; n < rule.nMax; looks++) n += nextRoundSize(n, rule);
  const level = beta / looks;
  const need = new Map();
  const rateNeeded = (threshold) => {
    if (!need.has(threshold)) {
      let lo = threshold;
      let hi = 1;
      for (let i = 0; i < 60; i++) {
        const mid = (lo + hi) / 2;
        if (betaMixtureBounds(Math.round(mid * rule.nMax), rule.nMax, rule.alpha, rule.prior).lower > threshold) hi = mid;
        else lo = mid;
      }
      need.set(threshold, hi);
    }
    return need.get(threshold);
  };
  return (recorded) => {
    let n = 0;
    for (let i = 0; i < recorded.length; i++) {
      n += nextRoundSize(n, rule);
      const nA = recorded[i];
      const look = sequentialLook(nA, n, rule);
      if (look.stop !== null) return { ...look, estimation: n };
      const certified = rule.sigma * normalQuantile(look.lower);
      const target = look.lower > 0.5 ? rule.radii.find((r) => !(certified >= r)) : 0;
      const threshold = target === 0 ? 0.5 : normalCdf(target / rule.sigma);
      if (clopperPearsonUpper(nA, n, level) < rateNeeded(threshold)) return { ...look, stop: 'pointwise-futility', estimation: n };
    }
    return null;
  };
}

/**
 * One sequential run's rows replayed from their recorded looks (`replayOf`: looks -> where the rule stops): total draws and evaluations, hits
 * per radius column, table entries lost against the recorded rows, and the futility budget spent.
 * Evaluations per image scale with the draws of each row (exact for one evaluation per draw).
 */
function replayTable(cell, seq, costs, replayOf, columns, level) {
  let draws = 0;
  let evals = 0;
  let spent = 0;
  let lost = 0;
  let unknown = 0;
  const hits = columns.map(() => 0);
  for (const row of seq.rows) {
    const c = costs.get(row.idx);
    const replay = replayOf(c.looks) ?? { stop: c.stop, estimation: c.draws.estimation, lower: c.pA };
    const rowDraws = c.draws.selection + replay.estimation;
    draws += rowDraws;
    evals += c.evaluations.denoiser * (rowDraws / (c.draws.selection + c.draws.estimation));
    if (['pA-below-half', 'next-radius-out-of-reach', 'next-radius-beyond-cap', 'pointwise-futility'].includes(replay.stop)) spent += level;
    // A replayed certificate on a row the recorded run abstained on has no recorded label: counted as not certified.
    if (replay.lower > 0.5 && row.predict === -1) unknown++;
    const radius = replay.lower > 0.5 && row.predict !== -1 ? cell.sigma * normalQuantile(replay.lower) : -1;
    const recorded = row.correct === 1 ? row.radius : -1;
    columns.forEach((r, i) => {
      const now = row.correct === 1 && radius >= r;
      if (now) hits[i]++;
      if (!now && recorded >= r) lost++;
    });
  }
  return { draws, evals, hits, lost, unknown, spent };
}

/**
 * What any procedure reaching the same certificates would spend, image by image, at the vote rate each image
 * showed (its estimation votes / draws; a point estimate): the oracle fixed-n Clopper-Pearson count (N chosen
 * knowing pA) and Wald's bound at power 1/2 (no valid sequential test that certifies the image at least half
 * the time spends fewer draws on average). An image certified at radius r needs pA > Phi(r' / sigma) for the
 * largest requested r' <= r (r < the first radius: pA > 1/2); an abstention needs nothing. Selection is free.
 * The ratios say how far below fixed N = cap any table-equal procedure could go on these images.
 */
function perImageFloors(cell, cap, seq, costs, rate, alpha) {
  const radii = RADII[cell.sigma];
  let oracle = 0;
  let wald = 0;
  const worst = [];
  for (const row of seq.rows) {
    const c = costs.get(row.idx);
    const votes = c.looks.at(-1) ?? 0;
    const pHat = c.draws.estimation > 0 ? votes / c.draws.estimation : 0;
    if (!(c.pA > 0.5) || row.predict === -1) continue;
    const reached = radii.filter((r) => row.radius >= r);
    const threshold = reached.length === 0 ? 0.5 : normalCdf(reached.at(-1) / cell.sigma);
    const o = oracleFixedDraws(pHat, threshold, alpha) ?? 0;
    const w = waldDrawsBound(pHat, threshold, alpha, 0.5);
    oracle += o;
    wald += w;
    worst.push({ idx: row.idx, pHat, threshold, o, w, spent: c.draws.selection + c.draws.estimation });
  }
  const k = seq.rows.length;
  const fixedEvals = (N0 + cap) * rate;
  console.log(
    `floors at each image's own vote rate (${k} images): oracle fixed-n ${int(oracle / k)} draws / image ` +
      `(${(fixedEvals / ((oracle / k) * rate)).toFixed(1)}x fewer than fixed N = ${int(cap)} at best), Wald at power 1/2 ${int(wald / k)} draws / image ` +
      `(${(fixedEvals / ((wald / k) * rate)).toFixed(1)}x at best); this run ${int(draws(seq))} draws / image`,
  );
  worst.sort((a, b) => b.o - a.o);
  console.log(
    `largest floors: ${worst.slice(0, 3).map((x) => `idx ${x.idx} pA ~ ${x.pHat.toFixed(4)} vs threshold ${x.threshold.toFixed(4)}: oracle ${int(x.o)}, Wald ${int(x.w)}, spent ${int(x.spent)}`).join('; ')}`,
  );
}
