// Vega-Lite spec -> Vega -> SVG, rendered headless (renderer 'none': no canvas package needed), then PNG with
// sharp. The report's certified-accuracy plots and the ground-truth study's pictures both draw through here.
import sharp from 'sharp';
import * as vega from 'vega';
import { type TopLevelSpec, compile } from 'vega-lite';

export type { TopLevelSpec } from 'vega-lite';

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises the SVG at `scale` (2 = 144 dpi for a 72 dpi SVG) on white. */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale }).flatten({ background: '#ffffff' }).png().toBuffer();
}
