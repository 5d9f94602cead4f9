// The study's pictures: Vega-Lite specs, drawn to SVG and PNG by @densepure/plot (as the eval report's are).
import type { TopLevelSpec } from '@densepure/plot';
import { argmax, bayesLabel } from '../mixture.js';
import { scheduleAlphasCumprod } from '../onnx-models.js';
import { posterior } from '../posterior.js';
import { sigmaToTimestep } from '@densepure/core';
import type { Experiment } from './experiment.js';
import { type SigmaResult, certifiedAccuracy, methodNames } from './run.js';

const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'];
const ABSTAIN = 'abstain';
const config = { font: 'DejaVu Sans, Arial, Helvetica, sans-serif', view: { stroke: '#888' } };

const labelScale = (e: Experiment): { domain: string[]; range: string[] } => ({
  domain: [...e.mixture.classNames, ABSTAIN],
  range: [...e.mixture.classNames.map((_, i) => PALETTE[i % PALETTE.length]!), '#dddddd'],
});

/** Component means (pixel units) repeated for every facet cell, drawn over the planes. */
const meanRows = (e: Experiment, facets: readonly Record<string, string>[]): Record<string, unknown>[] =>
  facets.flatMap((f) => e.mixture.components.map((c) => ({ ...f, kind: 'mean', x: (c.mean[0]! + 1) / 2, y: (c.mean[1]! + 1) / 2, size: 2 * c.std })));

const axes = (title: string): Record<string, unknown> => ({ title, scale: { domain: [0, 1], nice: false }, axis: { tickCount: 5, labelFontSize: 11 } });

/** The plane coloured by certified label (hue) and radius (opacity), one panel per (sigma, method). */
export function planesSpec(e: Experiment, results: readonly SigmaResult[]): TopLevelSpec {
  const names = methodNames(e);
  const h = 1 / (e.grid - 1) / 2;
  const rmax = Math.max(1e-9, ...results.flatMap((r) => r.grid.flatMap((p) => p.radius)));
  const cells = results.flatMap((r) =>
    r.grid.flatMap((p) =>
      names.map((method, m) => ({
        kind: 'cell',
        sigma: `σ = ${r.sigma}`,
        method,
        x0: Math.max(0, p.x - h),
        x1: Math.min(1, p.x + h),
        y0: Math.max(0, p.y - h),
        y1: Math.min(1, p.y + h),
        certified: p.predict[m]! < 0 ? ABSTAIN : e.mixture.classNames[p.predict[m]!]!,
        radius: p.radius[m]!,
      })),
    ),
  );
  const facets = results.flatMap((r) => names.map((method) => ({ sigma: `σ = ${r.sigma}`, method })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${e.name}: certified label (colour) and L2 radius (opacity) over the plane`, subtitle: `pixel units; circles: component means; N0 ${e.certify.N0}, N ${e.certify.N}, α ${e.certify.alpha}; largest radius ${rmax.toFixed(3)}`, anchor: 'start', fontSize: 16 },
    background: 'white',
    padding: 12,
    data: { values: [...cells, ...meanRows(e, facets)] },
    facet: {
      row: { field: 'sigma', type: 'nominal', title: null, header: { labelFontSize: 14 } },
      column: { field: 'method', type: 'nominal', title: null, sort: names, header: { labelFontSize: 13 } },
    },
    spec: {
      width: 200,
      height: 200,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'cell'" }],
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'x0', type: 'quantitative', ...axes('x') },
            x2: { field: 'x1' },
            y: { field: 'y0', type: 'quantitative', ...axes('y') },
            y2: { field: 'y1' },
            color: { field: 'certified', type: 'nominal', title: 'certified label', scale: labelScale(e), legend: { labelFontSize: 12, titleFontSize: 13 } },
            opacity: { field: 'radius', type: 'quantitative', title: 'radius', scale: { domain: [0, rmax], range: [0.15, 1] }, legend: { labelFontSize: 12, titleFontSize: 13, format: '.2f' } },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'mean'" }],
          mark: { type: 'point', shape: 'circle', color: 'black', filled: false, strokeWidth: 1.5 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, size: { value: 60 } },
        },
      ],
    },
    resolve: { scale: { color: 'shared', opacity: 'shared' } },
    config,
  };
}

/**
 * The theory without sampling: at each point x of the plane and each sigma, with x_t* = sqrt(abar) (2x - 1) (the
 * noise-free state), the Bayes class of x, the class of the posterior mean (what DDS classifies) and the class of
 * largest posterior mass (what DensePure's vote converges to).
 */
export function theorySpec(e: Experiment, resolution = 81): TopLevelSpec {
  const ac = scheduleAlphasCumprod(e.schedule);
  const h = 1 / (resolution - 1) / 2;
  const panels = ['Bayes class of x', 'DDS: class of E[x0 | x_t*]', 'DensePure, K → ∞: top class mass'];
  const rows: Record<string, unknown>[] = [];
  for (const sigma of e.sigmas) {
    const { t, scale } = sigmaToTimestep(sigma, ac);
    for (let j = 0; j < resolution; j++) {
      for (let i = 0; i < resolution; i++) {
        const x = i / (resolution - 1);
        const y = j / (resolution - 1);
        const model = [2 * x - 1, 2 * y - 1];
        const post = posterior(e.mixture, ac[t]!, model.map((v) => v * scale));
        const labels = [bayesLabel(e.mixture, model), bayesLabel(e.mixture, post.mean), argmax(post.classMass)];
        labels.forEach((l, p) => rows.push({ kind: 'cell', sigma: `σ = ${sigma} (t* = ${t})`, panel: panels[p], x0: Math.max(0, x - h), x1: Math.min(1, x + h), y0: Math.max(0, y - h), y1: Math.min(1, y + h), label: e.mixture.classNames[l] }));
      }
    }
  }
  const facets = e.sigmas.flatMap((sigma) => panels.map((panel) => ({ sigma: `σ = ${sigma} (t* = ${sigmaToTimestep(sigma, ac).t})`, panel })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${e.name}: where the posterior mean and the posterior mode disagree`, subtitle: 'noise-free x_t* = sqrt(ᾱ) (2x − 1); pixel units; circles: component means', anchor: 'start', fontSize: 16 },
    background: 'white',
    padding: 12,
    data: { values: [...rows, ...meanRows(e, facets)] },
    spacing: 28,
    facet: {
      row: { field: 'sigma', type: 'nominal', title: null, header: { labelFontSize: 14 } },
      column: { field: 'panel', type: 'nominal', title: null, sort: panels, header: { labelFontSize: 13 } },
    },
    spec: {
      width: 220,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'cell'" }],
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'x0', type: 'quantitative', ...axes('x') },
            x2: { field: 'x1' },
            y: { field: 'y0', type: 'quantitative', ...axes('y') },
            y2: { field: 'y1' },
            color: { field: 'label', type: 'nominal', title: 'class', scale: labelScale(e), legend: { labelFontSize: 12, titleFontSize: 13 } },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'mean'" }],
          mark: { type: 'point', shape: 'circle', color: 'black', filled: false, strokeWidth: 1.5 },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, size: { value: 60 } },
        },
      ],
    },
    config,
  };
}

