// The method table: every method kind, one entry each (one file per kind beside this one). Adding a method is a
// new entry file, its test, and one line in METHOD_ENTRIES; `Method` follows from that list. Everything that
// names, checks, plans or sorts methods asks the functions here, never a method's kind.
import { either as E } from 'fp-ts';
import type { z } from 'zod';
import { DDS } from './dds.js';
import { DENSEPURE } from './densepure.js';
import { DENSEPURE_SOFT } from './densepure-soft.js';
import { DIFFSMOOTH } from './diffsmooth.js';
import type { MethodEntry, MethodIdentity, MethodOf, MethodReads } from './entry.js';
import { SMOOTHING } from './smoothing.js';

/** The registered entries, in report order. */
export const METHOD_ENTRIES = [SMOOTHING, DDS, DENSEPURE, DENSEPURE_SOFT, DIFFSMOOTH] as const;

/**
 * A method as data, one variant per registered kind:
 * - `smoothing`: classify x + sigma * noise (Cohen et al. 2019);
 * - `dds`: one-shot denoise from x_t* then classify (Carlini et al. 2023, diffusion denoised smoothing);
 * - `densepure`: K reverse-diffusion runs from x_t* (full chain or b respaced steps), classify each, majority vote
 *   (Xiao et al. 2023);
 * - `densepure-soft`: DensePure's K runs, the class of largest mean probability;
 * - `diffsmooth`: purify (one-shot x0 or a reverse chain), classify m copies with extra noise sigma_l, majority
 *   vote (Zhang et al. 2023).
 */
export type Method = MethodOf<(typeof METHOD_ENTRIES)[number]>;
export type MethodKind = Method['kind'];

export interface DuplicateMethod {
  readonly kind: 'duplicate-method';
  readonly method: string;
  readonly message: string;
}

/** The entries by kind, in the order given; a kind listed twice is refused. */
export function makeMethodTable(entries: readonly MethodEntry[]): E.Either<DuplicateMethod, ReadonlyMap<string, MethodEntry>> {
  const table = new Map<string, MethodEntry>();
  for (const entry of entries) {
    if (table.has(entry.kind)) return E.left({ kind: 'duplicate-method', method: entry.kind, message: `method '${entry.kind}' is registered twice; keep one entry` });
    table.set(entry.kind, entry);
  }
  return E.right(table);
}

export const METHOD_TABLE: ReadonlyMap<string, MethodEntry> = E.getOrElseW((e: DuplicateMethod): never => {
  // A programming error in this package: nothing can name or plan methods with a table it cannot trust.
  throw new Error(e.message);
})(makeMethodTable(METHOD_ENTRIES as readonly MethodEntry[]));

/** The registered kinds, in table order: smoothing, dds, densepure. */
export const METHOD_KINDS = [...METHOD_TABLE.keys()] as readonly MethodKind[];

export const isMethodKind = (kind: string): kind is MethodKind => METHOD_TABLE.has(kind);

/** The entry of a registered kind. */
export function methodEntry<K extends MethodKind>(kind: K): MethodEntry<Extract<Method, { kind: K }>> {
  const entry = METHOD_TABLE.get(kind);
  // A Method's kind is registered by construction of the type; anything else is a caller's bug.
  if (entry === undefined) throw new Error(`no method entry for kind '${kind}'`);
  return entry as unknown as MethodEntry<Extract<Method, { kind: K }>>;
}

const entryOf = (m: Method): MethodEntry<Method> => methodEntry(m.kind) as MethodEntry<Method>;

