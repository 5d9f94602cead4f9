// The 2-D ground-truth view: the study's theory figure (experiments/gmm-2d.yaml: the 'theory' mixture, linear
// schedule, T = 1000), computed live in closed form for any sigma: at each point x, x_t* = sqrt(abar) (2x - 1),
// the Bayes class of x, the class of the posterior mean (DDS) and of the largest posterior mass (DensePure, K -> inf).
import { diffusionConstants, linearBetaSchedule, sigmaToTimestep } from '@densepure/core';
import { argmax, bayesLabel, posterior, theoryMixture } from '@densepure/ground-truth/portable';

const RESOLUTION = 130;
const COLOURS: readonly [number, number, number][] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
];
const PANELS = ['Bayes class of x', 'DDS: class of E[x0 | x_t*]', 'DensePure, K → ∞: top class mass'] as const;

const alphasCumprod = diffusionConstants(linearBetaSchedule(1000)).alphasCumprod;
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

/** The three labels of each grid point at sigma (row-major, y up), and the timestep it maps to. */
function labelsAt(sigma: number): { t: number; labels: Uint8Array[] } {
  const { t, scale } = sigmaToTimestep(sigma, alphasCumprod);
  const labels = PANELS.map(() => new Uint8Array(RESOLUTION * RESOLUTION));
  for (let j = 0; j < RESOLUTION; j++) {
    for (let i = 0; i < RESOLUTION; i++) {
      const model = [(2 * i) / (RESOLUTION - 1) - 1, (2 * j) / (RESOLUTION - 1) - 1];
      const post = posterior(theoryMixture, alphasCumprod[t]!, model.map((v) => v * scale));
      const at = (RESOLUTION - 1 - j) * RESOLUTION + i;
      labels[0]![at] = bayesLabel(theoryMixture, model);
      labels[1]![at] = bayesLabel(theoryMixture, post.mean);
      labels[2]![at] = argmax(post.classMass);
    }
  }
  return { t, labels };
}

function paint(canvas: HTMLCanvasElement, labels: Uint8Array, other: Uint8Array | null): void {
  canvas.width = RESOLUTION;
  canvas.height = RESOLUTION;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(RESOLUTION, RESOLUTION);
  for (let p = 0; p < labels.length; p++) {
    const [r, g, b] = COLOURS[labels[p]!]!;
    // Where DDS and DensePure disagree: hatched (every other diagonal darker).
    const y = Math.floor(p / RESOLUTION);
    const hatch = other !== null && other[p] !== labels[p] && (p % RESOLUTION + y) % 6 < 2;
    const k = hatch ? 0.45 : 1;
    image.data.set([r * k, g * k, b * k, 255], 4 * p);
  }
  ctx.putImageData(image, 0, 0);
  ctx.strokeStyle = '#000';
  for (const c of theoryMixture.components) {
    const [mx, my] = [(c.mean[0]! + 1) / 2, (c.mean[1]! + 1) / 2];
    ctx.beginPath();
    ctx.arc(mx * (RESOLUTION - 1), (1 - my) * (RESOLUTION - 1), 3, 0, 2 * Math.PI);
    ctx.stroke();
  }
}

/** Builds the view once; the sigma slider redraws it, a click reads one point's posterior. */
export function showTheory(): void {
  const box = $('theory-canvases');
  const canvases = PANELS.map((title) => {
    const figure = document.createElement('figure');
    figure.style.margin = '0';
    const canvas = document.createElement('canvas');
    figure.append(canvas, Object.assign(document.createElement('figcaption'), { textContent: title }));
    box.append(figure);
    return canvas;
  });
  const slider = $('theory-sigma') as HTMLInputElement;
  const draw = (): void => {
    const sigma = Number(slider.value);
    const { t, labels } = labelsAt(sigma);
    let disagree = 0;
    labels[1]!.forEach((l, p) => (disagree += l === labels[2]![p] ? 0 : 1));
    $('theory-sigma-value').textContent = `σ = ${sigma.toFixed(2)} (t* = ${t}): DDS and DensePure disagree on ${((100 * disagree) / labels[1]!.length).toFixed(1)} % of the plane`;
    canvases.forEach((c, i) => paint(c, labels[i]!, i === 0 ? null : labels[i === 1 ? 2 : 1]!));
  };
  const read = (event: MouseEvent): void => {
    const canvas = event.currentTarget as HTMLCanvasElement;
    const r = canvas.getBoundingClientRect();
    const x = (event.clientX - r.left) / r.width;
    const y = 1 - (event.clientY - r.top) / r.height;
    const sigma = Number(slider.value);
    const { t, scale } = sigmaToTimestep(sigma, alphasCumprod);
    const model = [2 * x - 1, 2 * y - 1];
    const post = posterior(theoryMixture, alphasCumprod[t]!, model.map((v) => v * scale));
    const names = theoryMixture.classNames;
    const masses = Array.from(post.classMass, (m, k) => `${names[k]} ${m.toFixed(3)}`).join(', ');
    $('theory-point').textContent =
      `x = (${x.toFixed(2)}, ${y.toFixed(2)}): Bayes ${names[bayesLabel(theoryMixture, model)]}; posterior mean (${Array.from(post.mean, (v) => ((v + 1) / 2).toFixed(2)).join(', ')}) → DDS ${names[bayesLabel(theoryMixture, post.mean)]}; ` +
      `class masses ${masses} → DensePure ${names[argmax(post.classMass)]}`;
  };
  for (const c of canvases) c.addEventListener('click', read);
  slider.addEventListener('input', draw);
  draw();
}
