// Runs an experiment grid: each cell (method x sigma x backend) writes its own Cohen TSV + JSON sidecar under
// <results>/<experiment name>/ through @densepure/runner runCertify. Complete cells are skipped, partial ones
// resume (the runner's job), so an interrupted grid is finished by running the same command again.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { either as E, taskEither as TE } from 'fp-ts';
import { registerInstalledBackends, shippedCatalog } from '@densepure/app-kit';
import { registeredBackends } from '@densepure/backend';
import {
  type CostSummary,
  type ImageScheduler,
  type ModelCache,
  type RunError,
  type RunSpec,
  type RunSummary,
  createModelCache,
  formatDuration,
  inspectPriorRun,
  makeParents,
  readCosts,
  runCertify,
  sliceIndices,
  specIdentity,
  summarize,
  summarizeCosts,
} from '@densepure/runner';
import type { EvalError } from './errors.js';
import { type Cell, type Experiment, expandGrid } from './experiment.js';
import { VERSION } from './version.js';

export interface RunGridOptions<L = never> {
  /** Folder that holds one sub-folder per experiment; default 'results'. */
  readonly resultsRoot?: string;
  /** Progress and summary lines (default: stderr). */
  readonly log?: (line: string) => void;
  /** The command line, recorded in each sidecar. */
  readonly argv?: readonly string[];
  /** Run only the cells whose id contains this text (e.g. 'sigma0.25'), to split a grid across processes. */
  readonly cells?: string;
  /** Where each cell's images are certified (default: in this process; @densepure/queue: on queue workers). */
  readonly scheduler?: ImageScheduler<L>;
}

export type CellOutcome = 'skipped' | 'ran' | 'resumed';

export interface CellResult {
  readonly cell: Cell;
  readonly out: string;
  readonly outcome: CellOutcome;
  readonly rows: number;
  readonly summary: RunSummary;
  /** Mean draws and model evaluations per image (from the cell's cost file). */
  readonly cost: CostSummary;
}

export interface GridResult {
  readonly dir: string;
  readonly cells: CellResult[];
}

export const cellPath = (dir: string, cell: Cell): string => join(dir, `${cell.id}.tsv`);

/**
 * The run spec of cells that share a sigma and backend (one cell, or several with shareDraws): the experiment's
 * models, slice and draws, each cell's method writing to its own TSV.
 */
export function cellSpec(x: Experiment, cells: readonly { readonly cell: Cell; readonly out: string }[], argv?: readonly string[]): RunSpec {
  const { sigma, backend } = cells[0]!.cell;
  return {
    models: {
      denoiser: x.models.denoiser,
      classifier: x.models.classifier,
      workers: x.workers,
      ...(backend === 'auto' ? {} : { backend }),
      ...(x.models.device === undefined ? {} : { device: x.models.device }),
      ...(x.threads === undefined ? {} : { threads: x.threads }),
    },
    dataset: { spec: x.dataset.spec, skip: x.dataset.skip, ...(x.dataset.max === undefined ? {} : { max: x.dataset.max }) },
    runs: cells.map(({ cell, out }) => ({ method: cell.method, out })),
    sigma,
    n0: x.certify.N0,
    n: x.certify.N,
    alpha: x.certify.alpha,
    seed: x.seed,
    batch: x.batch,
    ...(x.variance === undefined ? {} : { variance: x.variance }),
    ...(cells[0]!.cell.mode === undefined || cells[0]!.cell.mode.kind === 'fixed' ? {} : { mode: cells[0]!.cell.mode }),
    provenance: { tool: 'densepure-eval', version: VERSION, command: argv ?? ['densepure-eval', 'run', x.name] },
  };
}

interface CellState {
  readonly cell: Cell;
  readonly out: string;
  readonly complete: boolean;
  readonly rowsDone: number;
  readonly summary: RunSummary;
}

