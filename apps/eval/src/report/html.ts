// One self-contained HTML page: the plot (inline SVG), both tables, and each run's configuration from its sidecar.
import type { Series } from './load.js';
import { EVALS_NOTE, PAIRED_NOTE, type Tables, tableCells } from './table.js';

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const htmlTable = (head: string[], body: string[][]): string =>
  `<div class="scroll"><table>\n<thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${body
    .map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('\n')}\n</tbody>\n</table></div>`;

/** The inline SVG without its XML prolog (if any), so it embeds in HTML. */
const inlineSvg = (svg: string): string => svg.replace(/^<\?xml[^>]*>\s*/, '');

function runConfig(s: Series): string {
  const head = `${escapeHtml(s.file)} — ${escapeHtml(s.method)}, σ=${s.sigma ?? '?'} (${escapeHtml(s.status)}, ${s.rows.length} images)`;
  if (s.sidecar === null) return `<details><summary>${head}</summary><p>No sidecar: a Cohen-format TSV without densepure metadata; labelled by its file name.</p></details>`;
  return `<details><summary>${head}</summary><pre>${escapeHtml(JSON.stringify(s.sidecar, null, 2))}</pre></details>`;
}

export function htmlReport(options: { title: string; subtitle: string; svg: string; tables: Tables; series: readonly Series[]; generatedAt: string; warnings: readonly string[] }): string {
  const cells = tableCells(options.tables);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>
body { font-family: system-ui, 'DejaVu Sans', Arial, sans-serif; margin: 2rem auto; max-width: 110rem; padding: 0 1rem; color: #222; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; white-space: nowrap; }
th { background: #f3f3f3; }
tbody tr:nth-child(even) { background: #fafafa; }
pre { background: #f6f6f6; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.4rem 0; }
summary { cursor: pointer; }
.plot svg { max-width: 100%; height: auto; }
.note { color: #555; }
.warn { color: #a40; }
</style>
</head>
<body>
<h1>${escapeHtml(options.title)}</h1>
<p class="note">${escapeHtml(options.subtitle)}. Generated ${escapeHtml(options.generatedAt)} by densepure-eval.</p>
${options.warnings.map((w) => `<p class="warn">warning: ${escapeHtml(w)}</p>`).join('\n')}
<div class="plot">
${inlineSvg(options.svg)}
</div>
<h2>Certified accuracy per method and σ</h2>
<p class="note">Fraction of test images classified correctly and certified at L2 radius ≥ r; in brackets the 95% Clopper-Pearson interval over the images.</p>
<p class="note">${escapeHtml(EVALS_NOTE)}</p>
${htmlTable(cells.series.head, cells.series.body)}
<h2>Best over σ</h2>
<p class="note">At each radius, the best certified accuracy over the noise levels of a method (as DensePure and Carlini et al. report it), with the σ that achieves it.</p>
${htmlTable(cells.best.head, cells.best.body)}
${cells.paired.body.length === 0 ? '' : `<h2>Paired comparisons</h2>\n<p class="note">${escapeHtml(PAIRED_NOTE)}</p>\n${htmlTable(cells.paired.head, cells.paired.body)}`}
<h2>Run configurations</h2>
${options.series.map(runConfig).join('\n')}
</body>
</html>
`;
}
