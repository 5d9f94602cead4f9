// Runs an experiment grid: one `runCertify` per cell (method x sigma x backend), each writing its own Cohen
// TSV + JSON sidecar under <results>/<experiment name>/. Complete cells are skipped, partial ones resume (that
// is runCertify's job), so an interrupted grid is finished by running the same command again.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { either as E } from 'fp-ts';
import { registeredBackends } from '@densepure/backend';
import { type CertifyOptions, type CertifyRow, type RunSummary, CliError, parseCohenTsv, registerInstalledBackends, runCertifyShared, summarize } from '@densepure/cli';
import { openDataset, selectIndices } from '@densepure/datasets';
import * as zoo from '@densepure/zoo-mnist';
import { type Cell, type Experiment, expandGrid, methodSlug } from './experiment.js';
import { formatDuration } from './format.js';

export interface RunGridOptions {
  /** Folder that holds one sub-folder per experiment; default 'results'. */
  readonly resultsRoot?: string;
  /** Progress and summary lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** The command line, recorded in each sidecar. */
  readonly argv?: readonly string[];
  /** Run only the cells whose id contains this text (e.g. 'sigma0.25'), to split a grid across processes. */
  readonly cells?: string;
}

export type CellOutcome = 'skipped' | 'ran' | 'resumed';

export interface CellResult {
  readonly cell: Cell;
  readonly out: string;
  readonly outcome: CellOutcome;
  readonly rows: number;
  readonly summary: RunSummary;
}

export interface GridResult {
  readonly dir: string;
  readonly cells: CellResult[];
}

export const cellPath = (dir: string, cell: Cell): string => join(dir, `${cell.id}.tsv`);

/** The certify options of one cell: smoothing has no denoiser, dds is the one-shot K=1 run, densepure K votes. */
export function cellOptions(x: Experiment, cell: Cell, out: string): CertifyOptions {
  const m = cell.method;
  return {
    denoiser: m.kind === 'smoothing' ? 'none' : x.models.denoiser,
    classifier: x.models.classifier,
    dataset: x.dataset.spec,
    backend: cell.backend === 'auto' ? undefined : cell.backend,
    device: x.models.device,
    workers: x.workers,
    threads: x.threads,
    sigma: cell.sigma,
    K: m.kind === 'densepure' ? m.K : 1,
    steps: m.kind === 'densepure' ? String(m.steps) : '10',
    oneShot: m.kind === 'dds',
    ...(m.kind === 'densepure' && m.spacing === 'densepure' ? { spacing: 'densepure' } : {}),
    seed: x.seed,
    batch: x.batch,
    variance: x.variance,
    n0: x.certify.N0,
    n: x.certify.N,
    alpha: x.certify.alpha,
    skip: x.dataset.skip,
    max: x.dataset.max,
    out,
  };
}

/**
 * The part of runCertify's sidecar identity that follows from the experiment alone (model and dataset hashes
 * need the files loaded; runCertify itself checks those). Used to refuse a changed grid before anything runs.
 */
export function expectedIdentity(x: Experiment, cell: Cell): Record<string, unknown> {
  const m = cell.method;
  return {
    method: methodSlug(m),
    sigma: cell.sigma,
    N0: x.certify.N0,
    N: x.certify.N,
    alpha: x.certify.alpha,
    skip: x.dataset.skip,
    max: x.dataset.max ?? null,
    K: m.kind === 'densepure' ? m.K : 1,
    steps: m.kind === 'densepure' ? m.steps : null,
    seed: x.seed,
    variance: x.variance ?? 'auto',
    ...(cell.backend === 'auto' ? {} : { backend: cell.backend }),
  };
}

interface CellState {
  readonly cell: Cell;
  readonly out: string;
  readonly complete: boolean;
  readonly rowsDone: number;
  readonly summary?: RunSummary;
}

