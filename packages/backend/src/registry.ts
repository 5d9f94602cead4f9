import { either as E, taskEither as TE, function as F } from 'fp-ts';
import { type BackendAttempt, type BackendError, modelContract } from './errors.js';
import type { ClassifierManifest, DenoiserManifest, ModelManifest } from './manifest.js';
import { type ResolvedModel, resolveModelFrom } from './resolve.js';
import type { ModelSource } from './source.js';
import type { Backend, Classifier, ClassifierMetadata, Denoiser, DenoiserMetadata, LoadOptions, ModelMetadata } from './types.js';

// Kept on globalThis so two copies of this package in one process still share one registry.
const REGISTRY_KEY = Symbol.for('@densepure/backend/registry');
type Registry = Map<string, Backend>;
const registry = (): Registry => {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= new Map());
};

/**
 * Adds a backend under its name; backend packages call this when imported. A second, different backend under a
 * name already taken is refused (the first stays), as onnxruntime-common does; registering the very same
 * backend again is a no-op.
 */
export function registerBackend(backend: Backend): E.Either<BackendError, void> {
  const taken = registry().get(backend.name);
  if (taken !== undefined && taken !== backend) {
    return E.left({
      kind: 'backend-name-taken',
      backend: backend.name,
      message: `a different backend is already registered as '${backend.name}' (priority ${taken.priority}); two packages (or two copies of one package) claim that name: remove one, or unregister the first`,
    });
  }
  registry().set(backend.name, backend);
  return E.right(undefined);
}

export function unregisterBackend(name: string): boolean {
  return registry().delete(name);
}

/** Registered backends, highest priority first (ties by name, so the order is stable). */
export function registeredBackends(): Backend[] {
  return [...registry().values()].sort((a, b) => b.priority - a.priority || a.name.localeCompare(b.name));
}

export function getBackend(name: string): Backend | undefined {
  return registry().get(name);
}

/** A model reference: `path`, or `backend:path` to pin the backend. */
export interface ModelSpec {
  readonly backend?: string;
  readonly path: string;
}

const unknownBackend = (name: string): BackendError => {
  const known = registeredBackends().map((b) => b.name);
  return {
    kind: 'unknown-backend',
    backend: name,
    message: `no backend named '${name}' is registered (registered: ${known.length > 0 ? known.join(', ') : 'none'}); install and import its package, e.g. @densepure/backend-${name}`,
  };
};

/**
 * Parses `backend:path` or a plain path. A one-letter prefix is a Windows drive, not a backend.
 * `backendOption` (the caller's backend choice) applies when the spec names none; naming two different ones is an error.
 */
export function parseModelSpec(spec: string, backendOption?: string): E.Either<BackendError, ModelSpec> {
  const match = /^([a-z][a-z0-9-]+):(.*)$/.exec(spec);
  const fromSpec = match?.[1];
  const path = match?.[2] ?? spec;
  if (path.trim() === '') {
    return E.left({ kind: 'file-not-found', path: spec, message: `empty model path in '${spec}'` });
  }
  if (fromSpec !== undefined && backendOption !== undefined && fromSpec !== backendOption) {
    return E.left({
      kind: 'unknown-backend',
      backend: fromSpec,
      message: `model '${spec}' names backend '${fromSpec}' but the backend option says '${backendOption}': name one of them only`,
    });
  }
  const backend = fromSpec ?? backendOption;
  return E.right(backend === undefined ? { path } : { backend, path });
}

type Kind = 'denoiser' | 'classifier';
type Loaded<K extends Kind> = K extends 'denoiser' ? Denoiser : Classifier;

/** What to load: a path (`path` or `backend:path`; a path may be the model file or its manifest) or a source. */
export type ModelRef = string | ModelSource;

/** Load options plus the backend to use (tried alone) when the spec names none. */
export type ModelLoadOptions = LoadOptions & { readonly backend?: string };

/** How a path becomes a source where the loaders run: files in node (`fileSource`); a browser has none. */
export type PathOpener = (path: string) => ModelSource;

function loadWithFallback<K extends Kind>(kind: K, spec: ModelRef, options: ModelLoadOptions, openPath: PathOpener): TE.TaskEither<BackendError, Loaded<K>> {
  // Opened when the task runs, not when it is built (a relative path resolves against the working folder then).
  const target = () =>
    typeof spec === 'string'
      ? E.map((parsed: ModelSpec) => ({ backend: parsed.backend, source: openPath(parsed.path) }))(parseModelSpec(spec, options.backend))
      : E.right({ backend: options.backend, source: spec });
  return F.pipe(
    TE.fromIOEither(target),
    TE.flatMap(({ backend, source }) =>
      F.pipe(
        resolveModelFrom(source),
        TE.flatMap((model) =>
          model.manifest.kind === kind
            ? TE.right(model)
            : TE.left(modelContract(model.manifestPath, `this is a ${model.manifest.kind} manifest, but a ${kind} was asked for`)),
        ),
        TE.flatMap((model) => tryBackends(kind, backend, model, options)),
      ),
    ),
  );
}

