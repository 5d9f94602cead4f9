// Certified accuracy of two certify runs over the same images and noise (same --seed), compared pairwise:
// per radius, each run's certified accuracy, the images only one of them certifies correctly, and the exact
// two-sided McNemar p-value (binomial on those discordant images).
// Usage: node tools/variants/paired.mjs A.tsv B.tsv [radii=0,0.25,0.5]
import { readFileSync } from 'node:fs';

const [a, b, radiiText = '0,0.25,0.5'] = process.argv.slice(2);
if (b === undefined) throw new Error('usage: node tools/variants/paired.mjs A.tsv B.tsv [radii]');
const rows = (path) => {
  const [header, ...lines] = readFileSync(path, 'utf8').trim().split('\n');
  const cols = header.split('\t');
  return new Map(lines.map((l) => l.split('\t')).map((f) => [f[cols.indexOf('idx')], { radius: Number(f[cols.indexOf('radius')]), correct: f[cols.indexOf('correct')] === '1' }]));
};
const ra = rows(a);
const rb = rows(b);
const shared = [...ra.keys()].filter((k) => rb.has(k));

/** Exact two-sided McNemar: P(X <= min(n1, n2)) doubled, X ~ Binomial(n1 + n2, 1/2). */
export function mcnemar(n1, n2) {
  const n = n1 + n2;
  if (n === 0) return 1;
  let tail = 0;
  let term = 0.5 ** n;
  for (let k = 0; k <= Math.min(n1, n2); k++) {
    tail += term;
    term *= (n - k) / (k + 1);
  }
  return Math.min(1, 2 * tail);
}

console.log(`${shared.length} images in both runs (${a} | ${b})`);
for (const r of radiiText.split(',').map(Number)) {
  const ok = (row) => row.correct && row.radius >= r && row.radius > 0;
  let both = 0;
  let onlyA = 0;
  let onlyB = 0;
  for (const k of shared) {
    const [x, y] = [ok(ra.get(k)), ok(rb.get(k))];
    if (x && y) both++;
    else if (x) onlyA++;
    else if (y) onlyB++;
  }
  const n = shared.length;
  console.log(`radius ${r}: certified accuracy ${((both + onlyA) / n).toFixed(3)} vs ${((both + onlyB) / n).toFixed(3)}; only the first ${onlyA}, only the second ${onlyB}; McNemar p ${mcnemar(onlyA, onlyB).toFixed(3)}`);
}
