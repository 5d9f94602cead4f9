// The Open Inference Protocol (KServe V2) as densepure speaks it: plain types, shared by the server and the fetch
// client (which must not pull in the server's dependencies).

/** A request or response parameter: the protocol allows strings, numbers and booleans. */
export type ParameterValue = string | number | boolean;
export type Parameters = Readonly<Record<string, ParameterValue>>;

/** One input tensor, its data flattened in row-major order. */
export interface InferInput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly number[];
  readonly parameters?: Parameters;
}

export interface InferRequest {
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly inputs: readonly InferInput[];
  /** Outputs wanted by name (default: all of them). */
  readonly outputs?: readonly { readonly name: string; readonly parameters?: Parameters }[];
}

export interface InferOutput {
  readonly name: string;
  readonly shape: readonly number[];
  readonly datatype: string;
  readonly data: readonly number[];
}

export interface InferResponse {
  readonly model_name: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters: CertificateParameters;
  readonly outputs: readonly InferOutput[];
}

/** Every error answer of the server: `{ error }`, saying what is wrong and what to do. */
export interface ErrorResponse {
  readonly error: string;
}

/** The settings a request may give as `parameters` (all optional; the server's defaults and caps apply). */
export interface CertifyParameters {
  /** A kind of the method table: smoothing, dds, densepure, densepure-soft, diffsmooth. */
  readonly method?: string;
  /** Noise level in [0, 1] pixel units. */
  readonly sigma?: number;
  /** Radii to certify, increasing, comma-separated ("0.25,0.5,1"); sequential certification. */
  readonly radii?: string;
  /** Certify up to this radius (0.25, 0.5, ... below it, then it); sequential certification. */
  readonly max_radius?: number;
  /** 'sequential' (default with radii), 'fixed' (N draws, Clopper-Pearson) or 'predict' (default without radii). */
  readonly mode?: 'sequential' | 'fixed' | 'predict';
  readonly alpha?: number;
  /** Selection draws (certify modes). */
  readonly n0?: number;
  /** Estimation draws (fixed), their cap (sequential) or PREDICT's draws. */
  readonly n?: number;
  /** Seed of the counter-based noise; absent: a fresh one, reported back. */
  readonly seed?: number;
  /** The image index in the noise address (a dataset index gives the noise `densepure certify` used for it). */
  readonly index?: number;
  /** Milliseconds after arrival the answer must come by. */
  readonly deadline_ms?: number;
  /** A method setting of the table, by its own name (K, steps, spacing, purification, m, sigmaL, localVote). */
  readonly [setting: string]: ParameterValue | undefined;
}

/** What a certificate says, as the response's `parameters`. */
export interface CertificateParameters {
  readonly method: string;
  readonly mode: 'sequential' | 'fixed' | 'predict';
  /** The predicted class, -1 when abstaining. */
  readonly label: number;
  readonly abstain: boolean;
  /** Certified L2 radius (0 when abstaining; absent for PREDICT). */
  readonly radius?: number;
  readonly sigma: number;
  readonly alpha: number;
  readonly seed: number;
  readonly index: number;
  readonly n0: number;
  readonly n: number;
  /** Sequential: the radii asked, comma-separated. */
  readonly radii?: string;
  readonly draws_selection: number;
  readonly draws_estimation: number;
  readonly evaluations_denoiser: number;
  readonly evaluations_classifier: number;
  /** Sequential: why it stopped, and the anytime-valid lower bound on pA there. */
  readonly stop?: string;
  readonly p_a_lower?: number;
  /** PREDICT: the two-sided binomial test's p-value. */
  readonly p_value?: number;
  readonly seconds: number;
}

/** The outputs every infer response carries, in this order. */
export const OUTPUT_NAMES = ['label', 'radius', 'draws', 'evaluations'] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];
