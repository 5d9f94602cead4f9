/**
 * @densepure/ground-truth: diffusion models whose score is known exactly (data = a Gaussian mixture), written as
 * ONNX graphs with manifests so every backend runs them through the normal loader; the closed-form posterior
 * p(x0 | x_t); statistics that judge sampled reverse chains against it; the reverse chain driver the checks use.
 */
export * from './mixture.js';
export * from './mixture-file.js';
export * from './gaussian.js';
export * from './posterior.js';
export * from './onnx-models.js';
export * from './chain.js';
export * from './exact-vote.js';
export * from './stats.js';
export * from './examples.js';
export * from './chain-error.js';
