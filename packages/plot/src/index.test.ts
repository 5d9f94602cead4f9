import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { type TopLevelSpec, renderSvg, svgToPng } from './index.js';

const spec: TopLevelSpec = {
  title: 'certified accuracy',
  width: 200,
  height: 100,
  data: { values: [{ r: 0, a: 1 }, { r: 0.5, a: 0.8 }, { r: 1, a: 0.2 }] },
  mark: 'line',
  encoding: { x: { field: 'r', type: 'quantitative' }, y: { field: 'a', type: 'quantitative' } },
};

describe('renderSvg / svgToPng', () => {
  it('renders a spec to an SVG with its title and one line path', async () => {
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('certified accuracy');
    expect(svg).toMatch(/<path[^>]+d="M[^"]+L/);
  });

  it('rasterises at the scale asked for, on white', async () => {
    const svg = await renderSvg(spec);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    for (const scale of [1, 2]) {
      const png = await svgToPng(svg, scale);
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBe(width * scale);
      expect(meta.hasAlpha).toBe(false);
      // The top-left corner is background: white.
      const { data } = await sharp(png).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer({ resolveWithObject: true });
      expect([...data]).toEqual([255, 255, 255]);
    }
  });
});
