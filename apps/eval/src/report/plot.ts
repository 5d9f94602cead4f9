// Certified accuracy vs radius, one step curve per series (method, sigma): a Vega-Lite spec compiled to Vega,
// drawn to SVG and PNG by @densepure/plot.
import type { TopLevelSpec } from '@densepure/plot';
import type { Series } from './load.js';

export interface PlotPoint {
  readonly series: string;
  readonly method: string;
  readonly sigma: string;
  readonly radius: number;
  readonly accuracy: number;
  /** Line width: earlier methods wider (see plotSpec). */
  readonly width: number;
}

/** Upper end of the radius axis: past the largest certified radius and the largest requested radius. */
export function radiusLimit(series: readonly Series[], radii: readonly number[]): number {
  const largest = Math.max(0, ...radii, ...series.flatMap((s) => s.rows.filter((r) => r.correct === 1).map((r) => r.radius)));
  return Math.max(0.25, Math.ceil((largest * 1.05) / 0.25) * 0.25);
}

/** Certified accuracy of every series on a fine radius grid (`points` + 1 radii from 0 to the limit). */
export function plotData(series: readonly Series[], radii: readonly number[], points = 400): PlotPoint[] {
  const limit = radiusLimit(series, radii);
  const data: PlotPoint[] = [];
  const methods = [...new Set(series.filter((s) => s.rows.length > 0).map((s) => s.method))];
  const width = (method: string): number => (methods.length <= 1 ? 3 : 5 - (2.5 * methods.indexOf(method)) / (methods.length - 1));
  for (const s of series) {
    if (s.rows.length === 0) continue;
    const sigma = s.sigma === null ? '?' : String(s.sigma);
    const label = `${s.method}, σ=${sigma}`;
    for (let i = 0; i <= points; i++) {
      const radius = (limit * i) / points;
      const k = s.rows.filter((r) => r.correct === 1 && r.radius >= radius).length;
      data.push({ series: label, method: s.method, sigma, radius, accuracy: k / s.rows.length, width: width(s.method) });
    }
  }
  return data;
}

export function plotSpec(series: readonly Series[], radii: readonly number[], title: string, subtitle: string): TopLevelSpec {
  const data = plotData(series, radii);
  const methods = [...new Set(series.filter((s) => s.rows.length > 0).map((s) => s.method))];
  const sigmas = [...new Set(data.map((d) => d.sigma))].sort((a, b) => Number(a) - Number(b));
  const limit = radiusLimit(series, radii);
  // Ticks every 0.25 (every 0.5 past radius 3), always including the radii of the tables.
  const tickStep = limit > 3 ? 0.5 : 0.25;
  const ticks = [...new Set([...Array.from({ length: Math.floor(limit / tickStep + 1e-9) + 1 }, (_, i) => i * tickStep), ...radii.filter((r) => r <= limit)])].sort((a, b) => a - b);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, fontSize: 18, subtitleFontSize: 13, anchor: 'start', offset: 12 },
    width: 640,
    height: 400,
    background: 'white',
    padding: 16,
    data: { values: data },
    mark: { type: 'line', interpolate: 'step-after', clip: true },
    encoding: {
      x: {
        field: 'radius',
        type: 'quantitative',
        title: 'L2 radius',
        scale: { domain: [0, limit], nice: false },
        axis: { values: ticks, format: '.2~f', labelFontSize: 13, titleFontSize: 15, grid: true },
      },
      y: {
        field: 'accuracy',
        type: 'quantitative',
        title: 'certified accuracy',
        scale: { domain: [0, 1] },
        axis: { format: '.0%', labelFontSize: 13, titleFontSize: 15, tickCount: 5 },
      },
      color: {
        field: 'method',
        type: 'nominal',
        title: 'method',
        sort: methods,
        scale: { scheme: 'tableau10' },
        legend: { labelFontSize: 13, titleFontSize: 14, labelLimit: 480, symbolStrokeWidth: 3, symbolType: 'stroke' },
      },
      strokeDash: {
        field: 'sigma',
        type: 'ordinal',
        title: 'σ (noise)',
        sort: sigmas,
        scale: { range: [[1, 0], [10, 5], [3, 4], [16, 4, 3, 4], [6, 3], [2, 8]] },
        legend: { labelFontSize: 13, titleFontSize: 14, symbolStrokeWidth: 3, symbolType: 'stroke', symbolSize: 400 },
      },
      // Earlier methods are drawn wider, so a curve that another one covers exactly still shows at its edges.
      strokeWidth: { field: 'width', type: 'quantitative', scale: null, legend: null },
      detail: { field: 'series', type: 'nominal' },
      tooltip: [
        { field: 'series', type: 'nominal' },
        { field: 'radius', type: 'quantitative', format: '.3f' },
        { field: 'accuracy', type: 'quantitative', format: '.3f' },
      ],
    },
    config: { font: 'DejaVu Sans, Arial, Helvetica, sans-serif', view: { stroke: '#888' } },
  };
}

export { renderSvg, svgToPng } from '@densepure/plot';
