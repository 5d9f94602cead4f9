// What the benches share: seeded inputs, one timed cell (a warm-up run, then runs for up to a time cap), and a
// right-aligned table.

/** `n` floats in [-1, 1) from a linear congruential generator seeded with `seed`. */
export const input = (n, seed) => {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = 2 * (s / 2 ** 32) - 1;
  }
  return out;
};

/**
 * Items per second of `run(batch)` (a TaskEither-returning call): one warm-up run (which also compiles GPU
 * shaders), then as many runs as fit in `seconds`. A cell whose warm-up shows one run would take far past the
 * cap is skipped: `estimate` is the previous cell's seconds per item.
 */
export async function timeCell(run, batch, seconds, estimate = 0) {
  if (estimate * batch > 4 * seconds) return { skipped: `~${(estimate * batch).toFixed(0)}s/run`, secondsPerItem: estimate };
  const warm = performance.now();
  const first = await run()();
  if (first._tag === 'Left') throw new Error(first.left.message);
  const warmSeconds = (performance.now() - warm) / 1000;
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000 || runs === 0) {
    const r = await run()();
    if (r._tag === 'Left') throw new Error(r.left.message);
    runs++;
  }
  const elapsed = (performance.now() - start) / 1000;
  return { perSecond: (runs * batch) / elapsed, runs, warmSeconds, secondsPerItem: elapsed / runs / batch };
}

export const fmt = (r) => (r === undefined ? 'n/a' : r.skipped !== undefined ? `skipped (${r.skipped})` : r.failed !== undefined ? 'failed' : `${r.perSecond.toFixed(1)}`);

export const ratio = (a, b) => {
  if (a?.perSecond === undefined || b?.perSecond === undefined) return 'n/a';
  const r = a.perSecond / b.perSecond;
  return `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
};

/** Prints a header and rows of strings, each column right-aligned to its widest cell. */
export function printTable(header, rows) {
  const widths = header.map((hd, i) => Math.max(hd.length, ...rows.map((r) => r[i].length)));
  const line = (cells) => cells.map((cell, i) => cell.padStart(widths[i])).join('  ');
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}
