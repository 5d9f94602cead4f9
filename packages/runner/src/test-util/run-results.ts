// What the runner's run tests read back: a TSV's rows (all but time), its cost lines, a run's Right or Left.
import { readFileSync } from 'node:fs';
import { either as E } from 'fp-ts';
import { parseCosts } from '../accounting.js';
import type { RunError } from '../errors.js';
import { type RunResult, runCertify } from '../run.js';
import type { RunSpec } from '../spec.js';

export const rows = (path: string): string[][] => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t').slice(0, 5));

export const costs = (path: string) => parseCosts(readFileSync(`${path}.cost`, 'utf8'));

/** The run's results; a Left fails the test with its message. */
export const certified = async (spec: RunSpec): Promise<RunResult[]> => {
  const r = await runCertify(spec)();
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** The run's error; a run that succeeds fails the test. */
export const failure = async (spec: RunSpec): Promise<RunError> => {
  const r = await runCertify(spec)();
  if (E.isRight(r)) throw new Error('expected the run to fail');
  return r.left;
};
