// Test helpers for backend packages: tiny ONNX models built in code. The conformance suite (which needs
// vitest) is the separate entry point '@densepure/backend/conformance'.
export * from './onnx-builder.js';
export * from './tiny-models.js';
export * from './values.js';
export * from './zoo.js';
