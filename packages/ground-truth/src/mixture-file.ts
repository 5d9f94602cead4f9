import { either as E, taskEither as TE } from 'fp-ts';
import { z } from 'zod';
import { readLocalText, sha256Hex } from '@densepure/backend';
import { type GaussianMixture, type GroundTruthError, type MixtureComponent, makeMixture, mixtureRank } from './mixture.js';

/*
 * A mixture too large to write as JSON numbers (a 784-d mixture with low-rank covariances holds ~10^5-10^6
 * values): a JSON header with every component's scalars, and its vectors as one base64 block of little-endian
 * float32, per component in order: mean (d), directions (rank x d, row-major), directionVariances (rank).
 * The float32 values are the mixture (read back as float64): what the ONNX graphs, written in float32, hold too.
 */
export const MIXTURE_FILE_FORMAT = 'densepure-gaussian-mixture';

const headerSchema = z.strictObject({
  format: z.literal(MIXTURE_FILE_FORMAT),
  version: z.literal(1),
  shape: z.tuple([z.number().int().min(1), z.number().int().min(1), z.number().int().min(1)]),
  classNames: z.array(z.string()).min(2),
  components: z
    .array(z.strictObject({ weight: z.number(), std: z.number(), label: z.number().int(), rank: z.number().int().min(0) }))
    .min(1)
    .max(100_000),
  data: z.string(),
  /** How the mixture was made (free-form). */
  fit: z.record(z.string(), z.unknown()).optional(),
});

/** Largest mixture file read: 64 MiB of text. */
export const MAX_MIXTURE_FILE_BYTES = 64 * 1024 * 1024;

const invalid = (message: string): GroundTruthError => ({ kind: 'invalid-mixture', message });

/** Parses a mixture file's text; `source` names it in errors. */
export function parseMixtureFile(text: string, source: string): E.Either<GroundTruthError, GaussianMixture> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return E.left(invalid(`${source}: not JSON (${(e as Error).message})`));
  }
  const header = headerSchema.safeParse(json);
  if (!header.success) {
    const issue = header.error.issues[0]!;
    return E.left(invalid(`${source}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (a ${MIXTURE_FILE_FORMAT} version 1 file is expected)`));
  }
  const h = header.data;
  const d = h.shape[0] * h.shape[1] * h.shape[2];
  const expected = h.components.reduce((n, c) => n + d + c.rank * d + c.rank, 0);
  const bytes = Buffer.from(h.data, 'base64');
  if (bytes.length !== expected * 4) return E.left(invalid(`${source}: data holds ${bytes.length} bytes but the components need ${expected} float32 values (${expected * 4} bytes)`));
  const values = new Float32Array(expected);
  for (let i = 0; i < expected; i++) values[i] = bytes.readFloatLE(i * 4);
  let at = 0;
  const take = (n: number): number[] => Array.from(values.subarray(at, (at += n)));
  const components: MixtureComponent[] = h.components.map((c) => {
    const mean = take(d);
    if (c.rank === 0) return { weight: c.weight, std: c.std, label: c.label, mean };
    return { weight: c.weight, std: c.std, label: c.label, mean, directions: take(c.rank * d), directionVariances: take(c.rank) };
  });
  return E.mapLeft((e: GroundTruthError) => invalid(`${source}: ${e.message}`))(makeMixture({ shape: h.shape, classNames: h.classNames, components }));
}

/** Reads a mixture file (bounded, through the backend's local-file reader). */
export const readMixtureFile = (path: string): TE.TaskEither<GroundTruthError, GaussianMixture> =>
  TE.chainEitherK((text: string) => parseMixtureFile(text, path))(
    TE.mapLeft((e: { message: string }) => invalid(e.message))(() => readLocalText(path, { what: 'mixture file', maxBytes: MAX_MIXTURE_FILE_BYTES })),
  );

/** The mixture as a mixture file's text (its vectors rounded to float32). */
export function encodeMixtureFile(m: GaussianMixture, fit?: Record<string, unknown>): string {
  const d = m.dim;
  const total = m.components.reduce((n, c) => n + d + (c.directionVariances?.length ?? 0) * (d + 1), 0);
  const buf = Buffer.alloc(total * 4);
  let at = 0;
  const put = (xs: readonly number[]): void => {
    for (const x of xs) at = buf.writeFloatLE(x, at);
  };
  for (const c of m.components) {
    put(c.mean);
    put(c.directions ?? []);
    put(c.directionVariances ?? []);
  }
  return `${JSON.stringify({
    format: MIXTURE_FILE_FORMAT,
    version: 1,
    shape: m.shape,
    classNames: m.classNames,
    components: m.components.map((c) => ({ weight: c.weight, std: c.std, label: c.label, rank: c.directionVariances?.length ?? 0 })),
    data: buf.toString('base64'),
    ...(fit === undefined ? {} : { fit }),
  })}\n`;
}

/** What a model manifest records of a mixture kept in its own file: the file, its hash and its sizes. */
export const mixtureFileRecord = (m: GaussianMixture, file: string, text: string): Record<string, unknown> => ({
  kind: 'gaussian-mixture',
  note: 'exact model: p(x0) = sum_k weight_k N(mean_k, std_k^2 I + low-rank) in model units [-1, 1], parameters in the mixture file',
  shape: m.shape,
  classNames: m.classNames,
  mixtureFile: file,
  mixtureSha256: sha256Hex(new TextEncoder().encode(text)),
  components: m.components.length,
  rank: mixtureRank(m),
});