/** Certified accuracy vs radius on the sampled points, one step curve per (method, sigma). */
export function accuracySpec(e: Experiment, results: readonly SigmaResult[]): TopLevelSpec {
  const names = methodNames(e);
  const rmax = Math.max(0.05, ...results.flatMap((r) => r.samples.flatMap((p) => p.radius))) * 1.05;
  const data = results.flatMap((r) =>
    names.flatMap((method, m) =>
      Array.from({ length: 301 }, (_, i) => ({ method, sigma: String(r.sigma), radius: (rmax * i) / 300, accuracy: certifiedAccuracy(r.samples, m, (rmax * i) / 300), series: `${method} σ ${r.sigma}` })),
    ),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${e.name}: certified accuracy on ${e.samples} points drawn from the mixture`, anchor: 'start', fontSize: 16 },
    width: 560,
    height: 340,
    background: 'white',
    padding: 12,
    data: { values: data },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5 },
    encoding: {
      x: { field: 'radius', type: 'quantitative', title: 'L2 radius (pixel units)', scale: { domain: [0, rmax], nice: false } },
      y: { field: 'accuracy', type: 'quantitative', title: 'certified accuracy', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'method', type: 'nominal', sort: names, scale: { scheme: 'tableau10' }, legend: { labelFontSize: 12, labelLimit: 400, symbolType: 'stroke', symbolStrokeWidth: 3 } },
      strokeDash: { field: 'sigma', type: 'ordinal', title: 'σ', scale: { range: [[1, 0], [8, 4], [3, 3]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 3, symbolSize: 400 } },
      detail: { field: 'series', type: 'nominal' },
    },
    config,
  };
}

export { renderSvg, svgToPng } from '@densepure/plot';
