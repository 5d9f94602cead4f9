import { either as E } from 'fp-ts';
import { formatBackendError, loadClassifier, loadDenoiser, registeredBackends } from '@densepure/backend';
import { openDatasetSpec, registerInstalledBackends, resolveModelSpec } from '@densepure/runner';
import { VERSION } from './version.js';

export interface InfoOptions {
  readonly denoiser: string;
  readonly classifier: string;
  readonly dataset: string;
  readonly backend?: string;
  readonly json: boolean;
}

/** Backends (with what each would run on and why others are missing), then model and dataset metadata. */
export async function runInfo(o: InfoOptions): Promise<void> {
  const missing = await registerInstalledBackends();
  const backends = await Promise.all(
    registeredBackends().map(async (b) => ({ name: b.name, priority: b.priority, formats: b.formats, ...(await b.probe()) })),
  );
  const opts = o.backend === undefined ? {} : { backend: o.backend };
  const describe = async <A>(load: () => Promise<E.Either<import('@densepure/backend').BackendError, A & { metadata: unknown; dispose(): Promise<void> }>>) => {
    const r = await load();
    if (E.isLeft(r)) return { error: formatBackendError(r.left) };
    const metadata = r.right.metadata;
    await r.right.dispose();
    return metadata;
  };
  const denoiser = o.denoiser === 'none' ? null : await describe(() => loadDenoiser(resolveModelSpec('denoiser', o.denoiser), opts)());
  const classifier = await describe(() => loadClassifier(resolveModelSpec('classifier', o.classifier), opts)());
  const ds = await openDatasetSpec(o.dataset)();
  const dataset = E.isLeft(ds)
    ? { error: ds.left.message }
    : { name: ds.right.name, source: ds.right.source, size: ds.right.size, shape: ds.right.shape, numClasses: ds.right.numClasses, sha256: ds.right.sha256 };
  const report = { version: VERSION, node: process.version, backends, unavailableBackends: missing, denoiser, classifier, dataset };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const lines = [`densepure ${VERSION} on node ${process.version}`, '', 'backends (highest priority first):'];
  for (const b of backends) {
    lines.push(`  ${b.name} (priority ${b.priority}, formats ${b.formats.join(', ')}): ${b.runtime}; devices: ${b.devices.join(', ')}`);
    for (const n of b.notes) lines.push(`    - ${n}`);
  }
  for (const m of missing) lines.push(`  ${m.name}: unavailable (${m.note})`);
  lines.push('', 'denoiser:', indentJson(denoiser), 'classifier:', indentJson(classifier), 'dataset:', indentJson(dataset));
  process.stdout.write(`${lines.join('\n')}\n`);
}

const indentJson = (v: unknown): string => JSON.stringify(v, null, 2).replace(/^/gm, '  ');
