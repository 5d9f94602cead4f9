import type { either as E, taskEither as TE } from 'fp-ts';
import type { z } from 'zod';
import type { RunError } from '../errors.js';
import type { ImageResult, ImageTask } from '../image.js';
import type { SchedulerContext } from '../schedule.js';
import type { RunSpec } from '../spec.js';

/**
 * A certify mode (how CERTIFY spends its estimation draws) with its settings bound: everything the runner does
 * differently for it. The runner picks one per run (`modeOf`) and never switches on the mode elsewhere.
 */
export interface Mode {
  readonly kind: string;
  /** The mode's own settings, checked before anything is opened: the first problem, or null. */
  validate(spec: RunSpec): RunError | null;
  /** What the mode adds to a run's identity (keys declared in the mode table's identity fields). */
  identity(): Record<string, unknown>;
  /** What the mode adds to the sidecar of the run that writes `costFile`'s TSV. */
  sidecar(spec: RunSpec, costFile: string): Record<string, unknown>;
  /** Whether a complete run's sidecar records the mean cost per image (its draws vary per image). */
  readonly costInSidecar: boolean;
  /** Whether an image's draws may be counted in separate parts whose counts add up (split queue jobs). */
  readonly countsAdd: boolean;
  /** Certifies one image for the wanted methods, on shared draws. */
  certifyImage(task: ImageTask): TE.TaskEither<RunError, ImageResult>;
  /** Certifies the pending images in this process and emits their rows in order. */
  certifyLocally(context: SchedulerContext): Promise<E.Either<RunError, void>>;
}

/** A mode's entry in the table: the identity fields it may add (zod shape) and its settings -> Mode. */
export interface ModeEntry<M> {
  readonly identityFields: z.ZodRawShape;
  bind(mode: M): Mode;
}
