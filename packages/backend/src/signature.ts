// The manifest-versus-graph check, written once: every backend reports its graph's declared inputs and outputs
// as GraphValues and calls checkSignature at load time, so all of them accept and refuse the same models.
import { either as E } from 'fp-ts';
import { type BackendError, modelContract } from './errors.js';
import type { TensorSpec } from './manifest.js';

/** One input or output as a runtime declares it; unknown parts are left out. */
export interface GraphValue {
  readonly name: string;
  readonly dtype?: string;
  /** A dim that is not a positive integer (a symbolic name, null, -1, 0) is dynamic. */
  readonly shape?: readonly (number | string | null | undefined)[] | null;
}

export interface SignatureOptions {
  /** The runtime holds int64 tensors as int32 (tfjs): an int32 graph value satisfies an int64 manifest entry. */
  readonly int64AsInt32?: boolean;
}

const fixed = (d: number | string | null | undefined): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0;
const dimText = (d: number | string | null | undefined): string => (d === null || d === undefined ? '?' : String(d));
const shapeText = (shape: readonly (number | string | null | undefined)[]): string => `[${shape.map(dimText).join(',')}]`;

/**
 * Checks a graph's declared values against the manifest's entries for one role ('input' or 'output'): each
 * must exist by name, with the manifest's dtype, the same rank, and every fixed graph dim equal to the
 * manifest's. The manifest's batch dim 'B' needs a dynamic graph dim (a fixed batch could not take batches).
 */
export function checkSignature(
  path: string,
  role: 'input' | 'output',
  expected: readonly TensorSpec[],
  actual: readonly GraphValue[],
  options: SignatureOptions = {},
): E.Either<BackendError, void> {
  for (const spec of expected) {
    const found = actual.find((v) => v.name === spec.name);
    if (found === undefined) {
      return E.left(modelContract(path, `${role} '${spec.name}' is missing; the graph has ${role}s ${actual.map((v) => `'${v.name}'`).join(', ') || 'none'}`));
    }
    const dtype = found.dtype;
    const dtypeOk = dtype === undefined || dtype === spec.dtype || (options.int64AsInt32 === true && spec.dtype === 'int64' && dtype === 'int32');
    if (!dtypeOk) return E.left(modelContract(path, `${role} '${spec.name}' has dtype ${dtype}, the manifest says ${spec.dtype}`));
    const shape = found.shape;
    if (shape === undefined || shape === null) continue;
    const mismatch = (): BackendError =>
      modelContract(path, `${role} '${spec.name}' has shape ${shapeText(shape)}, the manifest says ${shapeText(spec.shape)}`);
    if (shape.length !== spec.shape.length) return E.left(mismatch());
    for (let i = 0; i < shape.length; i++) {
      const g = shape[i];
      const d = spec.shape[i];
      if (!fixed(g)) continue;
      if (d === 'B') {
        return E.left(
          modelContract(path, `${role} '${spec.name}' has shape ${shapeText(shape)}: the graph fixes the batch size to ${g}, but the manifest's 'B' needs a dynamic batch dim (export the model with a dynamic batch axis)`),
        );
      }
      if (g !== d) return E.left(mismatch());
    }
  }
  return E.right(undefined);
}