/** Every backend the grid names is registered (or 'auto'); an unknown one is named with the allowed ones. */
async function checkBackends(x: Experiment): Promise<E.Either<EvalError, void>> {
  const notes = await registerInstalledBackends();
  const known = registeredBackends().map((b) => b.name);
  const bad = x.backends.map((b, i) => ({ b, i })).filter(({ b }) => b !== 'auto' && !known.includes(b));
  if (bad.length === 0) return E.right(undefined);
  const why = (b: string): string => notes.filter((n) => n.name === b).map((n) => ` (${n.note})`).join('');
  const problems = bad.map(({ b, i }) => `backends[${i}]: unknown backend '${b}'${why(b)}; allowed: auto, ${known.join(', ')}`);
  return E.left({ kind: 'unknown-grid-backends', problems, message: problems.join('\n') });
}

/** Images per cell: the experiment's slice of its dataset. */
async function imagesPerCell(x: Experiment): Promise<E.Either<EvalError, number>> {
  const dataset = await shippedCatalog.dataset(x.dataset.spec)();
  if (E.isLeft(dataset)) return E.left({ kind: 'dataset', error: dataset.left, message: `dataset.spec: ${dataset.left.message}` });
  const indices = sliceIndices(dataset.right, x.dataset);
  if (E.isLeft(indices)) return indices;
  if (indices.right.length === 0) return E.left({ kind: 'empty-slice', message: `dataset: skip ${x.dataset.skip} and max ${x.dataset.max ?? '-'} select no image` });
  return E.right(indices.right.length);
}

