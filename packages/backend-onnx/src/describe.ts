// Reads an ONNX graph's inputs and outputs and runs it once on a random input, so that @densepure/backend's
// manifest builder can check what a user declares about a model they bring (`densepure manifest`). The session
// is opened by session.ts, like every other.
import { either as E, taskEither as TE, function as F } from 'fp-ts';
import ort from 'onnxruntime-node';
import {
  type BackendError,
  type ManifestRequest,
  type ModelGraph,
  type ModelManifest,
  type ProbePlan,
  type ProbeResult,
  buildManifest,
  describeThrown,
  fileNotFound,
  firstNonFinite,
  planProbe,
  readLocalFile,
  runtimeFailure,
  sha256Hex,
} from '@densepure/backend';
import { type OpenedSession, openSession } from './session.js';

const PROBE_BATCH = 2;

/** A protobuf message, hence one ONNX file, holds at most 2 GiB. */
const ONNX_MAX_BYTES = 2 ** 31;

/**
 * The model's bytes, read as every command reads a file (@densepure/backend's readLocalFile: regular files only,
 * a FIFO refused at once, a device never read) and at most the 2 GiB an ONNX file can hold.
 */
const openBytes = (path: string): TE.TaskEither<BackendError, Uint8Array> => async () => {
  const read = await readLocalFile(path, { what: 'model file', maxBytes: ONNX_MAX_BYTES, limitReason: 'one ONNX file holds at most 2 GiB' });
  if (E.isRight(read)) return read;
  return E.left(read.left.kind === 'file-missing' ? fileNotFound(path) : { kind: 'corrupt-model', path, message: read.left.message });
};

// One CPU thread: the probe is two tiny runs, and must not compete with a run in progress.
const createSession = (path: string, bytes: Uint8Array): TE.TaskEither<BackendError, ort.InferenceSession> =>
  TE.map((opened: OpenedSession) => opened.session)(() => openSession(bytes, path, { device: 'cpu', threads: 1 }));

/** The graph's declared inputs and outputs (symbolic dimensions as strings). */
export function graphOf(session: ort.InferenceSession): ModelGraph {
  const values = (list: readonly ort.InferenceSession.ValueMetadata[]) =>
    list.map((v) => (v.isTensor ? { name: v.name, dtype: v.type as string, shape: [...v.shape] } : { name: v.name, dtype: 'non-tensor', shape: null }));
  return { inputs: values(session.inputMetadata), outputs: values(session.outputMetadata) };
}

/** A small deterministic generator: the probe's input does not depend on Math.random. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function feedsFor(plan: ProbePlan, x: Float32Array, t: readonly number[], batch: number): Record<string, ort.Tensor> {
  const { name, channels, imageSize } = plan.image;
  const feeds: Record<string, ort.Tensor> = { [name]: new ort.Tensor('float32', x, [batch, channels, imageSize, imageSize]) };
  if (plan.timestep !== null) feeds[plan.timestep.name] = new ort.Tensor('int64', BigInt64Array.from(t.slice(0, batch).map((v) => BigInt(v))), [batch]);
  return feeds;
}

/** Runs the model on PROBE_BATCH random images (and timesteps), and its first image alone, and reports the outputs. */
export async function probeSession(session: ort.InferenceSession, plan: ProbePlan, path: string): Promise<E.Either<BackendError, ProbeResult>> {
  const { channels, imageSize } = plan.image;
  const per = channels * imageSize * imageSize;
  const rand = lcg(20260601);
  const [lo, hi] = plan.valueRange;
  const x = Float32Array.from({ length: PROBE_BATCH * per }, () => lo + (hi - lo) * rand());
  // Mid-range timesteps: where DensePure's t* lives.
  const t = Array.from({ length: PROBE_BATCH }, () => Math.floor((plan.T ?? 1) * (0.1 + 0.5 * rand())));
  try {
    const out = await session.run(feedsFor(plan, x, t, PROBE_BATCH));
    const outputs = session.outputNames.map((n) => ({ name: n, dtype: out[n]!.type as string, dims: out[n]!.dims.map(Number) }));
    const first = out[session.outputNames[0]!]!;
    const data = first.data instanceof Float32Array ? first.data : Float32Array.from(first.data as ArrayLike<number>);
    const single = await session.run(feedsFor(plan, x.slice(0, per), t, 1));
    const alone = single[session.outputNames[0]!]!.data as Float32Array;
    let batchMaxDiff = alone.length * PROBE_BATCH === data.length ? 0 : Infinity;
    for (let i = 0; i < alone.length && Number.isFinite(batchMaxDiff); i++) batchMaxDiff = Math.max(batchMaxDiff, Math.abs(alone[i]! - data[i]!));
    return E.right({ batch: PROBE_BATCH, outputs, firstNonFinite: firstNonFinite(data), batchMaxDiff });
  } catch (cause) {
    return E.left(runtimeFailure(`onnxruntime failed running ${path} on a random ${PROBE_BATCH}x${channels}x${imageSize}x${imageSize} input: ${describeThrown(cause).split('\n')[0]}`));
  }
}

/** What `describeOnnxModel` found: the graph, the probe run and the manifest built from them. */
export interface DescribedModel {
  readonly graph: ModelGraph;
  readonly probe: ProbeResult;
  readonly manifest: ModelManifest;
}

/**
 * Reads the ONNX graph at `path`, checks it against `request` (inputs, dynamic batch, image size), runs it once on a
 * random input, checks the declared contract (2C output channels for learned variance, logits width = classes,
 * finite outputs, no mixing across the batch) and builds the manifest (with the file's sha256 and size).
 */
export const describeOnnxModel = (path: string, request: ManifestRequest): TE.TaskEither<BackendError, DescribedModel> =>
  F.pipe(
    openBytes(path),
    TE.flatMap((bytes) =>
      F.pipe(
        createSession(path, bytes),
        TE.flatMap((session) => async () => {
          try {
            const graph = graphOf(session);
            const plan = planProbe(path, graph, request);
            if (E.isLeft(plan)) return plan;
            const probe = await probeSession(session, plan.right, path);
            if (E.isLeft(probe)) return probe;
            const manifest = buildManifest({ path, sha256: sha256Hex(bytes), sizeBytes: bytes.length }, graph, plan.right, probe.right, request);
            return E.map((m: ModelManifest) => ({ graph, probe: probe.right, manifest: m }))(manifest);
          } finally {
            await session.release();
          }
        }),
      ),
    ),
  );
