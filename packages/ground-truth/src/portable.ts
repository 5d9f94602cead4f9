// The closed-form side without node (no ONNX writing, no files): mixtures, their posterior p(x0 | x_t) and the
// examples, for a browser page that draws the theory live.
export * from './mixture.js';
export * from './posterior.js';
export * from './examples.js';
