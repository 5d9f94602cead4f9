// The two small charts of the certify view, drawn on canvases: the vote histogram and the bound per round.

const INK = '#23313f';
const ACCENT = '#f0b429';

/** Bars of selection (light) and estimation (dark) counts per class; the selected class outlined. */
export function drawHistogram(canvas: HTMLCanvasElement, selection: readonly number[] | null, estimation: readonly number[] | null, label: number | null): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const classes = (selection ?? estimation ?? []).length;
  if (classes === 0) return;
  const total = (c: readonly number[] | null): number => (c === null ? 0 : c.reduce((a, b) => a + b, 0));
  const slot = width / classes;
  const base = height - 16;
  ctx.font = '11px system-ui';
  ctx.textAlign = 'center';
  for (let k = 0; k < classes; k++) {
    const x = k * slot;
    const bar = (counts: readonly number[] | null, offset: number, color: string): void => {
      if (counts === null || total(counts) === 0) return;
      const h = ((base - 14) * counts[k]!) / total(counts);
      ctx.fillStyle = color;
      ctx.fillRect(x + offset, base - h, slot * 0.38, h);
      if (counts[k]! > 0) {
        ctx.fillStyle = INK;
        ctx.fillText(String(counts[k]), x + offset + slot * 0.19, base - h - 3);
      }
    };
    bar(selection, slot * 0.08, '#b8c4d0');
    bar(estimation, slot * 0.5, INK);
    ctx.fillStyle = k === label ? ACCENT : INK;
    ctx.fillText(String(k), x + slot / 2, height - 3);
  }
}

export interface BoundPoint {
  readonly n: number;
  readonly lower: number;
  readonly radius: number | null;
}

/** The lower bound on pA (dark) and the certified radius (gold, right axis up to `maxRadius`) against draws. */
export function drawBound(canvas: HTMLCanvasElement, points: readonly BoundPoint[], cap: number, maxRadius: number, radii: readonly number[]): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const left = 34;
  const right = width - 40;
  const top = 8;
  const bottom = height - 18;
  const xOf = (n: number): number => left + ((right - left) * Math.log1p(n)) / Math.log1p(Math.max(cap, 1));
  const yOf = (p: number): number => bottom - (bottom - top) * p;
  const rOf = (r: number): number => bottom - ((bottom - top) * r) / Math.max(maxRadius, 1e-9);
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(left, top, right - left, bottom - top);
  ctx.font = '10px system-ui';
  ctx.fillStyle = '#666';
  ctx.textAlign = 'right';
  for (const p of [0, 0.5, 1]) ctx.fillText(p.toFixed(1), left - 4, yOf(p) + 3);
  ctx.textAlign = 'left';
  for (const r of radii) {
    ctx.strokeStyle = '#f3e3b5';
    ctx.beginPath();
    ctx.moveTo(left, rOf(r));
    ctx.lineTo(right, rOf(r));
    ctx.stroke();
    ctx.fillText(`r ${r}`, right + 4, rOf(r) + 3);
  }
  ctx.textAlign = 'center';
  ctx.fillText(`draws (log scale, cap ${cap})`, (left + right) / 2, height - 4);
  const line = (value: (p: BoundPoint) => number | null, color: string): void => {
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let started = false;
    for (const p of points) {
      const v = value(p);
      if (v === null) continue;
      if (started) ctx.lineTo(xOf(p.n), v);
      else ctx.moveTo(xOf(p.n), v);
      started = true;
      ctx.fillRect(xOf(p.n) - 2, v - 2, 4, 4);
    }
    ctx.stroke();
    ctx.lineWidth = 1;
  };
  line((p) => yOf(p.lower), INK);
  line((p) => (p.radius === null ? null : rOf(p.radius)), ACCENT);
}
