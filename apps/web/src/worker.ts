// The certify worker: the shipped models on onnxruntime-web, and densepure's own voting and sequential CERTIFY
// (the runner's `certifyImageSequential`, the very loop `densepure certify --max-radius` runs), so the page shows
// the CLI's numbers for the same seed. It posts what the page draws as it happens.
import { either as E } from 'fp-ts';
import { type Classifier, type Denoiser, formatBackendError, loadClassifier, loadDenoiser, urlSource } from '@densepure/backend';
import { configureOnnxWeb } from '@densepure/backend-onnx/web';
import { wrapClassifier } from '@densepure/classifiers';
import { gaussianFill, noiseAddress, normalQuantile } from '@densepure/core';
import { type EvaluationTally, makeMethodGroup } from '@densepure/voting';
import { type SequentialEvent, certifyImageSequential, describeMethod, drawsPerBatch, needsDenoiser, parseMethodSettings, radiiUpTo } from '@densepure/runner/portable';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { CertifyRequest, FromWorker, ToWorker } from './protocol.js';

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (message: FromWorker): void => scope.postMessage(message);

/** Purified images shown per round: the first of the latest classifier call. */
const SHOWN = 8;

let models: { denoiser: Denoiser; classifier: Classifier } | null = null;
/** The latest images the classifier saw (its input range mapped back to [0, 1]). */
let seen: Float32Array[] = [];

/** The classifier as loaded, keeping a copy of the first images of each call for the page (it changes nothing). */
function watched(classifier: Classifier): Classifier {
  const [lo, hi] = classifier.metadata.valueRange;
  const per = classifier.metadata.inputShape.reduce((a, b) => a * b, 1);
  return {
    ...classifier,
    metadata: classifier.metadata,
    run: (x, batch) => {
      seen = Array.from({ length: Math.min(SHOWN, batch) }, (_, i) => x.slice(i * per, (i + 1) * per).map((v) => (v - lo) / (hi - lo)));
      return classifier.run(x, batch);
    },
  };
}

async function load(zooUrl: string, device: 'wasm' | 'webgpu'): Promise<void> {
  configureOnnxWeb({ wasmPaths: { wasm: wasmUrl } });
  const options = { backend: 'onnx-web', device };
  const at = (file: string) => urlSource(new URL(file, zooUrl), { fetch: (url) => fetch(url) });
  const denoiser = await loadDenoiser(at('models/denoiser.json'), options)();
  if (E.isLeft(denoiser)) return post({ type: 'load-error', message: `diffusion model: ${formatBackendError(denoiser.left)}` });
  const classifier = await loadClassifier(at('models/classifier.json'), options)();
  if (E.isLeft(classifier)) {
    await denoiser.right.dispose();
    return post({ type: 'load-error', message: `classifier: ${formatBackendError(classifier.left)}` });
  }
  models = { denoiser: denoiser.right, classifier: classifier.right };
  const runtime = denoiser.right.metadata.runtime;
  const fallback = runtime.indexOf('; ');
  post({ type: 'loaded', runtime: fallback < 0 ? runtime : runtime.slice(0, fallback), note: fallback < 0 ? null : runtime.slice(fallback + 2) });
}

/** x + sigma * noise of one draw, the smoothing noise at the address the method itself uses. */
function noisyDraw(request: CertifyRequest, draw: number): Float32Array {
  const noise = new Float32Array(request.image.length);
  gaussianFill(noise, noiseAddress({ seed: request.seed, imageIndex: request.idx, drawIndex: draw, step: 'smoothing' }));
  return noise.map((n, p) => request.image[p]! + request.sigma * n);
}

async function certify(request: CertifyRequest): Promise<void> {
  if (models === null) return post({ type: 'run-error', message: 'the models are not loaded yet' });
  const whole = (name: string, value: number, least: number): string | null =>
    Number.isSafeInteger(value) && value >= least ? null : `${name} must be a whole number >= ${least}, got ${value}`;
  const bad = whole('seed', request.seed, 0) ?? whole('batch', request.batch, 1) ?? whole('N0', request.n0, 1) ?? whole('N', request.n, 1);
  if (bad !== null) return post({ type: 'settings-error', message: bad });
  const method = parseMethodSettings(request.method, request.settings);
  if (E.isLeft(method)) return post({ type: 'settings-error', message: method.left.message });
  const { sigma, n0, n, alpha } = request;
  const radii = radiiUpTo(request.maxRadius, { sigma, n0, n, alpha });
  if (E.isLeft(radii)) return post({ type: 'settings-error', message: radii.left.message });
  const classifier = wrapClassifier(watched(models.classifier), [1, 28, 28]);
  if (E.isLeft(classifier)) return post({ type: 'run-error', message: formatBackendError(classifier.left) });
  const group = makeMethodGroup(needsDenoiser(method.right) ? models.denoiser : null, classifier.right, {
    sigma,
    seed: request.seed,
    methods: [method.right],
    batchSize: request.batch,
    concurrency: 1,
  });
  if (E.isLeft(group)) return post({ type: 'settings-error', message: group.left.message });
  post({ type: 'started', radii: radii.right, description: describeMethod(method.right), tStar: group.right.members[0]!.tStar ?? null });
  const tally: EvaluationTally = { denoiser: 0, classifier: 0 };
  let label = 0;
  const watch = (event: SequentialEvent): void => {
    if (event.kind === 'selection') {
      label = event.labels[0]!;
      return post({ type: 'selection', counts: event.counts[0]!, label, samples: seen, noisy: noisyDraw(request, 0) });
    }
    const look = event.looks[0]!;
    post({
      type: 'round',
      n: event.n,
      rounds: event.rounds,
      counts: event.counts[0]!,
      lower: look.lower,
      radius: look.lower > 0.5 ? sigma * normalQuantile(look.lower) : null,
      stop: look.stop,
      samples: seen,
      noisy: noisyDraw(request, n0 + event.n - 1),
    });
  };
  const started = performance.now();
  const chunk = drawsPerBatch(request.batch, [method.right], 1);
  const outcome = await certifyImageSequential(group.right, { sigma, n0, n, alpha, radii: radii.right, chunk }, request.image, request.idx, [0], tally, watch);
  if (E.isLeft(outcome)) return post({ type: 'run-error', message: formatBackendError(outcome.left) });
  const o = outcome.right[0]!;
  post({ type: 'done', label: o.label, lower: o.lower, radius: o.radius, stop: o.stop, estimation: o.estimation, rounds: o.rounds, seconds: (performance.now() - started) / 1000, evaluations: { ...tally } });
}

scope.onmessage = (event) => {
  const message = event.data;
  const job = message.type === 'load' ? load(message.zooUrl, message.device) : certify(message);
  // A programmer error still ends in a message on the page, never a silent stop.
  job.catch((cause: unknown) => post({ type: message.type === 'load' ? 'load-error' : 'run-error', message: cause instanceof Error ? cause.message : String(cause) }));
};