function tryBackends<K extends Kind>(
  kind: K,
  backendName: string | undefined,
  model: ResolvedModel,
  options: LoadOptions,
): TE.TaskEither<BackendError, Loaded<K>> {
  let candidates: Backend[];
  if (backendName !== undefined) {
    const named = getBackend(backendName);
    if (named === undefined) return TE.left(unknownBackend(backendName));
    candidates = [named];
  } else {
    candidates = registeredBackends().filter((b) => b.formats.includes(model.manifest.format));
    if (candidates.length === 0) {
      return TE.left({
        kind: 'no-backend',
        attempts: [],
        message: `no registered backend reads ${model.manifest.format} models (registered: ${registeredBackends().map((b) => b.name).join(', ') || 'none'}); import @densepure/backend-onnx or @densepure/backend-tfjs`,
      });
    }
  }
  return async () => {
    const attempts: BackendAttempt[] = [];
    for (const backend of candidates) {
      const result: E.Either<BackendError, Denoiser | Classifier> =
        kind === 'denoiser'
          ? await backend.loadDenoiser(model as ResolvedModel<DenoiserManifest>, options)()
          : await backend.loadClassifier(model as ResolvedModel<ClassifierManifest>, options)();
      if (E.isRight(result)) return E.right(result.right as Loaded<K>);
      attempts.push({ backend: backend.name, error: result.left });
    }
    if (attempts.length === 1 && backendName !== undefined) return E.left((attempts[0] as BackendAttempt).error);
    return E.left({
      kind: 'no-backend',
      attempts,
      message: `no backend could load ${kind} ${model.modelPath}; each backend's reason:`,
    });
  };
}

/** Resolving and loading models, with paths opened the way the platform can (see {@link modelLoaders}). */
export interface ModelLoaders {
  /** Reads and checks a model's manifest and files (see `resolveModelFrom`); a path is the model file or its manifest. */
  resolveModel(spec: ModelRef): TE.TaskEither<BackendError, ResolvedModel>;
  /**
   * Loads a diffusion model from `spec`: a path (`path` or `backend:path`) or a source (the backend then comes
   * from `options.backend`). With no backend named, tries every registered backend that reads the format,
   * highest priority first, and on failure reports every backend's reason.
   */
  loadDenoiser(spec: ModelRef, options?: ModelLoadOptions): TE.TaskEither<BackendError, Denoiser>;
  /** Loads a classifier; same rules as `loadDenoiser`. */
  loadClassifier(spec: ModelRef, options?: ModelLoadOptions): TE.TaskEither<BackendError, Classifier>;
}

/**
 * The loaders, with model paths opened by `openPath`. The package's entry points bind it: files in node, and in
 * a browser an error that asks for a URL or bytes source.
 */
export const modelLoaders = (openPath: PathOpener): ModelLoaders => ({
  resolveModel: (spec) => () => resolveModelFrom(typeof spec === 'string' ? openPath(spec) : spec)(),
  loadDenoiser: (spec, options = {}) => loadWithFallback('denoiser', spec, options, openPath),
  loadClassifier: (spec, options = {}) => loadWithFallback('classifier', spec, options, openPath),
});

/** Metadata shared by all backends: built from the manifest, so every backend reports the same numbers. */
export function metadataFromManifest(
  model: ResolvedModel<ModelManifest>,
  backend: string,
  runtime: string,
): ModelMetadata {
  const m = model.manifest;
  return {
    name: m.name,
    backend,
    runtime,
    modelPath: model.modelPath,
    manifestPath: model.manifestPath,
    manifestSha256: model.manifestSha256,
    sha256: m.sha256,
    format: m.format,
    inputShape: [m.channels, m.imageSize, m.imageSize],
    channels: m.channels,
    imageSize: m.imageSize,
    valueRange: m.valueRange,
  };
}

export function denoiserMetadata(model: ResolvedModel<DenoiserManifest>, backend: string, runtime: string): DenoiserMetadata {
  return {
    ...metadataFromManifest(model, backend, runtime),
    kind: 'denoiser' as const,
    learnedVariance: model.manifest.diffusion.learnedVariance,
    diffusion: model.manifest.diffusion,
  };
}

export function classifierMetadata(model: ResolvedModel<ClassifierManifest>, backend: string, runtime: string): ClassifierMetadata {
  const m = model.manifest;
  return {
    ...metadataFromManifest(model, backend, runtime),
    kind: 'classifier' as const,
    numClasses: m.numClasses,
    classNames: m.classNames ?? Array.from({ length: m.numClasses }, (_, i) => String(i)),
    normalization: m.normalization ?? { mean: Array(m.channels).fill(0), std: Array(m.channels).fill(1), appliedInGraph: true },
    ...(m.resize === undefined ? {} : { resize: m.resize }),
    output: m.output ?? 'logits',
  };
}
