import { either as E } from 'fp-ts';
import {
  type BackendError,
  type Classifier,
  type Denoiser,
  formatBackendError,
  loadClassifier,
  loadDenoiser,
  registeredBackends,
  resolveModel,
  smokeRun,
} from '@densepure/backend';
import { type Outcome, registerInstalledBackends, runtimeFailure, shippedCatalog } from '@densepure/app-kit';
import { openDatasetSpec } from '@densepure/runner';
import { VERSION } from './version.js';

export interface InfoOptions {
  readonly denoiser: string;
  readonly classifier: string;
  readonly dataset: string;
  readonly backend?: string;
  readonly json: boolean;
}

type Described = { readonly error: string } | (Record<string, unknown> & { readonly smokeRun: string });

/** Loads a model (manifest, sha256, graph checks), runs it once on an input inside its range, and disposes it. */
async function describeModel(load: () => Promise<E.Either<BackendError, Denoiser | Classifier>>): Promise<Described> {
  const r = await load();
  if (E.isLeft(r)) return { error: formatBackendError(r.left) };
  try {
    const smoke = await smokeRun(r.right)();
    if (E.isLeft(smoke)) return { error: formatBackendError(smoke.left) };
    return { ...r.right.metadata, smokeRun: `ok (batch ${smoke.right.batch}, ${smoke.right.outputValues} finite output values)` };
  } finally {
    await r.right.dispose();
  }
}

/** A model named on the command line: its manifest says whether it is a denoiser or a classifier. */
async function describeAny(spec: string, opts: { backend?: string }): Promise<Described> {
  const path = spec.replace(/^[a-z][a-z0-9-]+:/, '');
  const resolved = await resolveModel(path)();
  if (E.isLeft(resolved)) return { error: formatBackendError(resolved.left) };
  return resolved.right.manifest.kind === 'denoiser'
    ? describeModel(() => loadDenoiser(spec, opts)())
    : describeModel(() => loadClassifier(spec, opts)());
}

const failed = (d: unknown): boolean => typeof d === 'object' && d !== null && 'error' in d;

/**
 * Backends (with what each would run on and why others are missing), then model and dataset metadata. With
 * `models`, checks each named model (manifest, sha256, graph, one run) instead of the configured pair. A failure
 * (exit 1) after printing when anything did not load.
 */
export async function runInfo(o: InfoOptions, models: readonly string[] = []): Promise<Outcome> {
  const missing = await registerInstalledBackends();
  const backends = await Promise.all(
    registeredBackends().map(async (b) => ({ name: b.name, priority: b.priority, formats: b.formats, ...(await b.probe()) })),
  );
  const opts = o.backend === undefined ? {} : { backend: o.backend };
  const sections: [string, unknown][] = [];
  if (models.length > 0) {
    for (const m of models) sections.push([m, await describeAny(m, opts)]);
  } else {
    sections.push(['denoiser', o.denoiser === 'none' ? null : await describeModel(() => loadDenoiser(shippedCatalog.model('denoiser', o.denoiser), opts)())]);
    sections.push(['classifier', await describeModel(() => loadClassifier(shippedCatalog.model('classifier', o.classifier), opts)())]);
    const ds = await openDatasetSpec(o.dataset, shippedCatalog)();
    sections.push([
      'dataset',
      E.isLeft(ds)
        ? { error: ds.left.message }
        : { name: ds.right.name, source: ds.right.source, size: ds.right.size, shape: ds.right.shape, numClasses: ds.right.numClasses, sha256: ds.right.sha256 },
    ]);
  }
  const bad = sections.filter(([, d]) => failed(d)).map(([name]) => name);
  if (o.json) {
    const report =
      models.length > 0
        ? { version: VERSION, node: process.version, backends, unavailableBackends: missing, models: Object.fromEntries(sections) }
        : { version: VERSION, node: process.version, backends, unavailableBackends: missing, ...Object.fromEntries(sections) };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [`densepure ${VERSION} on node ${process.version}`, '', 'backends (highest priority first):'];
    for (const b of backends) {
      lines.push(`  ${b.name} (priority ${b.priority}, formats ${b.formats.join(', ')}): ${b.runtime}; devices: ${b.devices.join(', ')}`);
      for (const n of b.notes) lines.push(`    - ${n}`);
    }
    for (const m of missing) lines.push(`  ${m.name}: unavailable (${m.note})`);
    lines.push('');
    for (const [name, d] of sections) lines.push(`${name}:`, indentJson(d));
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return bad.length > 0 ? E.left(runtimeFailure(`${bad.join(', ')} did not load or run (reason above)`)) : E.right(undefined);
}

const indentJson = (v: unknown): string => JSON.stringify(v, null, 2).replace(/^/gm, '  ');
