import { either as E } from 'fp-ts';
import { parse } from 'yaml';
import { z } from 'zod';
import { checkMixture, theoryMixture } from '../examples.js';
import { type GaussianMixture, makeMixture } from '../mixture.js';
import type { ScheduleSpec } from '../onnx-models.js';

const componentSchema = z.object({ weight: z.number(), mean: z.array(z.number()), std: z.number(), label: z.number().int() }).strict();

const experimentSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lowercase letters, digits and dashes'),
    description: z.string().default(''),
    mixture: z.union([
      z.enum(['theory', 'check']),
      z.object({ shape: z.tuple([z.number().int(), z.number().int(), z.number().int()]), classNames: z.array(z.string()), components: z.array(componentSchema) }).strict(),
    ]),
    schedule: z.object({ schedule: z.enum(['linear', 'cosine']), T: z.number().int().min(20) }).strict(),
    sigmas: z.array(z.number().positive()).min(1),
    grid: z.number().int().min(2).max(201),
    samples: z.number().int().min(1),
    densepure: z.object({ K: z.number().int().min(1), steps: z.union([z.literal('full'), z.number().int().min(1)]), spacing: z.enum(['uniform', 'densepure']).default('uniform') }).strict(),
    certify: z.object({ N0: z.number().int().min(1), N: z.number().int().min(1), alpha: z.number().gt(0).lt(1) }).strict(),
    radii: z.array(z.number().min(0)).min(1),
    seed: z.number().int().min(0).default(0),
    batch: z.number().int().min(1).default(1000),
  })
  .strict();

export type ExperimentSpec = z.infer<typeof experimentSchema>;

export interface Experiment extends Omit<ExperimentSpec, 'mixture' | 'schedule'> {
  readonly mixture: GaussianMixture;
  readonly schedule: ScheduleSpec;
}

export type ExperimentError = { readonly kind: 'invalid-experiment'; readonly message: string };

/** Parses a 2-D study experiment (YAML); errors name each bad key. */
export function parseExperiment(text: string, source: string): E.Either<ExperimentError, Experiment> {
  let json: unknown;
  try {
    json = parse(text);
  } catch (cause) {
    return E.left({ kind: 'invalid-experiment', message: `${source} is not valid YAML: ${cause instanceof Error ? cause.message : String(cause)}` });
  }
  const parsed = experimentSchema.safeParse(json);
  if (!parsed.success) {
    return E.left({ kind: 'invalid-experiment', message: `${source}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` });
  }
  const spec = parsed.data;
  let mixture: GaussianMixture;
  if (spec.mixture === 'theory') mixture = theoryMixture;
  else if (spec.mixture === 'check') mixture = checkMixture;
  else {
    const m = makeMixture(spec.mixture);
    if (E.isLeft(m)) return E.left({ kind: 'invalid-experiment', message: `${source}: mixture: ${m.left.message}` });
    mixture = m.right;
  }
  if (mixture.dim !== 2) return E.left({ kind: 'invalid-experiment', message: `${source}: the study draws a plane: the mixture must have 2 dimensions, it has ${mixture.dim}` });
  return E.right({ ...spec, mixture, schedule: spec.schedule });
}
