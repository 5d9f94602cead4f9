// The certify modes, one entry each: a new mode is one file and one line here (and its settings in CertifyMode).
import type { z } from 'zod';
import { type CascadeMode, cascadeEntry } from './cascade.js';
import { fixedEntry } from './fixed.js';
import { type SequentialMode, sequentialEntry } from './sequential.js';
import type { Mode, ModeEntry } from './types.js';

export type { Mode, ModeEntry } from './types.js';
export { type CascadeMode, DEFAULT_P0, cascadeIdentity } from './cascade.js';
export { DEFAULT_GROUP, type SequentialEvent, type SequentialMode, type SequentialImageSettings, type SequentialOutcome, certifyImageSequential, coalescedGroup, sequentialIdentity } from './sequential.js';

/** How CERTIFY spends its estimation draws: fixed N (Cohen et al.; the default), sequential, or a cascade over sigmas. */
export type CertifyMode = { readonly kind: 'fixed' } | SequentialMode | CascadeMode;

const MODES: { readonly [K in CertifyMode['kind']]: ModeEntry<Extract<CertifyMode, { kind: K }>> } = {
  fixed: fixedEntry,
  sequential: sequentialEntry,
  cascade: cascadeEntry,
};

/** The strategy of a run's mode (default: fixed N). */
export const modeOf = (mode: CertifyMode = { kind: 'fixed' }): Mode => (MODES[mode.kind] as ModeEntry<CertifyMode>).bind(mode);

/** Every identity field a mode may add, for the run identity's schema. */
export const MODE_IDENTITY_FIELDS: z.ZodRawShape = Object.assign({}, ...Object.values(MODES).map((m) => m.identityFields));
