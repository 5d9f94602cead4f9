import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile as analyzeEither, formatAnalysis } from '../analyze.js';
import { parseExperimentText } from '../experiment.js';
import { runGrid } from '../grid.js';
import { tinyExperimentYaml, writeTinyFixture } from '../test-util/fixtures.js';
import { REPORT_FILES, type ReportOptions, type ReportResult, buildReport as buildReportTask } from './index.js';
import { compareKeys, methodName } from './load.js';
import { guessFromPath, loadSeries as loadSeriesEither } from './load.js';

// The library returns Either/TaskEither: these tests read the Right, and a Left as the error its message names.
const right = <A>(r: E.Either<{ readonly message: string }, A>): A => {
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};
const buildReport = async (options: ReportOptions): Promise<ReportResult> => right(await buildReportTask(options)());
const analyzeFile = (...args: Parameters<typeof analyzeEither>) => right(analyzeEither(...args));
const loadSeries = (...args: Parameters<typeof loadSeriesEither>) => right(loadSeriesEither(...args));

const work = mkdtempSync(join(tmpdir(), 'densepure-eval-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Two Cohen-format TSVs written by hand, as Cohen et al.'s certify.py writes them (no sidecar).
//
// cohen_sigma0.25.tsv, n = 8. Correct rows have radii 0.912, 0.410, 0.250, 0.751, 0.100 (idx 0 1 2 5 6); idx 3 and 7
// abstain, idx 4 is wrong (its radius 0.3 must not count).
//   r = 0:    5 correct                      -> 5/8 = 0.625
//   r = 0.25: 0.912 0.410 0.250 0.751 (>=)   -> 4/8 = 0.5
//   r = 0.5:  0.912 0.751                    -> 2/8 = 0.25
//   r = 0.75: 0.912 0.751                    -> 2/8 = 0.25
//   r = 1.0:  none                           -> 0/8 = 0
//   abstain 2/8 = 0.25; mean time (1.5 + 1 + 2 + 0.5 + 1 + 1 + 1 + 1) / 8 = 1.125 s
//   95% Clopper-Pearson at r = 1.0 (k = 0): [0, 1 - 0.025^(1/8)] = [0, 0.36942]
const COHEN_A = `idx\tlabel\tpredict\tradius\tcorrect\ttime
0\t7\t7\t0.912\t1\t0:00:01.500000
1\t2\t2\t0.41\t1\t0:00:01
2\t1\t1\t0.25\t1\t0:00:02
3\t0\t-1\t0.0\t0\t0:00:00.500000
4\t4\t9\t0.3\t0\t0:00:01
5\t1\t1\t0.751\t1\t0:00:01
6\t4\t4\t0.1\t1\t0:00:01
7\t9\t-1\t0.0\t0\t0:00:01
`;
// cohen_sigma0.5.tsv, n = 4. Correct radii 1.2, 0.6, 0.2 (idx 2 is wrong at radius 0.8).
//   r = 0: 3/4 = 0.75; r = 0.25: 2/4 = 0.5; r = 0.5: 2/4 = 0.5; r = 0.75: 1/4 = 0.25; r = 1.0: 1/4 = 0.25
// Best over sigma (ties go to the smaller sigma):
//   r = 0: 0.75 (σ 0.5); 0.25: 0.5 (σ 0.25); 0.5: 0.5 (σ 0.5); 0.75: 0.25 (σ 0.25); 1.0: 0.25 (σ 0.5)
const COHEN_B = `idx\tlabel\tpredict\tradius\tcorrect\ttime
0\t7\t7\t1.2\t1\t0:00:02
1\t2\t2\t0.6\t1\t0:00:02
2\t1\t3\t0.8\t0\t0:00:02
3\t0\t0\t0.2\t1\t0:00:02
`;

const handDir = join(work, 'hand');
beforeAll(() => {
  mkdirSync(handDir, { recursive: true });
  writeFileSync(join(handDir, 'cohen_sigma0.25.tsv'), COHEN_A);
  writeFileSync(join(handDir, 'cohen_sigma0.5.tsv'), COHEN_B);
});

describe('report on hand-written Cohen TSVs', () => {
  it('names method slugs and orders DensePure by K, then steps', () => {
    const slugs = ['densepure-K10-b2-dp', 'densepure-K5-b2-dp', 'dds', 'densepure-K1-full', 'smoothing', 'densepure-K5-b5'];
    const named = slugs.map((s) => ({ s, ...methodName(s) })).sort((a, b) => compareKeys(a.order, b.order));
    expect(named.map((n) => n.name)).toEqual([
      'Gaussian smoothing',
      'DDS (one-shot)',
      'DensePure K=1, full chain',
      'DensePure K=5, 2 steps (DensePure spacing)',
      'DensePure K=5, 5 steps',
      'DensePure K=10, 2 steps (DensePure spacing)',
    ]);
  });

  it('pairs two methods on the same images at one sigma: discordant counts and exact McNemar p by hand', async () => {
    // other_sigma0.25.tsv on the images of COHEN_A. Certified correct at r = 0: cohen {0,1,2,5,6}, other
    // {0,1,3,4,5,6,7} -> only other 3 (idx 3,4,7), only cohen 1 (idx 2), p = 2 (1 + 4) / 16 = 0.625.
    // r = 0.5: cohen {0,5}, other {0,1,4,5} -> +2 / -0, p = 2 / 4 = 0.5. r = 0.75: cohen {0,5}, other {1,5} -> +1 / -1.
    // r = 1.0: nobody, p = 1.
    const dir = join(work, 'paired');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cohen_sigma0.25.tsv'), COHEN_A);
    writeFileSync(join(dir, 'cohen_sigma0.5.tsv'), COHEN_B);
    const other = [[0, 0.5], [1, 0.9], [2, -1], [3, 0.3], [4, 0.6], [5, 0.8], [6, 0.2], [7, 0.4]];
    const label = [7, 2, 1, 0, 4, 1, 4, 9];
    writeFileSync(
      join(dir, 'other_sigma0.25.tsv'),
      `idx\tlabel\tpredict\tradius\tcorrect\ttime\n${other.map(([i, r]) => `${i}\t${label[i!]}\t${r! < 0 ? 3 : label[i!]}\t${Math.max(r!, 0)}\t${r! < 0 ? 0 : 1}\t0:00:01`).join('\n')}\n`,
    );
    const report = await buildReport({ resultsDir: dir });
    expect(report.tables.paired).toHaveLength(1);
    const [p] = report.tables.paired;
    expect([p!.a.method, p!.b.method, p!.images, p!.sharedDraws]).toEqual(['other', 'cohen', 8, false]);
    expect(p!.cells.map((c) => [c.onlyA, c.onlyB])).toEqual([[3, 1], [3, 1], [2, 0], [1, 1], [0, 0]]);
    expect(p!.cells[0]!.pValue).toBeCloseTo(0.625, 12);
    expect(p!.cells[2]!.pValue).toBeCloseTo(0.5, 12);
    expect(p!.cells[4]!.pValue).toBe(1);
    const md = readFileSync(join(dir, 'report', REPORT_FILES.markdown), 'utf8');
    expect(md).toContain('| other vs cohen | 0.25 | 8 | no | +3 / −1, p 0.625 |');
    const csv = readFileSync(join(dir, 'report', REPORT_FILES.pairedCsv), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 5);
    expect(csv[3]).toBe('other,cohen,0.25,,8,no,0.5,2,0,0.5');
  });

  it('matches the hand-computed certified accuracies, best over sigma, abstain rate and time', async () => {
    const report = await buildReport({ resultsDir: handDir });
    const [a, b] = report.tables.rows;
    expect(a!.series).toMatchObject({ file: 'cohen_sigma0.25.tsv', method: 'cohen', sigma: 0.25, status: 'no sidecar', denoiserEvalsPerImage: null });
    expect(a!.accuracies.map((c) => c.accuracy)).toEqual([0.625, 0.5, 0.25, 0.25, 0]);
    expect(a!.abstainRate).toBe(0.25);
    expect(a!.meanSeconds).toBeCloseTo(1.125, 12);
    expect(a!.accuracies[4]!.lower).toBe(0);
    expect(a!.accuracies[4]!.upper).toBeCloseTo(1 - 0.025 ** (1 / 8), 9);
    for (const c of a!.accuracies) expect(c.lower <= c.accuracy && c.accuracy <= c.upper).toBe(true);
    expect(b!.series.sigma).toBe(0.5);
    expect(b!.accuracies.map((c) => c.accuracy)).toEqual([0.75, 0.5, 0.5, 0.25, 0.25]);
    expect(report.tables.best).toHaveLength(1);
    expect(report.tables.best[0]!.accuracies.map((c) => [c.accuracy, c.sigma])).toEqual([[0.75, 0.5], [0.5, 0.25], [0.5, 0.5], [0.25, 0.25], [0.25, 0.5]]);

    const md = readFileSync(join(handDir, 'report', REPORT_FILES.markdown), 'utf8');
    expect(md).toContain('| method | σ | backend | images | r = 0 | r = 0.25 | r = 0.5 | r = 0.75 | r = 1 | abstain |');
    expect(md).toContain('| cohen | 0.25 | - | 8 | 0.625 [0.245, 0.915] | 0.500 ');
    expect(md).toMatch(/\| cohen \| 0.750 \[[\d.]+, [\d.]+\] \(σ=0.5\) \| 0.500 \[[\d.]+, [\d.]+\] \(σ=0.25\) \|/);
    const csv = readFileSync(join(handDir, 'report', REPORT_FILES.csv), 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^row,method,sigma,backend,images,acc@0,ci_low@0,ci_high@0,best_sigma@0,acc@0.25,/);
    expect(csv[1]).toMatch(/^series,cohen,0.25,,8,0.625,0.24486\d*,0.914766\d*,,0.5,/);
    expect(csv[3]).toMatch(/^best-over-sigma,cohen,,,,0.75,[\d.]+,[\d.]+,0.5,0.5,[\d.]+,[\d.]+,0.25,/);
  });

  it('asks for more radii with --radii', async () => {
    const out = join(work, 'more-radii');
    const report = await buildReport({ resultsDir: handDir, outDir: out, radii: [0, 0.5, 1, 1.25] });
    expect(report.tables.rows[1]!.accuracies.map((c) => c.accuracy)).toEqual([0.75, 0.5, 0.25, 0]);
    expect(readFileSync(join(out, REPORT_FILES.markdown), 'utf8')).toContain('| r = 1.25 |');
  });

  it('analyze prints what Cohen\'s analyze.py computes, as Python prints it', () => {
    const file = join(handDir, 'cohen_sigma0.25.tsv');
    expect(formatAnalysis(analyzeFile(file))).toBe('radius\tcertified_accuracy\n0.0\t0.625\n0.25\t0.5\n0.5\t0.25\n0.75\t0.25\n1.0\t0.0\n');
    expect(analyzeFile(join(handDir, 'cohen_sigma0.5.tsv'), [0.2, 0.6, 0.61, 1.2]).accuracies.map((a) => a.accuracy)).toEqual([0.75, 0.5, 0.25, 0.25]);
  });

  it('labels TSVs without sidecar by file name, Cohen\'s own extensionless paths included', () => {
    expect(guessFromPath('cohen_sigma0.25.tsv')).toEqual({ method: 'cohen', sigma: 0.25 });
    expect(guessFromPath('resnet110/noise_0.50/test/sigma_0.50')).toEqual({ method: 'resnet110/test', sigma: 0.5 });
    expect(guessFromPath('my-run.tsv')).toEqual({ method: 'my-run', sigma: null });
    const dir = join(work, 'cohen-layout');
    mkdirSync(join(dir, 'noise_0.25', 'test'), { recursive: true });
    writeFileSync(join(dir, 'noise_0.25', 'test', 'sigma_0.25'), COHEN_A);
    writeFileSync(join(dir, 'notes'), 'not a table\n');
    const series = loadSeries(dir);
    expect(series.map((s) => [s.file, s.method, s.sigma, s.rows.length])).toEqual([[join('noise_0.25', 'test', 'sigma_0.25'), 'test', 0.25, 8]]);
  });
});

describe('report on a grid run (with sidecars) next to a Cohen TSV', () => {
  const results = join(work, 'results');
  let dir = '';
  beforeAll(async () => {
    const fixture = await writeTinyFixture(join(work, 'fixture'), 4);
    const x = parseExperimentText(tinyExperimentYaml(fixture, 'tiny'), 'tiny.yaml');
    if (E.isLeft(x)) throw x.left;
    dir = right(await runGrid(x.right, { resultsRoot: results, log: () => undefined })()).dir;
    writeFileSync(join(dir, 'cohen_sigma0.5.tsv'), COHEN_B);
  }, 120_000);

  it('labels series from the sidecars, counts denoiser evaluations and writes every output atomically', async () => {
    const report = await buildReport({ resultsDir: dir, title: 'tiny grid' });
    expect(report.series.map((s) => `${s.method} ${s.sigma}`)).toEqual([
      'Gaussian smoothing 0.25',
      'Gaussian smoothing 0.5',
      'DDS (one-shot) 0.25',
      'DDS (one-shot) 0.5',
      'DensePure K=2, 2 steps 0.25',
      'DensePure K=2, 2 steps 0.5',
      'cohen 0.5',
    ]);
    const bySlug = (slug: string) => report.series.find((s) => s.sidecar?.identity?.method === slug)!;
    const perDraw = (slug: string) => bySlug(slug).sidecar!.denoiserEvalsPerDraw as number;
    expect(bySlug('smoothing').denoiserEvalsPerImage).toBe(0);
    expect(perDraw('dds')).toBe(1);
    expect(bySlug('dds').denoiserEvalsPerImage).toBe(50);
    expect(perDraw('densepure-K2-b2')).toBeGreaterThanOrEqual(2);
    expect(bySlug('densepure-K2-b2').denoiserEvalsPerImage).toBe(perDraw('densepure-K2-b2') * 50);
    expect(report.tables.best.map((b) => b.method)).toEqual(['Gaussian smoothing', 'DDS (one-shot)', 'DensePure K=2, 2 steps', 'cohen']);
    expect(readdirSync(report.outDir).sort()).toEqual(Object.values(REPORT_FILES).sort());

    const svg = readFileSync(join(report.outDir, REPORT_FILES.svg), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of ['tiny grid', 'L2 radius', 'certified accuracy', 'method', 'σ (noise)', 'Gaussian smoothing', 'DDS (one-shot)', 'DensePure K=2, 2 steps', 'cohen', '0.25', '0.5']) {
      expect(svg, text).toContain(`>${text}</text>`);
    }
    const png = readFileSync(join(report.outDir, REPORT_FILES.png));
    const meta = await sharp(png).metadata();
    const svgWidth = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    const svgHeight = Number(/<svg[^>]* height="(\d+)"/.exec(svg)![1]);
    expect(svgWidth).toBeGreaterThan(640);
    expect([meta.format, meta.width, meta.height]).toEqual(['png', svgWidth * 2, svgHeight * 2]);
    // Not a blank canvas: the curves and text leave many distinct colours.
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const colours = new Set<number>();
    for (let i = 0; i < data.length; i += info.channels * 7) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    expect(colours.size).toBeGreaterThan(50);

    const html = readFileSync(join(report.outDir, REPORT_FILES.html), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<(script|link|img)\b/);
    expect(html).toContain('Best over σ');
    expect(html).toContain('&quot;denoiserEvalsPerDraw&quot;');
    expect(html).toContain('dds_sigma0.25_auto.tsv — DDS (one-shot), σ=0.25 (complete, 4 images)');
    expect(html).toContain('No sidecar');
  });

  it('bad input: a .tsv that is not Cohen format is named, and no report is written', async () => {
    const bad = join(work, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'a_sigma0.25.tsv'), COHEN_A);
    writeFileSync(join(bad, 'broken.tsv'), 'idx,label,predict\n1,2,3\n');
    await expect(buildReport({ resultsDir: bad })).rejects.toThrow(/broken.tsv: the first line must be the header 'idx label predict radius correct time'/);
    writeFileSync(join(bad, 'broken.tsv'), `${COHEN_A}8\t1\tone\t0.5\t1\t0:00:01\n`);
    await expect(buildReport({ resultsDir: bad })).rejects.toThrow(/broken.tsv: line 10 is not a valid row/);
    expect(existsSync(join(bad, 'report'))).toBe(false);
    await expect(buildReport({ resultsDir: join(work, 'nowhere') })).rejects.toThrow(/results folder .*nowhere does not exist/);
    const empty = join(work, 'empty');
    mkdirSync(empty);
    await expect(buildReport({ resultsDir: empty })).rejects.toThrow(/no Cohen-format TSV/);
    expect(readdirSync(empty)).toEqual([]);
  });
});
