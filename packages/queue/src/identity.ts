import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal identities hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** sha256 of the canonical JSON of a run identity (hex). */
export const identitySha = (identity: Readonly<Record<string, unknown>>): string => createHash('sha256').update(canonicalJson(identity)).digest('hex');

/** A short, Redis-key-safe run id: the first 16 hex digits of the identity's sha256. */
export const runIdOf = (identity: Readonly<Record<string, unknown>>): string => identitySha(identity).slice(0, 16);

export interface IdentityDifference {
  readonly field: string;
  readonly run: unknown;
  readonly worker: unknown;
}

/** The fields on which a worker's own identity differs from the run's (an empty list: the worker may serve). */
export function identityDifferences(run: Readonly<Record<string, unknown>>, worker: Readonly<Record<string, unknown>>): IdentityDifference[] {
  return [...new Set([...Object.keys(run), ...Object.keys(worker)])]
    .sort()
    .filter((k) => canonicalJson(run[k] ?? null) !== canonicalJson(worker[k] ?? null))
    .map((field) => ({ field, run: run[field] ?? null, worker: worker[field] ?? null }));
}

/** "classifierSha256: the run has "ab12…", this worker has "cd34…"; …" */
export const describeDifferences = (diffs: readonly IdentityDifference[]): string =>
  diffs.map((d) => `${d.field}: the run has ${JSON.stringify(d.run)}, this worker has ${JSON.stringify(d.worker)}`).join('; ');