/** Runs every cell of the grid in order; see the file comment. Everything checkable before a model runs is checked first. */
export function runGrid<L = never>(x: Experiment, options: RunGridOptions<L>): TE.TaskEither<EvalError | L, GridResult> {
  return async () => {
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
    const dir = join(options.resultsRoot ?? 'results', x.name);
    const all = expandGrid(x);
    const cells = all.filter((c) => options.cells === undefined || c.id.includes(options.cells));
    if (cells.length === 0) {
      const filter = options.cells ?? '';
      return E.left({ kind: 'no-matching-cells', filter, experiment: x.name, example: all[0]?.id ?? '', message: `no cell id of ${x.name} contains '${filter}'` });
    }
    const backends = await checkBackends(x);
    if (E.isLeft(backends)) return backends;
    const perCell = await imagesPerCell(x);
    if (E.isLeft(perCell)) return perCell;

    // The identity each cell's files must have, as far as the experiment decides it (the runner checks the model hashes).
    const states: CellState[] = [];
    const problems: RunError[] = [];
    for (const cell of cells) {
      const out = cellPath(dir, cell);
      const prior = inspectPriorRun(out, specIdentity(cellSpec(x, [{ cell, out }]), cell.method), true);
      if (E.isLeft(prior)) problems.push(prior.left);
      else {
        const rows = prior.right.kind === 'none' ? [] : prior.right.rows;
        states.push({ cell, out, complete: prior.right.kind === 'complete', rowsDone: rows.length, summary: summarize(rows) });
      }
    }
    if (problems.length > 0) return E.left({ kind: 'grid-changed', dir, problems, message: `cannot continue the grid in ${dir}: ${problems.map((p) => p.message).join('; ')}` });

    const dirExisted = existsSync(dir);
    try {
      makeParents(dir);
    } catch (cause) {
      return E.left({ kind: 'io', path: dir, message: `cannot create results folder ${dir}: ${cause instanceof Error ? cause.message : String(cause)}` });
    }
    // Every cell's run opens its models from one cache: each model is opened once for the whole grid.
    const cache = createModelCache();
    const result = await runCells(x, options, dir, cells, states, perCell.right, log, cache).finally(() => cache.dispose());
    // A grid that failed before writing anything leaves no empty folder behind.
    if (E.isLeft(result) && !dirExisted && existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
    return result;
  };
}

async function runCells<L>(
  x: Experiment,
  options: RunGridOptions<L>,
  dir: string,
  cells: readonly Cell[],
  states: readonly CellState[],
  perCell: number,
  log: (line: string) => void,
  cache: ModelCache,
): Promise<E.Either<EvalError | L, GridResult>> {
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
  const draws = x.certify.sequential === undefined ? `N ${x.certify.N}` : `sequential, at most N ${x.certify.N}`;
  const cascade = x.certify.cascade === undefined ? '' : `, cascade cells over sigmas ${x.certify.cascade.sigmas.join(', ')} at p0 ${x.certify.cascade.p0}`;
  log(`experiment ${x.name}: ${cells.length} cells x ${perCell} images, N0 ${x.certify.N0}, ${draws}, alpha ${x.certify.alpha}${cascade} -> ${dir}`);

  const results: CellResult[] = [];
  // Cells that run side by side: one session per sigma, backend and mode with shareDraws, else one per cell.
  const sessions: CellState[][] = [];
  for (const state of states) {
    const same = (a: Cell, b: Cell): boolean => a.sigma === b.sigma && a.backend === b.backend && JSON.stringify(a.mode) === JSON.stringify(b.mode);
    const mate = x.shareDraws ? sessions.find((s) => same(s[0]!.cell, state.cell)) : undefined;
    if (mate !== undefined) mate.push(state);
    else sessions.push([state]);
  }
  const tagOf = (cell: Cell): string => `[cell ${cells.indexOf(cell) + 1}/${cells.length} ${cell.id}]`;
  for (const session of sessions) {
    const pending: CellState[] = [];
    for (const state of session) {
      const { cell, out } = state;
      if (state.complete) {
        rowsDone += perCell;
        cellsDone += 1;
        log(`${tagOf(cell)} complete, skipped | ${gridLine()}`);
        results.push({ cell, out, outcome: 'skipped', rows: state.rowsDone, summary: state.summary, cost: summarizeCosts(readCosts(out)) });
      } else {
        rowsDone += state.rowsDone;
        log(`${tagOf(cell)} ${state.rowsDone > 0 ? `resuming after ${state.rowsDone}/${perCell} images` : `starting, ${perCell} images`}${session.length > 1 ? ` (sharing draws with ${session.filter((s) => s !== state).map((s) => s.cell.id).join(', ')})` : ''}`);
        pending.push(state);
      }
    }
    if (pending.length === 0) continue;
    const outcomes = await runCertify(cellSpec(x, pending, options.argv), {
      hooks: {
        onRow: (member, row, done, total) => {
          rowsDone += 1;
          rowsThisSession += 1;
          const what = row.predict === -1 ? 'abstain' : `predict ${row.predict} radius ${row.radius.toFixed(3)} ${row.correct === 1 ? 'correct' : 'wrong'}`;
          log(`${tagOf(pending[member]!.cell)} image ${done}/${total} idx ${row.idx} label ${row.label}: ${what} (${row.seconds.toFixed(1)} s) | ${gridLine()}`);
        },
      },
      cache,
      catalog: shippedCatalog,
      ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    })();
    if (E.isLeft(outcomes)) return outcomes;
    for (const [i, result] of outcomes.right.entries()) {
      const { cell, out } = pending[i]!;
      cellsDone += 1;
      results.push({ cell, out, outcome: result.resumedRows > 0 ? 'resumed' : 'ran', rows: result.rows.length, summary: result.summary, cost: result.cost });
      log(`${tagOf(cell)} done: ${result.rows.length} images, certified accuracy at r=0 ${fmt(result.summary.certifiedAccuracy[0]?.accuracy)} | ${gridLine()}`);
    }
  }
  // Report cells in grid order whatever order the sessions finished them in.
  results.sort((a, b) => cells.indexOf(a.cell) - cells.indexOf(b.cell));
  return E.right({ dir, cells: results });
}

const fmt = (v: number | undefined): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(3));
