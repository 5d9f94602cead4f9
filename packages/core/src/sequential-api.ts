// The public surface of sequential CERTIFY (anytime-valid confidence sequence + early stopping), re-exported by index.ts.
export {
  betaMixtureBounds,
  lnMarginalLikelihood,
  lnGamma,
  lnBeta,
  DEFAULT_MIXTURE_PRIOR,
  type BetaComponent,
  type BetaMixturePrior,
  type ConfidenceBounds,
} from './confidence-sequence.js';
export {
  certifySequential,
  sequentialRule,
  sequentialLook,
  nextRoundSize,
  replayLooks,
  type ReplayedStop,
  DEFAULT_MIN_ROUND,
  DEFAULT_ROUND_GROWTH,
  type SequentialRule,
  type SequentialLook,
  type SequentialCertifyOptions,
  type SequentialCertifyResult,
  type SequentialStopReason,
  type SequentialDraws,
} from './sequential.js';
export {
  validateSequentialOptions,
  drawsToCertify,
  type SequentialOptionsError,
} from './sequential-options.js';
export {
  DEFAULT_SELECTION,
  firstSelectionLook,
  selectionLooks,
  selectionPick,
  type SelectionRule,
} from './selection.js';
