// What each certified image cost: draws (selection, estimation) and model evaluations, one JSON line per row in
// `<out>.cost` (JSON lines) beside the Cohen TSV (whose columns stay exactly Cohen's). Written before the row, fsync'd,
// and cut back to the TSV's rows when a run resumes, so the two files always describe the same images.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { z } from 'zod';
import { type RunError, ioError } from './errors.js';
import { writeFileAtomic } from './files.js';

/** The cost of one row. With several methods on shared draws, `evaluations` are those of the shared evaluation. */
export interface RowCost {
  readonly idx: number;
  readonly draws: { readonly selection: number; readonly estimation: number };
  /** Images through the denoiser and through the classifier for this image (as made: the decided-vote stop counts). */
  readonly evaluations: { readonly denoiser: number; readonly classifier: number };
  /** Sequential mode: rounds of estimation draws, why estimation stopped, and the (1 - alpha) lower bound on pA. */
  readonly rounds?: number;
  readonly stop?: string;
  readonly pA?: number;
  /**
   * Sequential mode: the label's estimation count at each look. The looks' draw counts follow from the round rule
   * (core's `nextRoundSize`), so any other stop rule on the same draws (another futility level, a smaller cap) can be
   * replayed from it exactly as far as this row drew.
   */
  readonly looks?: readonly number[];
  /** Sequential mode with a futility budget: what the budget spent on this row. */
  readonly futility?: FutilityCost;
  /** Cascade mode: which sigma answered, and what each stage run decided. */
  readonly cascade?: CascadeCost;
}

/**
 * A sequential row's futility budget: the level its give-up stops were decided at, the upper bound at the stop,
 * and `spent`: the level when the row gave up on its next radius (the most probability with which that stop cost
 * it a radius its true pA reaches), else 0. Summed over rows: the expected number of table entries the budget
 * may have cost, at most.
 */
export interface FutilityCost {
  readonly level: number;
  readonly upper: number;
  readonly spent: number;
}

/**
 * A cascade row's detail (the Cohen TSV has no column for it): the stage whose decision ended the cascade (0 for
 * the first, largest sigma) and its sigma, which answered when the row is certified; `outcome` is 'certified'
 * or why the cascade abstained; one entry per stage run, in order.
 */
export interface CascadeCost {
  readonly stage: number;
  readonly sigma: number;
  readonly outcome: 'certified' | 'undecided' | 'all-skipped' | 'off-class-bound';
  readonly stages: readonly CascadeStageCost[];
}

/** One stage of a cascade row: its top class, the bounds on it, its decision and estimation draws (sequential: rounds and stop). */
export interface CascadeStageCost {
  readonly sigma: number;
  readonly label: number;
  readonly lower: number;
  readonly upper: number;
  readonly decision: 'answer' | 'skip' | 'abstain';
  readonly estimation: number;
  readonly rounds?: number;
  readonly stop?: string;
}

const rowCostSchema = z.looseObject({
  idx: z.number(),
  draws: z.object({ selection: z.number(), estimation: z.number() }),
  evaluations: z.object({ denoiser: z.number(), classifier: z.number() }),
});

export const costPath = (tsvPath: string): string => `${tsvPath}.cost`;

/** A cost record that came from elsewhere (a cost file's line, a queue worker's answer); null when it is not one. */
export function parseRowCost(value: unknown): RowCost | null {
  const parsed = rowCostSchema.safeParse(value);
  return parsed.success ? (parsed.data as RowCost) : null;
}

/** Mean cost per image over the rows that have one. */
export interface CostSummary {
  readonly images: number;
  readonly meanDraws: { readonly selection: number; readonly estimation: number };
  readonly meanEvaluations: { readonly denoiser: number; readonly classifier: number };
}

export function summarizeCosts(costs: readonly RowCost[]): CostSummary {
  const n = costs.length;
  const mean = (f: (c: RowCost) => number): number => (n === 0 ? Number.NaN : costs.reduce((s, c) => s + f(c), 0) / n);
  return {
    images: n,
    meanDraws: { selection: mean((c) => c.draws.selection), estimation: mean((c) => c.draws.estimation) },
    meanEvaluations: { denoiser: mean((c) => c.evaluations.denoiser), classifier: mean((c) => c.evaluations.classifier) },
  };
}

/** Reads a cost file's complete, well-formed lines (a torn or malformed line and what follows are dropped). */
export function parseCosts(text: string): RowCost[] {
  const out: RowCost[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length - 1; i++) {
    if (lines[i]!.trim() === '') continue;
    try {
      const cost = parseRowCost(JSON.parse(lines[i]!));
      if (cost === null) break;
      out.push(cost);
    } catch {
      break;
    }
  }
  return out;
}

/** Reads `<tsv>.cost` if there is one (for reports); [] otherwise. */
export function readCosts(tsvPath: string): RowCost[] {
  const path = costPath(tsvPath);
  if (!existsSync(path)) return [];
  try {
    return parseCosts(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** The append-only cost file of a run. */
export class CostLog {
  private constructor(
    private readonly fd: number,
    readonly existing: RowCost[],
  ) {}

  /** Opens (creating) the cost file, keeping only lines of the rows the TSV already has (`keep`, by idx). */
  static open(tsvPath: string, keep: ReadonlySet<number>): E.Either<RunError, CostLog> {
    const path = costPath(tsvPath);
    try {
      const prior = existsSync(path) ? parseCosts(readFileSync(path, 'utf8')) : [];
      const seen = new Set<number>();
      const kept = prior.filter((c) => keep.has(c.idx) && !seen.has(c.idx) && seen.add(c.idx) !== undefined);
      const rewritten = writeFileAtomic(path, kept.map((c) => `${JSON.stringify(c)}\n`).join(''));
      if (E.isLeft(rewritten)) return rewritten;
      return E.right(new CostLog(openSync(path, 'a'), kept));
    } catch (cause) {
      return E.left(ioError(path, 'cannot open', cause));
    }
  }

  append(cost: RowCost): void {
    writeSync(this.fd, `${JSON.stringify(cost)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    closeSync(this.fd);
  }
}