/** Reads what an earlier run left for a cell; a TSV written with another configuration is an error. */
function inspectCell(x: Experiment, cell: Cell, out: string): CellState | string {
  if (!existsSync(out)) return { cell, out, complete: false, rowsDone: 0 };
  const sidecar = `${out}.json`;
  if (!existsSync(sidecar)) return `${out} exists but has no sidecar ${sidecar}: not a densepure run; move it away`;
  let side: { status?: string; identity?: Record<string, unknown>; rows?: number; of?: number };
  try {
    side = JSON.parse(readFileSync(sidecar, 'utf8'));
  } catch {
    return `sidecar ${sidecar} is not valid JSON; move it and ${out} away to rerun that cell`;
  }
  const want = expectedIdentity(x, cell);
  const have = side.identity ?? {};
  const differing = Object.keys(want).filter((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
  if (differing.length > 0) {
    return `${out} was written with another configuration (${differing.map((k) => `${k}: ${JSON.stringify(have[k])} -> ${JSON.stringify(want[k])}`).join(', ')}); use another experiment name or --results folder, or move it away`;
  }
  let rows: CertifyRow[];
  try {
    rows = parseCohenTsv(readFileSync(out, 'utf8'), out).rows;
  } catch (cause) {
    return cause instanceof Error ? cause.message : String(cause);
  }
  const complete = side.status === 'complete' && side.of !== undefined && rows.length >= side.of;
  return { cell, out, complete, rowsDone: rows.length, summary: summarize(rows) };
}

async function datasetSize(x: Experiment): Promise<number> {
  const spec = x.dataset.spec === 'default' ? zoo.testSetPath : x.dataset.spec;
  const ds = await openDataset(spec, x.dataset.spec === 'default' ? zoo.classNames : undefined);
  if (E.isLeft(ds)) throw new CliError(`dataset.spec: ${ds.left.message}`);
  return ds.right.size;
}

async function checkBackends(x: Experiment): Promise<void> {
  const notes = await registerInstalledBackends();
  const known = registeredBackends().map((b) => b.name);
  const bad = x.backends.map((b, i) => ({ b, i })).filter(({ b }) => b !== 'auto' && !known.includes(b));
  if (bad.length > 0) {
    const why = (b: string): string => notes.filter((n) => n.name === b).map((n) => ` (${n.note})`).join('');
    throw new CliError(bad.map(({ b, i }) => `backends[${i}]: unknown backend '${b}'${why(b)}; allowed: auto, ${known.join(', ')}`).join('\n'), 2);
  }
}

/** Runs every cell of the grid in order; see the file comment. */
export async function runGrid(x: Experiment, options: RunGridOptions = {}): Promise<GridResult> {
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const dir = join(options.resultsRoot ?? 'results', x.name);
  const cells = expandGrid(x).filter((c) => options.cells === undefined || c.id.includes(options.cells));
  if (cells.length === 0) throw new CliError(`--cells '${options.cells}' matches no cell of ${x.name}; ids look like ${expandGrid(x)[0]?.id}`, 2);

  // Everything that can be checked before a model runs is checked first: no cell starts on a grid that would fail.
  await checkBackends(x);
  const perCell = selectIndices(await datasetSize(x), x.dataset.skip, x.dataset.max).length;
  if (perCell === 0) throw new CliError(`dataset: skip ${x.dataset.skip} and max ${x.dataset.max ?? '-'} select no image`, 2);
  const states = cells.map((cell) => inspectCell(x, cell, cellPath(dir, cell)));
  const refused = states.filter((s): s is string => typeof s === 'string');
  if (refused.length > 0) throw new CliError(`cannot continue the grid in ${dir}:\n  ${refused.join('\n  ')}`);

  const dirExisted = existsSync(dir);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (cause) {
    throw new CliError(`cannot create results folder ${dir}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }

  const totalRows = perCell * cells.length;
  let rowsDone = 0;
  let rowsThisSession = 0;
  let cellsDone = 0;
  const started = performance.now();
  const gridLine = (): string => {
    const elapsed = (performance.now() - started) / 1000;
    const eta = rowsThisSession === 0 ? Number.NaN : (elapsed / rowsThisSession) * (totalRows - rowsDone);
    return `grid ${cellsDone}/${cells.length} cells, ${rowsDone}/${totalRows} images, ETA ${formatDuration(eta)}`;
  };
  log(`experiment ${x.name}: ${cells.length} cells x ${perCell} images, N0 ${x.certify.N0}, N ${x.certify.N}, alpha ${x.certify.alpha} -> ${dir}`);

  const results: CellResult[] = [];
  // Cells that run side by side: one session per sigma and backend with shareDraws, else one per cell.
  const sessions: CellState[][] = [];
  for (const state of states as CellState[]) {
    const mate = x.shareDraws ? sessions.find((s) => s[0]!.cell.sigma === state.cell.sigma && s[0]!.cell.backend === state.cell.backend) : undefined;
    if (mate !== undefined) mate.push(state);
    else sessions.push([state]);
  }
  const tagOf = (cell: Cell): string => `[cell ${cells.indexOf(cell) + 1}/${cells.length} ${cell.id}]`;
  try {
    for (const session of sessions) {
      const pending: CellState[] = [];
      for (const state of session) {
        const { cell, out } = state;
        if (state.complete && state.summary !== undefined) {
          rowsDone += perCell;
          cellsDone += 1;
          log(`${tagOf(cell)} complete, skipped | ${gridLine()}`);
          results.push({ cell, out, outcome: 'skipped', rows: state.rowsDone, summary: state.summary });
        } else {
          rowsDone += state.rowsDone;
          log(`${tagOf(cell)} ${state.rowsDone > 0 ? `resuming after ${state.rowsDone}/${perCell} images` : `starting, ${perCell} images`}${session.length > 1 ? ` (sharing draws with ${session.filter((s) => s !== state).map((s) => s.cell.id).join(', ')})` : ''}`);
          pending.push(state);
        }
      }
      if (pending.length === 0) continue;
      const memberOptions = pending.map((state) => cellOptions(x, state.cell, state.out));
      const outcomes = await runCertifyShared({
        ...memberOptions[0]!,
        members: memberOptions,
        progress: 'none',
        argv: options.argv ?? ['densepure-eval', 'run', x.name],
        onRow: (member, row, done, total) => {
          rowsDone += 1;
          rowsThisSession += 1;
          const what = row.predict === -1 ? 'abstain' : `predict ${row.predict} radius ${row.radius.toFixed(3)} ${row.correct === 1 ? 'correct' : 'wrong'}`;
          log(`${tagOf(pending[member]!.cell)} image ${done}/${total} idx ${row.idx} label ${row.label}: ${what} (${row.seconds.toFixed(1)} s) | ${gridLine()}`);
        },
      });
      for (const [i, result] of outcomes.entries()) {
        const { cell, out } = pending[i]!;
        cellsDone += 1;
        results.push({ cell, out, outcome: result.resumedRows > 0 ? 'resumed' : 'ran', rows: result.rows.length, summary: result.summary });
        log(`${tagOf(cell)} done: ${result.rows.length} images, certified accuracy at r=0 ${fmt(result.summary.certifiedAccuracy[0]?.accuracy)} | ${gridLine()}`);
      }
    }
  } catch (error) {
    // A grid that failed before writing anything leaves no empty folder behind.
    if (!dirExisted && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    throw error;
  }
  // Report cells in grid order whatever order the sessions finished them in.
  results.sort((a, b) => cells.indexOf(a.cell) - cells.indexOf(b.cell));
  return { dir, cells: results };
}

const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(3));