/** 'a, b or c'. */
const orList = (xs: readonly string[]): string => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)!}`);

/** `smoothing`, `dds`, `densepure-K5-b5`, `densepure-K1-full`, `densepure-K10-b2-dp` (`-dp`: DensePure's own spacing). */
export const methodSlug = (m: Method): string => entryOf(m).slug(m);

export type MethodSlugError = { readonly kind: 'unknown-method-slug'; readonly slug: string; readonly message: string };

/** The method a slug names; the inverse of {@link methodSlug}. */
export function parseMethodSlug(slug: string): E.Either<MethodSlugError, Method> {
  for (const entry of METHOD_TABLE.values()) {
    const m = entry.parseSlug(slug);
    if (m !== null) return E.right(m as Method);
  }
  const expected = orList([...METHOD_TABLE.values()].map((e) => e.slugPattern));
  return E.left({ kind: 'unknown-method-slug', slug, message: `'${slug}' names no method: expected ${expected}` });
}

/** One sentence with the paper it follows, for sidecars and run summaries. */
export const describeMethod = (m: Method): string => entryOf(m).describe(m);

/** Short name for tables and plot legends. */
export const methodLabel = (m: Method): string => entryOf(m).label(m);

/** Sort key for reports: kinds in table order, then the kind's own order (DensePure by K, steps, spacing). */
export const methodOrder = (m: Method): (number | string)[] => [METHOD_KINDS.indexOf(m.kind), ...entryOf(m).order(m)];

/** Reverse runs (votes) per noise draw: K for DensePure, 1 otherwise. */
export const votesOf = (m: Method): number => entryOf(m).votes(m);

/** Whether the method needs a diffusion model. */
export const needsDenoiser = (m: Method): boolean => entryOf(m).needsDenoiser;

/** The run-identity fields of a method beside its slug (`K`, `steps`). */
export const methodIdentity = (m: Method): MethodIdentity => entryOf(m).identity(m);

/** Which shared evaluation the method reads, and how it aggregates its votes. */
export const methodReads = (m: Method): MethodReads => entryOf(m).plan(m);

/** Why a method's settings name no method; `message` names the setting as users write it. */
export type MethodSettingsError =
  | { readonly kind: 'unknown-method'; readonly method: string; readonly known: readonly MethodKind[]; readonly message: string }
  | {
      readonly kind: 'invalid-method-setting';
      readonly method: MethodKind;
      readonly setting: string;
      /** What the value must be (`must be ...`), for front ends that name the setting their own way; absent for a setting the kind does not take. */
      readonly requirement?: string;
      readonly message: string;
    };

const describeValue = (v: unknown): string => {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text;
};

/**
 * The method of `kind` with `raw` settings (names as users know them: `K`, `steps`, `spacing`; absent ones take
 * their defaults). The first problem comes back naming the setting.
 */
export function parseMethodSettings(kind: string, raw: Readonly<Record<string, unknown>> = {}): E.Either<MethodSettingsError, Method> {
  if (!isMethodKind(kind)) {
    return E.left({ kind: 'unknown-method', method: kind, known: METHOD_KINDS, message: `'${kind}' is not a method: use ${orList(METHOD_KINDS)}` });
  }
  const entry = methodEntry(kind) as MethodEntry<Method>;
  const parsed = entry.settings.safeParse(raw);
  if (parsed.success) return E.right(entry.fromSettings(parsed.data));
  const issue = parsed.error.issues[0]!;
  const takes = Object.keys(entry.settings.shape);
  if (issue.code === 'unrecognized_keys') {
    const setting = issue.keys[0]!;
    const message = `${kind} takes no setting '${setting}'${takes.length === 0 ? '' : `; its settings: ${takes.join(', ')}`}`;
    return E.left({ kind: 'invalid-method-setting', method: kind, setting, message });
  }
  const setting = issue.path.map(String).join('.');
  return E.left({ kind: 'invalid-method-setting', method: kind, setting, requirement: issue.message, message: `${kind}: ${setting} ${issue.message}, got ${describeValue(raw[setting])}` });
}

/** One setting across the table, for front ends that spell settings their own way (e.g. one CLI flag each). */
export interface MethodSetting {
  /** As users know it: `K`, `steps`, `spacing`. */
  readonly name: string;
  readonly description: string;
  readonly default: unknown;
  /** The values it allows, when it is a choice among names. */
  readonly choices?: readonly string[];
  /** The kinds that take it, in table order. */
  readonly kinds: readonly MethodKind[];
  /** Checks one value (its first taker's rule); Left: why not, as `must be ...`. */
  parse(value: unknown): E.Either<string, unknown>;
}

const choicesOf = (schema: z.ZodType): readonly string[] | undefined => {
  let inner: unknown = schema;
  while (inner !== null && typeof inner === 'object' && 'unwrap' in inner && typeof inner.unwrap === 'function' && !('options' in inner)) inner = inner.unwrap();
  const options = inner !== null && typeof inner === 'object' && 'options' in inner ? inner.options : undefined;
  return Array.isArray(options) && options.every((o) => typeof o === 'string') ? options : undefined;
};

/** Every setting of every kind, by name in table order; a name shared by kinds appears once. */
export const METHOD_SETTINGS: readonly MethodSetting[] = (() => {
  const settings = new Map<string, MethodSetting>();
  for (const entry of METHOD_TABLE.values()) {
    for (const [name, schema] of Object.entries(entry.settings.shape) as [string, z.ZodType][]) {
      const known = settings.get(name);
      if (known !== undefined) {
        settings.set(name, { ...known, kinds: [...known.kinds, entry.kind as MethodKind] });
        continue;
      }
      const choices = choicesOf(schema);
      settings.set(name, {
        name,
        description: schema.description ?? name,
        default: schema.safeParse(undefined).data,
        ...(choices === undefined ? {} : { choices }),
        kinds: [entry.kind as MethodKind],
        parse: (value) => {
          const r = schema.safeParse(value);
          return r.success ? E.right(r.data) : E.left(r.error.issues[0]!.message);
        },
      });
    }
  }
  return [...settings.values()];
})();
